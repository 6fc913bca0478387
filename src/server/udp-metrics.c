#include "server/udp-metrics.h"

static const char *const drop_names[DX_UDP_DROP_COUNT] = {
  "too_large",     "malformed",        "bad_hello",     "unknown_token",
  "no_session",    "bad_cookie",       "sessions_full", "shutting_down",
  "amplification", "object_too_large", "send_failed",
};

const char *
dx_udp_drop_name (dx_udp_drop reason)
{
  return (unsigned) reason < DX_UDP_DROP_COUNT ? drop_names[reason] : "unknown";
}

void
dx_udp_metrics_render (const dx_udp_metrics *m, uint64_t sessions, dx_buffer *out)
{
  dx_buffer_printf (out,
                    "# HELP duplex_udp_sessions UDP sessions live now.\n"
                    "# TYPE duplex_udp_sessions gauge\n"
                    "duplex_udp_sessions %llu\n",
                    (unsigned long long) sessions);
  dx_buffer_printf (out,
                    "# HELP duplex_udp_datagrams_in_total UDP datagrams received.\n"
                    "# TYPE duplex_udp_datagrams_in_total counter\n"
                    "duplex_udp_datagrams_in_total %llu\n"
                    "# HELP duplex_udp_datagrams_out_total UDP datagrams sent.\n"
                    "# TYPE duplex_udp_datagrams_out_total counter\n"
                    "duplex_udp_datagrams_out_total %llu\n",
                    (unsigned long long) m->datagrams_in, (unsigned long long) m->datagrams_out);
  dx_buffer_printf (out, "# HELP duplex_udp_dropped_total UDP datagrams dropped, by reason.\n"
                         "# TYPE duplex_udp_dropped_total counter\n");
  for (int i = 0; i < DX_UDP_DROP_COUNT; i++)
    dx_buffer_printf (out, "duplex_udp_dropped_total{reason=\"%s\"} %llu\n",
                      dx_udp_drop_name ((dx_udp_drop) i), (unsigned long long) m->dropped[i]);
  dx_buffer_printf (out,
                    "# HELP duplex_udp_sessions_expired_total UDP sessions forgotten after "
                    "30 s without a datagram.\n"
                    "# TYPE duplex_udp_sessions_expired_total counter\n"
                    "duplex_udp_sessions_expired_total %llu\n",
                    (unsigned long long) m->sessions_expired);
}
