/* /metrics exposition and the shared encodings of a message. */
#include "server/shared-event.h"
#include "server/metrics.h"

#include "../tap.h"

#include <stdio.h>
#include <string.h>

int
main (void)
{
  dx_metrics m;
  dx_metrics_init (&m);
  m.conn_open[DX_TR_TCP] = 3;
  m.msgs_in[DX_TR_WEBSOCKET] = 7;
  dx_metrics_http_request (&m, DX_ROUTE_HEALTHZ, 200);
  dx_metrics_http_request (&m, DX_ROUTE_HEALTHZ, 200);
  dx_metrics_http_request (&m, DX_ROUTE_OTHER, 404);
  dx_store_stats st;
  memset (&st, 0, sizeof st);
  st.latency_count = 2;
  st.latency_sum_us = 1500;
  for (int i = 0; i < DX_STORE_LATENCY_BUCKETS; i++)
    st.latency_le[i] = i >= 3 ? 2 : 0;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_metrics_render (&m, &st, &b);
  const char *t = b.data;
  OK (strstr (t, "duplex_connections_open{transport=\"tcp\"} 3\n") != NULL, "open gauge");
  OK (strstr (t, "duplex_messages_in_total{transport=\"websocket\"} 7\n") != NULL, "messages in");
  OK (strstr (t, "duplex_http_requests_total{route=\"healthz\",status=\"200\"} 2\n") != NULL,
      "requests by route and status");
  OK (strstr (t, "duplex_http_requests_total{route=\"other\",status=\"404\"} 1\n") != NULL,
      "404 counted");
  OK (strstr (t, "duplex_store_write_seconds_bucket{le=\"+Inf\"} 2\n") != NULL,
      "latency histogram +Inf");
  OK (strstr (t, "duplex_store_write_seconds_bucket{le=\"0.001\"} 2\n") != NULL,
      "latency bucket 1 ms");
  OK (strstr (t, "# TYPE duplex_store_write_seconds histogram\n") != NULL, "TYPE line");
  OK (strstr (t, "duplex_longpolls_waiting 0\n") != NULL, "long polls gauge");
  dx_buffer_free (&b);

  dx_stored_msg msg = { "lobby", 42, 1763900000123ULL, "alice", "hi", 2, "c-17" };
  dx_shared_event *e = dx_shared_event_message (&msg);
  OK (e != NULL && e->id == 42, "message encoded");
  const char *json = "{\"type\":\"message\",\"room\":\"lobby\",\"id\":42,\"from\":\"alice\","
                     "\"text\":\"hi\",\"ts\":1763900000123,\"cid\":\"c-17\"}";
  size_t jl = strlen (json);
  OK (e->json->len == jl && memcmp (e->json->data, json, jl) == 0, "JSON object");
  dx_shared_buf *line = dx_shared_event_line (e);
  OK (line->len == jl + 1 && line->data[jl] == '\n', "NDJSON line");
  OK (dx_shared_event_line (e) == line, "each format encoded once");
  dx_shared_buf *ws = dx_shared_event_ws (e);
  OK (ws->len == jl + 2 && (unsigned char) ws->data[0] == 0x81 && (unsigned char) ws->data[1] == jl,
      "WebSocket text frame, unmasked");
  dx_shared_buf *sse = dx_shared_event_sse (e, true);
  char want[512];
  snprintf (want, sizeof want, "id: 42\nevent: message\ndata: %s\n\n", json);
  char chunk[600];
  int n = snprintf (chunk, sizeof chunk, "%zx\r\n%s\r\n", strlen (want), want);
  OK (sse->len == (size_t) n && memcmp (sse->data, chunk, (size_t) n) == 0,
      "SSE event framed as one chunk");
  dx_shared_buf *raw = dx_shared_event_sse (e, false);
  OK (raw->len == strlen (want), "SSE event unchunked for HTTP/1.0");
  dx_shared_buf_ref (line);
  dx_shared_event_unref (e);
  OK (line->refs == 1 && line->data[0] == '{', "a shared buffer outlives its message");
  dx_shared_buf_unref (line);
  return tap_done ();
}
