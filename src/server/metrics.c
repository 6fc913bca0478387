#include "server/metrics.h"

#include <stddef.h>
#include <string.h>

void
dx_metrics_init (dx_metrics *m)
{
  memset (m, 0, sizeof *m);
}

void
dx_metrics_http_request (dx_metrics *m, dx_route route, int status)
{
  if ((unsigned) route >= DX_ROUTE_COUNT)
    route = DX_ROUTE_OTHER;
  for (size_t i = 0; i < m->http_slots; i++)
    if (m->http[i].status == status) {
      m->http[i].count[route]++;
      return;
    }
  if (m->http_slots == DX_METRICS_STATUS_SLOTS)
    return; /* the server answers far fewer distinct statuses than this */
  m->http[m->http_slots].status = (uint16_t) status;
  m->http[m->http_slots].count[route] = 1;
  m->http_slots++;
}

static void
per_transport (dx_buffer *out, const char *name, const char *type, const char *help,
               const uint64_t *v)
{
  dx_buffer_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
  for (int t = 0; t < DX_TR_COUNT; t++)
    dx_buffer_printf (out, "%s{transport=\"%s\"} %llu\n", name,
                      dx_transport_name ((dx_transport) t), (unsigned long long) v[t]);
}

void
dx_metrics_render (const dx_metrics *m, const dx_store_stats *store, dx_buffer *out)
{
  per_transport (out, "duplex_connections_open", "gauge",
                 "Connections (and SSE streams, waiting long polls) open now.", m->conn_open);
  per_transport (out, "duplex_connections_accepted_total", "counter",
                 "Connections accepted (or turned into this transport).", m->conn_accepted);
  per_transport (out, "duplex_messages_in_total", "counter", "Chat messages received from clients.",
                 m->msgs_in);
  per_transport (out, "duplex_messages_out_total", "counter", "Chat messages delivered to clients.",
                 m->msgs_out);
  per_transport (out, "duplex_bytes_in_total", "counter", "Bytes read from clients.", m->bytes_in);
  per_transport (out, "duplex_bytes_out_total", "counter", "Bytes queued for clients.",
                 m->bytes_out);

  dx_buffer_printf (out, "# HELP duplex_http_requests_total HTTP requests answered.\n"
                         "# TYPE duplex_http_requests_total counter\n");
  for (size_t i = 0; i < m->http_slots; i++)
    for (int r = 0; r < DX_ROUTE_COUNT; r++)
      if (m->http[i].count[r])
        dx_buffer_printf (out,
                          "duplex_http_requests_total{route=\"%s\",status=\"%u\"}"
                          " %llu\n",
                          dx_route_name ((dx_route) r), (unsigned) m->http[i].status,
                          (unsigned long long) m->http[i].count[r]);

  dx_buffer_printf (out,
                    "# HELP duplex_longpolls_waiting Long polls held now.\n"
                    "# TYPE duplex_longpolls_waiting gauge\n"
                    "duplex_longpolls_waiting %llu\n",
                    (unsigned long long) m->longpolls_waiting);
  dx_buffer_printf (out,
                    "# HELP duplex_slow_consumer_disconnects_total Subscribers "
                    "dropped for exceeding the output bound.\n"
                    "# TYPE duplex_slow_consumer_disconnects_total counter\n"
                    "duplex_slow_consumer_disconnects_total %llu\n",
                    (unsigned long long) m->slow_disconnects);
  dx_udp_metrics_render (&m->udp, m->conn_open[DX_TR_UDP], out);

  dx_buffer_printf (out, "# HELP duplex_connections_closed_total Connections closed, by the side "
                         "that closed first (its kernel keeps the TIME_WAIT).\n"
                         "# TYPE duplex_connections_closed_total counter\n");
  static const char *const sides[DX_CLOSED_BY_COUNT] = { "server", "peer" };
  for (int s = 0; s < DX_CLOSED_BY_COUNT; s++)
    for (int t = 0; t < DX_TR_COUNT; t++)
      dx_buffer_printf (out,
                        "duplex_connections_closed_total{transport=\"%s\",first=\"%s\"} %llu\n",
                        dx_transport_name ((dx_transport) t), sides[s],
                        (unsigned long long) m->closed_first[s][t]);

  if (store == NULL)
    return;
  dx_buffer_printf (out, "# HELP duplex_store_write_seconds Time from append "
                         "to commit in the history store.\n"
                         "# TYPE duplex_store_write_seconds histogram\n");
  for (int i = 0; i < DX_STORE_LATENCY_BUCKETS; i++)
    dx_buffer_printf (out, "duplex_store_write_seconds_bucket{le=\"%g\"} %llu\n",
                      (double) dx_store_latency_bounds_us[i] / 1e6,
                      (unsigned long long) store->latency_le[i]);
  dx_buffer_printf (out,
                    "duplex_store_write_seconds_bucket{le=\"+Inf\"} %llu\n"
                    "duplex_store_write_seconds_sum %.6f\n"
                    "duplex_store_write_seconds_count %llu\n",
                    (unsigned long long) store->latency_count, (double) store->latency_sum_us / 1e6,
                    (unsigned long long) store->latency_count);
  dx_buffer_printf (out,
                    "# HELP duplex_store_pending Appends not yet committed.\n"
                    "# TYPE duplex_store_pending gauge\n"
                    "duplex_store_pending %llu\n",
                    (unsigned long long) store->pending);
}

