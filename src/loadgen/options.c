/* duplex-bench command line. */
#include "loadgen/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const transport_names[] = {
  "poll", "longpoll", "sse", "websocket", "tcp", "udp"
};
static const char *const target_names[] = { "duplexd", "nchan", "nodews" };

const char *
bench_transport_name (bench_transport t)
{
  return t < BENCH_N_TRANSPORTS ? transport_names[t] : "?";
}

const char *
bench_target_name (bench_target t)
{
  return t <= BENCH_NODEWS ? target_names[t] : "?";
}

static void
usage (FILE *f)
{
  fprintf (f, "Usage: duplex-bench --url http://HOST:PORT [options]\n"
              "\n"
              "N subscribers on one fresh room, one publisher posting R messages a second\n"
              "for S seconds; then waits for stragglers and reports delivery and latency.\n"
              "\n"
              "  --url URL              the server (http://127.0.0.1:8080); https:// (or\n"
              "                         wss://) speaks TLS on every TCP connection\n"
              "  --ca FILE              verify the TLS server against this CA (default:\n"
              "                         no verification: the bench measures, it trusts)\n"
              "  --transport T          poll|longpoll|sse|websocket|tcp|udp (websocket);\n"
              "                         udp needs duplexd --udp and reports what it lost\n"
              "  --compare              run the workload on the five reliable transports\n"
              "  --subscribers N        subscribers (100)\n"
              "  --rate R               messages per second (100)\n"
              "  --duration S           seconds of publishing (5)\n"
              "  --size BYTES           bytes of message text (64, at least 32)\n"
              "  --poll-interval MS     short-poll interval (250)\n"
              "  --longpoll-wait S      long-poll wait (30)\n"
              "  --drain S              wait at most S seconds for stragglers (10)\n"
              "  --connect-window N     connects in flight at once (256)\n"
              "  --server-pid PID       measure the server's CPU time (Linux /proc)\n"
              "  --idle S               publish nothing: hold the subscribers S seconds, then\n"
              "                         report (prints 'ready N' on stderr once all are in)\n"
              "  --target T             duplexd|nchan|nodews: the server's protocol (duplexd)\n"
              "  --workers N            subscriber processes, their figures merged (default:\n"
              "                         the CPUs it may use, less those --server-pid is\n"
              "                         pinned to); the publisher is one more process\n"
              "  --window N             duplexd: at most N sends unacknowledged; a message\n"
              "                         due while N are is not sent (deferred) (0: no limit)\n"
              "  --work-us US           spend US us of CPU on every delivered message, as a\n"
              "                         client that does something with it would\n"
              "  --json                 print one JSON object (or one per line with --compare)\n"
              "  --help                 this text\n");
}

static bool
parse_double (const char *s, double min, double max, double *out)
{
  char *end;
  double v = strtod (s, &end);
  if (end == s || *end || !(v >= min && v <= max))
    return false;
  *out = v;
  return true;
}

static bool
parse_url (bench_opts *o, const char *url)
{
  const char *p = url;
  o->tls = strncmp (p, "https://", 8) == 0 || strncmp (p, "wss://", 6) == 0;
  if (strncmp (p, "http://", 7) == 0)
    p += 7;
  else if (strncmp (p, "ws://", 5) == 0)
    p += 5;
  else if (strncmp (p, "https://", 8) == 0)
    p += 8;
  else if (strncmp (p, "wss://", 6) == 0)
    p += 6;
  else if (strstr (p, "://"))
    return false;
  size_t n = strcspn (p, "/");
  if (n == 0 || n >= sizeof o->hostport)
    return false;
  memcpy (o->hostport, p, n);
  o->hostport[n] = '\0';
  const char *colon = strrchr (o->hostport, ':');
  if (!colon || strchr (colon, ']'))
    return false;
  size_t hl = (size_t) (colon - o->hostport);
  if (hl == 0 || hl >= sizeof o->host)
    return false;
  memcpy (o->host, o->hostport, hl);
  o->host[hl] = '\0';
  double port;
  if (!parse_double (colon + 1, 1, 65535, &port))
    return false;
  o->port = (int) port;
  return true;
}

static int
pick (const char *const *names, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (names[i], s) == 0)
      return (int) i;
  return -1;
}

