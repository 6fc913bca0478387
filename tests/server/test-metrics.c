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

  /* Who closed first, and the listeners' TCP states from a sample. */
  m.closed_first[DX_CLOSED_BY_SERVER][DX_TR_HTTP] = 5;
  m.closed_first[DX_CLOSED_BY_PEER][DX_TR_TCP] = 2;
  dx_buffer_init (&b, 0);
  dx_metrics_render (&m, NULL, &b);
  OK (strstr (b.data, "duplex_connections_closed_total{transport=\"http\",first=\"server\"} 5\n")
          != NULL,
      "closed by the server first");
  OK (strstr (b.data, "duplex_connections_closed_total{transport=\"tcp\",first=\"peer\"} 2\n")
          != NULL,
      "closed by the peer first");
  dx_buffer_free (&b);

  dx_tcp_watch_sample s;
  memset (&s, 0, sizeof s);
  s.nports = 2;
  s.names[0] = "http";
  s.names[1] = "tcp";
  dx_buffer_init (&b, 0);
  dx_metrics_render_tcp_states (&s, 1000, &b);
  OK (b.len == 0, "no TCP states before the first sample");
  s.samples = 3;
  s.taken_ms = 750;
  s.counts[0].n[DX_TCP_TIME_WAIT] = 40;
  s.counts[1].n[DX_TCP_ESTABLISHED] = 1;
  dx_metrics_render_tcp_states (&s, 1000, &b);
  t = b.data;
  OK (strstr (t, "duplex_tcp_sockets{listener=\"http\",state=\"time_wait\"} 40\n") != NULL,
      "TIME_WAIT on the HTTP listener");
  OK (strstr (t, "duplex_tcp_sockets{listener=\"tcp\",state=\"established\"} 1\n") != NULL,
      "ESTABLISHED on the TCP listener");
  OK (strstr (t, "duplex_tcp_sockets{listener=\"tcp\",state=\"time_wait\"} 0\n") != NULL,
      "zeros shown");
  OK (strstr (t, "state=\"listen\"") == NULL, "the listening socket itself is not counted");
  OK (strstr (t, "duplex_tcp_sockets_age_seconds 0.250\n") != NULL, "age of the sample");
  OK (strstr (t, "duplex_tcp_sockets_samples_total 3\n") != NULL, "samples counter");
  IS (dx_tcp_watch_total (&s, DX_TCP_TIME_WAIT), 40, "total over the listeners");
  dx_buffer_reset (&b);
  s.status = DX_ENOTSUP;
  dx_metrics_render_tcp_states (&s, 1000, &b);
  OK (b.len > 0 && b.data[0] == '#' && strstr (b.data, "not supported") != NULL
          && strstr (b.data, "\nduplex_") == NULL,
      "unsupported: a comment, no numbers");
  IS (dx_tcp_watch_total (&s, DX_TCP_TIME_WAIT), 0, "no total when unsupported");
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