void
dx_metrics_render_tcp_states (const dx_tcp_watch_sample *s, uint64_t now_ms, dx_buffer *out)
{
  if (s->samples == 0)
    return;
  if (s->status < 0) {
    dx_buffer_printf (out, "# duplex_tcp_sockets: cannot count on this system: %s\n",
                      dx_strerror (s->status));
    return;
  }
  dx_buffer_printf (out,
                    "# HELP duplex_tcp_sockets TCP sockets of this host whose local port is the "
                    "listener's, by state, at the last sample (time_wait: connections the server "
                    "closed first).\n"
                    "# TYPE duplex_tcp_sockets gauge\n");
  for (size_t i = 0; i < s->nports; i++)
    for (int st = 0; st < DX_TCP_STATE_COUNT; st++)
      if (DX_TCP_WATCH_STATES & DX_TCP_STATE_BIT (st))
        dx_buffer_printf (out, "duplex_tcp_sockets{listener=\"%s\",state=\"%s\"} %u\n", s->names[i],
                          dx_tcp_state_name ((dx_tcp_state) st), (unsigned) s->counts[i].n[st]);
  uint64_t age = now_ms > s->taken_ms ? now_ms - s->taken_ms : 0;
  dx_buffer_printf (out,
                    "# HELP duplex_tcp_sockets_age_seconds Age of the duplex_tcp_sockets sample.\n"
                    "# TYPE duplex_tcp_sockets_age_seconds gauge\n"
                    "duplex_tcp_sockets_age_seconds %.3f\n"
                    "# HELP duplex_tcp_sockets_samples_total Samples of the TCP table taken.\n"
                    "# TYPE duplex_tcp_sockets_samples_total counter\n"
                    "duplex_tcp_sockets_samples_total %llu\n",
                    (double) age / 1000.0, (unsigned long long) s->samples);
}

static void
counter (dx_buffer *out, const char *name, const char *type, const char *help, uint64_t v)
{
  dx_buffer_printf (out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                    (unsigned long long) v);
}