int
bench_parse_args (bench_opts *o, int argc, char **argv)
{
  memset (o, 0, sizeof *o);
  parse_url (o, "http://127.0.0.1:8080");
  o->transport = BENCH_WEBSOCKET;
  o->subscribers = 100;
  o->rate = 100;
  o->duration = 5;
  o->size = 64;
  o->poll_interval = 250;
  o->longpoll_wait = 30;
  o->drain = 10;
  o->connect_window = 256;
  o->room_prefix = "bench";

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    double d;
    int k;
    if (strcmp (a, "--help") == 0 || strcmp (a, "-h") == 0) {
      usage (stdout);
      return 0;
    } else if (strcmp (a, "--json") == 0) {
      o->json = true;
      continue;
    } else if (strcmp (a, "--compare") == 0) {
      o->compare = true;
      continue;
    }
    if (!v) {
      fprintf (stderr, "duplex-bench: %s: missing value (see --help)\n", a);
      return 2;
    }
    i++;
    bool ok = true;
    if (strcmp (a, "--url") == 0)
      ok = parse_url (o, v);
    else if (strcmp (a, "--ca") == 0)
      o->ca_file = v;
    else if (strcmp (a, "--transport") == 0)
      ok = (k = pick (transport_names, BENCH_N_TRANSPORTS, v)) >= 0 && ((o->transport = k), true);
    else if (strcmp (a, "--target") == 0)
      ok = (k = pick (target_names, 3, v)) >= 0 && ((o->target = k), true);
    else if (strcmp (a, "--subscribers") == 0)
      ok = parse_double (v, 1, 19000, &d) && ((o->subscribers = (unsigned) d), true);
    else if (strcmp (a, "--rate") == 0)
      ok = parse_double (v, 0.1, 1e6, &o->rate);
    else if (strcmp (a, "--duration") == 0)
      ok = parse_double (v, 0.1, 86400, &o->duration);
    else if (strcmp (a, "--size") == 0)
      ok = parse_double (v, 32, 4096, &d) && ((o->size = (size_t) d), true);
    else if (strcmp (a, "--poll-interval") == 0)
      ok = parse_double (v, 1, 600000, &d) && ((o->poll_interval = (unsigned) d), true);
    else if (strcmp (a, "--longpoll-wait") == 0)
      ok = parse_double (v, 1, 60, &d) && ((o->longpoll_wait = (unsigned) d), true);
    else if (strcmp (a, "--idle") == 0)
      ok = parse_double (v, 0.1, 86400, &o->idle);
    else if (strcmp (a, "--drain") == 0)
      ok = parse_double (v, 0, 600, &o->drain);
    else if (strcmp (a, "--connect-window") == 0)
      ok = parse_double (v, 1, 20000, &d) && ((o->connect_window = (unsigned) d), true);
    else if (strcmp (a, "--workers") == 0)
      ok = parse_double (v, 1, 256, &d) && ((o->workers = (unsigned) d), true);
    else if (strcmp (a, "--window") == 0)
      ok = parse_double (v, 0, 1e9, &d) && ((o->window = (unsigned) d), true);
    else if (strcmp (a, "--work-us") == 0)
      ok = parse_double (v, 0, 1e6, &d) && ((o->work_us = (unsigned) d), true);
    else if (strcmp (a, "--server-pid") == 0)
      ok = parse_double (v, 1, 1e9, &d) && ((o->server_pid = (int) d), true);
    else {
      fprintf (stderr, "duplex-bench: unknown option %s (see --help)\n", a);
      return 2;
    }
    if (!ok) {
      fprintf (stderr, "duplex-bench: %s: invalid value '%s' (see --help)\n", a, v);
      return 2;
    }
  }
  if (o->target != BENCH_DUPLEXD && o->transport == BENCH_UDP && !o->compare) {
    fprintf (stderr, "duplex-bench: --transport udp needs --target duplexd\n");
    return 2;
  }
  if (o->target == BENCH_NODEWS && o->transport != BENCH_WEBSOCKET && !o->compare) {
    fprintf (stderr, "duplex-bench: --target nodews speaks WebSocket only\n");
    return 2;
  }
  if (o->target == BENCH_NCHAN && (o->transport == BENCH_TCP || o->transport == BENCH_POLL)
      && !o->compare) {
    fprintf (stderr, "duplex-bench: --target nchan speaks websocket, sse and longpoll\n");
    return 2;
  }
#ifndef DX_HAVE_TLS
  if (o->tls) {
    fprintf (stderr, "duplex-bench: https:// and wss://: this build has no TLS (no OpenSSL)\n");
    return 2;
  }
#endif
  return -1;
}
