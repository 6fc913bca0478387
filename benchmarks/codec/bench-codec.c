/* bench-codec: throughput of the chat message codec, and of our JSON
 * reader next to cJSON, on realistic "message" objects whose text is 16,
 * 200 and 4000 bytes (mixed ASCII, punctuation, quotes, a newline and some
 * Korean/accented UTF-8, as chat text is).
 *
 * Measured per size (MB/s of JSON bytes produced or consumed):
 *   encode        dx_encode_message into a reused dx_buffer
 *   decode        dx_msg_decode (validates every §2 rule, copies strings)
 *   validate      dx_json_validate (the reader alone, nothing extracted)
 *   cjson-parse   cJSON_ParseWithLength + cJSON_Delete (tree, no checks)
 *   cjson-decode  cJSON parse + the same fields read out + delete
 *                 (the fair match for "decode": same result, fewer checks)
 * Each figure is the best of 7 rounds of >= 0.1 s of CPU time (clock());
 * in each round every contender runs once, in turn, so all of them see
 * the same machine load. Single-threaded; pin it to one core (taskset).
 * Usage: bench-codec [seconds-per-run [rounds]]  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/json.h"
#include "protocol/message.h"

#ifdef DX_BENCH_HAVE_CJSON
#include <cjson/cJSON.h>
#endif

static double run_seconds = 0.1;
static int rounds = 7;
static volatile uint64_t sink; /* keeps results alive */

/* Deterministic chat-like text of exactly n bytes of valid UTF-8. */
static char *
make_text (size_t n)
{
  static const char *const words[] = {
    "hello",       "the",      "deploy",  "is",    "done,",
    "see",         "\"logs\"", "at",      "10:42", "\xec\x95\x88\xeb\x85\x95",
    "caf\xc3\xa9", "ok!",      "why?",    "it",    "works",
    "on",          "my",       "machine", "\n",    "(again)",
  };
  char *s = malloc (n + 1);
  size_t len = 0;
  uint32_t seed = 7;
  while (len < n) {
    seed = seed * 1103515245u + 12345u;
    const char *w = words[(seed >> 16) % (sizeof words / sizeof words[0])];
    size_t wl = strlen (w);
    if (len + wl + 1 > n)
      break;
    memcpy (s + len, w, wl);
    len += wl;
    s[len++] = ' ';
  }
  while (len < n)
    s[len++] = 'x';
  s[n] = '\0';
  return s;
}

typedef bool (*bench_fn) (void *ctx);

/* MB/s of one run: fn repeated until run_seconds of CPU time. */
static double
measure_once (bench_fn fn, void *ctx, size_t bytes_per_call)
{
  uint64_t calls = 0;
  clock_t start = clock (), now;
  do {
    for (int i = 0; i < 64; i++) {
      if (!fn (ctx)) {
        fprintf (stderr, "bench-codec: a benchmarked call failed\n");
        exit (1);
      }
    }
    calls += 64;
    now = clock ();
  } while ((double) (now - start) / CLOCKS_PER_SEC < run_seconds);
  double secs = (double) (now - start) / CLOCKS_PER_SEC;
  return (double) calls * (double) bytes_per_call / secs / 1e6;
}

/* Best of `rounds` for each of n functions, measured round-robin so that
 * every contender sees the same machine load (the ratios are what count). */
static void
measure_all (const bench_fn *fns, size_t n, void *ctx, size_t bytes_per_call, double *best)
{
  for (size_t k = 0; k < n; k++)
    best[k] = 0;
  for (int round = 0; round < rounds; round++)
    for (size_t k = 0; k < n; k++) {
      double mbs = measure_once (fns[k], ctx, bytes_per_call);
      if (mbs > best[k])
        best[k] = mbs;
    }
}

typedef struct {
  dx_chat_message msg;
  dx_buffer out;
  const char *json;
  size_t len;
  dx_msg decoded;
} ctx;

static bool
do_encode (void *p)
{
  ctx *c = p;
  dx_buffer_reset (&c->out);
  bool ok = dx_encode_message (&c->out, &c->msg);
  sink += c->out.len;
  return ok;
}

static bool
do_decode (void *p)
{
  ctx *c = p;
  bool ok = dx_msg_decode (c->json, c->len, DX_MSG_FROM_SERVER, &c->decoded, NULL);
  sink += c->decoded.id;
  return ok;
}