void
dx_metrics_render_cluster (const dx_cluster_stats *c, dx_buffer *out)
{
  counter (out, "duplex_redis_up", "gauge",
           "1 when the node can publish (Redis connected, epoch known).", c->up ? 1 : 0);
  counter (out, "duplex_redis_subscribed", "gauge",
           "1 when the node's subscriber connection is subscribed.", c->subscribed ? 1 : 0);
  counter (out, "duplex_redis_channels", "gauge",
           "Room channels subscribed (rooms with local members, a waiting read, or in their "
           "grace after the last one).",
           c->channels);
  counter (out, "duplex_redis_subscribe_commands_total", "counter",
           "SUBSCRIBE commands sent (each names up to 500 channels).", c->subscribe_commands);
  counter (out, "duplex_redis_unsubscribe_commands_total", "counter",
           "UNSUBSCRIBE commands sent (each names up to 500 channels).", c->unsubscribe_commands);
  counter (out, "duplex_redis_connects_total", "counter", "Redis connections established.",
           c->connects);
  counter (out, "duplex_redis_failures_total", "counter",
           "Redis connection attempts failed or connections lost.", c->failures);
  counter (out, "duplex_redis_catchup_reads_total", "counter",
           "Catch-up reads of a room's stream (one per room per node at a time).",
           c->catchup_reads);
  counter (out, "duplex_redis_gaps_healed_total", "counter",
           "Catch-up reads that found messages the node had missed.", c->gaps_healed);
  counter (out, "duplex_redis_epoch_changes_total", "counter",
           "Times Redis was found to have lost its data (a new epoch).", c->epoch_changes);
  counter (out, "duplex_redis_publish_failures_total", "counter",
           "Sends not known to be stored (Redis unreachable or not answering).",
           c->publish_failures);
  dx_buffer_printf (out, "# HELP duplex_redis_publish_seconds Time from a send to Redis's "
                         "answer (new messages).\n"
                         "# TYPE duplex_redis_publish_seconds histogram\n");
  for (int i = 0; i < DX_STORE_LATENCY_BUCKETS; i++)
    dx_buffer_printf (out, "duplex_redis_publish_seconds_bucket{le=\"%g\"} %llu\n",
                      (double) dx_store_latency_bounds_us[i] / 1e6,
                      (unsigned long long) c->latency_le[i]);
  dx_buffer_printf (out,
                    "duplex_redis_publish_seconds_bucket{le=\"+Inf\"} %llu\n"
                    "duplex_redis_publish_seconds_sum %.6f\n"
                    "duplex_redis_publish_seconds_count %llu\n",
                    (unsigned long long) c->latency_count, (double) c->latency_sum_us / 1e6,
                    (unsigned long long) c->latency_count);
}

void
dx_metrics_render_tls (const dx_tls_stats *s, dx_buffer *out)
{
  static const struct {
    const char *name, *help;
    size_t off;
  } rows[] = {
    { "duplex_tls_handshakes_total", "TLS handshakes finished.",
      offsetof (dx_tls_stats, handshakes) },
    { "duplex_tls_resumed_total", "TLS handshakes that resumed a session.",
      offsetof (dx_tls_stats, resumed) },
    { "duplex_tls_handshake_failures_total",
      "TLS connections ended by a TLS error (plain bytes to a TLS port included).",
      offsetof (dx_tls_stats, failures) },
    { "duplex_tls_handshake_timeouts_total", "TLS handshakes not finished in 10 s (dropped).",
      offsetof (dx_tls_stats, timeouts) },
    { "duplex_tls_reloads_total", "Certificate reloads that took (SIGHUP; Windows: file change).",
      offsetof (dx_tls_stats, reloads) },
    { "duplex_tls_reload_failures_total", "Certificate reloads that kept the old pair.",
      offsetof (dx_tls_stats, reload_failures) },
  };
  dx_buffer_printf (out, "# HELP duplex_tls_enabled 1: the HTTP and TCP listeners speak TLS.\n"
                         "# TYPE duplex_tls_enabled gauge\nduplex_tls_enabled 1\n");
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    uint64_t v;
    memcpy (&v, (const char *) s + rows[i].off, sizeof v);
    dx_buffer_printf (out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", rows[i].name, rows[i].help,
                      rows[i].name, rows[i].name, (unsigned long long) v);
  }
}