static bool
do_validate (void *p)
{
  ctx *c = p;
  return dx_json_validate (c->json, c->len, NULL, NULL);
}

#ifdef DX_BENCH_HAVE_CJSON
static bool
do_cjson_parse (void *p)
{
  ctx *c = p;
  cJSON *root = cJSON_ParseWithLength (c->json, c->len);
  if (!root)
    return false;
  cJSON_Delete (root);
  return true;
}

/* Copy a string member into buf like dx_msg_decode does. */
static bool
cj_string (const cJSON *o, const char *name, char *buf, size_t cap)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, name);
  if (!cJSON_IsString (v))
    return false;
  size_t n = strlen (v->valuestring);
  if (n >= cap)
    return false;
  memcpy (buf, v->valuestring, n + 1);
  return true;
}

static bool
do_cjson_decode (void *p)
{
  ctx *c = p;
  cJSON *root = cJSON_ParseWithLength (c->json, c->len);
  if (!root)
    return false;
  dx_msg *m = &c->decoded;
  char type[16];
  const cJSON *id = cJSON_GetObjectItemCaseSensitive (root, "id");
  const cJSON *ts = cJSON_GetObjectItemCaseSensitive (root, "ts");
  bool ok = cj_string (root, "type", type, sizeof type) && strcmp (type, "message") == 0
            && cj_string (root, "room", m->room, sizeof m->room)
            && cj_string (root, "from", m->from, sizeof m->from)
            && cj_string (root, "text", m->text, sizeof m->text) && cJSON_IsNumber (id)
            && cJSON_IsNumber (ts);
  if (ok) {
    m->id = (uint64_t) id->valuedouble;
    m->ts = (uint64_t) ts->valuedouble;
    cj_string (root, "cid", m->cid, sizeof m->cid);
    sink += m->id;
  }
  cJSON_Delete (root);
  return ok;
}
#endif

int
main (int argc, char **argv)
{
  if (argc > 1)
    run_seconds = atof (argv[1]);
  if (argc > 2)
    rounds = atoi (argv[2]);
  if (argc > 3 || run_seconds <= 0 || rounds <= 0) {
    fprintf (stderr, "usage: bench-codec [seconds-per-run [rounds]]\n");
    return 2;
  }
  static const size_t sizes[] = { 16, 200, 4000 };
  printf ("# bench-codec: MB/s of JSON, best of %d rounds x %.2f s CPU each, one thread\n", rounds,
          run_seconds);
  printf ("%-6s %6s %10s %10s %10s %12s %13s\n", "text", "json", "encode", "decode", "validate",
          "cjson-parse", "cjson-decode");
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    ctx c;
    memset (&c, 0, sizeof c);
    char *text = make_text (sizes[i]);
    c.msg =
        (dx_chat_message){ "lobby", 1234567, "alice", text, sizes[i], 1763900000123ull, "c-17" };
    dx_buffer_init (&c.out, 0);
    if (!dx_encode_message (&c.out, &c.msg)) {
      fprintf (stderr, "bench-codec: cannot encode the sample\n");
      return 1;
    }
    dx_buffer encoded;
    dx_buffer_init (&encoded, 0);
    dx_buffer_append (&encoded, c.out.data, c.out.len);
    c.json = encoded.data;
    c.len = encoded.len;

#ifdef DX_BENCH_HAVE_CJSON
    const bench_fn fns[] = { do_encode, do_decode, do_validate, do_cjson_parse, do_cjson_decode };
#else
    const bench_fn fns[] = { do_encode, do_decode, do_validate };
#endif
    double r[5];
    measure_all (fns, sizeof fns / sizeof fns[0], &c, c.len, r);
    printf ("%-6zu %6zu %10.1f %10.1f %10.1f", sizes[i], c.len, r[0], r[1], r[2]);
#ifdef DX_BENCH_HAVE_CJSON
    if (strcmp (c.decoded.text, text) != 0) {
      fprintf (stderr, "bench-codec: cJSON decoded a different text\n");
      return 1;
    }
    printf (" %12.1f %13.1f   decode/cjson-decode %.2fx  validate/cjson-parse %.2fx\n", r[3], r[4],
            r[1] / r[4], r[2] / r[3]);
#else
    printf ("   (cJSON not found at build time)\n");
#endif
    dx_buffer_free (&encoded);
    dx_buffer_free (&c.out);
    free (text);
  }
  return 0;
}
