/* The chat codec: every docs/protocol.md object decoded and re-encoded to the
 * same bytes, unknown fields ignored, repeated known fields rejected, every
 * §2 name/limit rule with its error word and field, ping "t" echoed
 * verbatim, and the HTTP bodies (session, post, poll answer, rooms, info,
 * time, error envelope) both ways. */
#include <stdint.h>
#include <stdlib.h>

#include "protocol/message.h"
#include "protocol/utf8.h"
#include "../tap.h"

/* malloc that never returns NULL (a test has no use for OOM handling). */
static void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (!p)
    abort ();
  return p;
}

static dx_buffer out;

/* ---- round trips: canonical text -> dx_msg -> the same text ---- */

typedef struct {
  const char *json;
  dx_msg_type type;
  dx_msg_dir dir; /* the side that decodes it */
} rt_case;

static const rt_case round_trips[] = {
  { "{\"type\":\"hello\",\"nick\":\"alice\"}", DX_MSG_HELLO, DX_MSG_FROM_CLIENT },
  { "{\"type\":\"hello\",\"nick\":\"A.b-c_9\",\"password\":\"s\xc3\xa9same\"}", DX_MSG_HELLO,
    DX_MSG_FROM_CLIENT },
  { "{\"type\":\"hello\",\"token\":\"tok-1~x\",\"password\":\"\"}", DX_MSG_HELLO,
    DX_MSG_FROM_CLIENT },
  { "{\"type\":\"join\",\"room\":\"lobby\",\"since\":42}", DX_MSG_JOIN, DX_MSG_FROM_CLIENT },
  { "{\"type\":\"join\",\"room\":\"a-b_0\",\"since\":0}", DX_MSG_JOIN, DX_MSG_FROM_CLIENT },
  { "{\"type\":\"join\",\"room\":\"lobby\"}", DX_MSG_JOIN, DX_MSG_FROM_CLIENT },
  { "{\"type\":\"leave\",\"room\":\"lobby\"}", DX_MSG_LEAVE, DX_MSG_FROM_CLIENT },
  { "{\"type\":\"send\",\"room\":\"lobby\",\"text\":\"hi\",\"cid\":\"c-17\"}", DX_MSG_SEND,
    DX_MSG_FROM_CLIENT },
  { "{\"type\":\"send\",\"room\":\"lobby\",\"text\":\"line\\nbreak \\\"q\\\" \xec\x95\x88\"}",
    DX_MSG_SEND, DX_MSG_FROM_CLIENT },
  { "{\"type\":\"ping\",\"t\":1.5e3}", DX_MSG_PING, DX_MSG_FROM_CLIENT },
  { "{\"type\":\"ping\",\"t\":\"abc\\u00e9\"}", DX_MSG_PING, DX_MSG_FROM_CLIENT },
  { "{\"type\":\"ping\"}", DX_MSG_PING, DX_MSG_FROM_CLIENT },
  { "{\"type\":\"welcome\",\"nick\":\"alice\",\"token\":\"t0k\",\"server\":\"duplexd/0.1.0\"}",
    DX_MSG_WELCOME, DX_MSG_FROM_SERVER },
  { "{\"type\":\"welcome\",\"nick\":\"alice\",\"token\":\"t0k\",\"server\":\"duplexd/0.1.0\","
    "\"epoch\":\"e-1f\"}",
    DX_MSG_WELCOME, DX_MSG_FROM_SERVER },
  { "{\"type\":\"joined\",\"room\":\"lobby\",\"last_id\":42,\"epoch\":\"e-1f\"}", DX_MSG_JOINED,
    DX_MSG_FROM_SERVER },
  { "{\"type\":\"left\",\"room\":\"lobby\"}", DX_MSG_LEFT, DX_MSG_FROM_SERVER },
  { "{\"type\":\"ack\",\"cid\":\"c-17\",\"room\":\"lobby\",\"id\":43,\"ts\":1763900000456}",
    DX_MSG_ACK, DX_MSG_FROM_SERVER },
  { "{\"type\":\"ack\",\"room\":\"lobby\",\"id\":18446744073709551615,\"ts\":0}", DX_MSG_ACK,
    DX_MSG_FROM_SERVER },
  { "{\"type\":\"pong\",\"t\":12345678901234567890,\"ts\":1763900000123}", DX_MSG_PONG,
    DX_MSG_FROM_SERVER },
  { "{\"type\":\"pong\",\"ts\":5}", DX_MSG_PONG, DX_MSG_FROM_SERVER },
  { "{\"type\":\"message\",\"room\":\"lobby\",\"id\":42,\"from\":\"alice\",\"text\":\"hi\","
    "\"ts\":1763900000123,\"cid\":\"c-17\"}",
    DX_MSG_MESSAGE, DX_MSG_FROM_SERVER },
  { "{\"type\":\"message\",\"room\":\"lobby\",\"id\":1,\"from\":\"ticker\",\"text\":\"tick 1\","
    "\"ts\":1}",
    DX_MSG_MESSAGE, DX_MSG_FROM_SERVER },
  { "{\"type\":\"presence\",\"room\":\"lobby\",\"nick\":\"bob\",\"state\":\"join\"}",
    DX_MSG_PRESENCE, DX_MSG_FROM_SERVER },
  { "{\"type\":\"presence\",\"room\":\"lobby\",\"nick\":\"bob\",\"state\":\"leave\"}",
    DX_MSG_PRESENCE, DX_MSG_FROM_SERVER },
  { "{\"type\":\"error\",\"code\":\"not_authenticated\",\"message\":\"say hello first\"}",
    DX_MSG_ERROR, DX_MSG_FROM_SERVER },
  { "{\"type\":\"error\",\"code\":\"rate_limited\",\"message\":\"slow down\",\"retry_after\":"
    "250,\"cid\":\"c-1\"}",
    DX_MSG_ERROR, DX_MSG_FROM_SERVER },
};

static void
test_round_trips (void)
{
  for (size_t i = 0; i < sizeof round_trips / sizeof round_trips[0]; i++) {
    const rt_case *c = &round_trips[i];
    dx_msg m;
    dx_msg_error e;
    size_t len = strlen (c->json);
    bool ok = dx_msg_decode (c->json, len, c->dir, &m, &e);
    if (!OK (ok && m.type == c->type, "decode %s", c->json))
      printf ("#   error %s field '%s': %s\n", ok ? "-" : e.code, ok ? "" : e.field,
              ok ? "" : e.message);
    dx_msg any;
    OK (dx_msg_decode (c->json, len, DX_MSG_FROM_ANY, &any, NULL) && any.type == c->type,
        "decode as FROM_ANY");
    dx_msg_dir other = c->dir == DX_MSG_FROM_CLIENT ? DX_MSG_FROM_SERVER : DX_MSG_FROM_CLIENT;
    OK (!dx_msg_decode (c->json, len, other, &any, &e) && strcmp (e.code, "bad_request") == 0
            && strcmp (e.field, "type") == 0,
        "the other side rejects %s", dx_msg_type_name (c->type));
    dx_buffer_reset (&out);
    OK (ok && dx_msg_encode (&out, &m), "encode %s", dx_msg_type_name (c->type));
    STR_IS (out.data, c->json, "re-encoded to the same bytes");
    /* one NDJSON line */
    dx_buffer_reset (&out);
    OK (ok && dx_msg_encode_line (&out, &m) && out.len == len + 1 && out.data[len] == '\n'
            && memchr (out.data, '\n', len) == NULL,
        "encode_line adds exactly one '\\n'");
  }
}

/* ---- decoded values ---- */

static void
test_values (void)
{
  dx_msg m;
  const char *j = "{\"cid\":\"c 1\",\"ts\":1763900000123,\"text\":\"h\\u00e9\",\"from\":\"al.ice\","
                  "\"id\":42,\"room\":\"lob-by\",\"type\":\"message\"}";
  OK (dx_msg_decode (j, strlen (j), DX_MSG_FROM_SERVER, &m, NULL), "message in any field order");
  OK (m.type == DX_MSG_MESSAGE && m.id == 42 && m.ts == 1763900000123ull
          && strcmp (m.room, "lob-by") == 0 && strcmp (m.from, "al.ice") == 0 && m.text_len == 3
          && memcmp (m.text, "h\xc3\xa9", 3) == 0 && m.has_cid && strcmp (m.cid, "c 1") == 0,
      "message fields");
  dx_buffer_reset (&out);
  OK (dx_msg_encode (&out, &m), "re-encode");
  STR_IS (out.data,
          "{\"type\":\"message\",\"room\":\"lob-by\",\"id\":42,\"from\":\"al.ice\",\"text\":"
          "\"h\xc3\xa9\","
          "\"ts\":1763900000123,\"cid\":\"c 1\"}",
          "canonical field order, raw UTF-8 out");

  j = "  {\"type\" : \"join\" , \"room\" : \"lobby\" , \"since\" : 7 }  ";
  OK (dx_msg_decode (j, strlen (j), DX_MSG_FROM_CLIENT, &m, NULL) && m.type == DX_MSG_JOIN
          && m.has_since && m.since == 7 && strcmp (m.room, "lobby") == 0,
      "join with whitespace everywhere");
  j = "{\"type\":\"join\",\"room\":\"lobby\"}";
  OK (dx_msg_decode (j, strlen (j), DX_MSG_FROM_CLIENT, &m, NULL) && !m.has_since,
      "join without since");
  j = "{\"type\":\"hello\",\"token\":\"abc\"}";
  OK (dx_msg_decode (j, strlen (j), DX_MSG_FROM_CLIENT, &m, NULL) && m.has_token && !m.has_nick
          && !m.has_password && strcmp (m.token, "abc") == 0,
      "hello with token");
  j = "{\"type\":\"welcome\",\"nick\":\"ticker\",\"token\":\"t\",\"server\":\"\",\"epoch\":\"E1\"}";
  OK (dx_msg_decode (j, strlen (j), DX_MSG_FROM_SERVER, &m, NULL) && strcmp (m.epoch, "E1") == 0
          && strcmp (m.nick, "ticker") == 0,
      "welcome carries the epoch (docs/protocol.md §2)");
  j = "{\"type\":\"welcome\",\"nick\":\"a\",\"token\":\"t\",\"server\":\"s\"}";
  OK (dx_msg_decode (j, strlen (j), DX_MSG_FROM_SERVER, &m, NULL) && m.epoch[0] == '\0',
      "welcome without epoch: epoch empty");
  dx_buffer_reset (&out);
  OK (dx_encode_welcome_epoch (&out, "alice", "tok", "duplexd/0.1.0", "ep0"),
      "encode welcome with epoch");
  STR_IS (out.data,
          "{\"type\":\"welcome\",\"nick\":\"alice\",\"token\":\"tok\",\"server\":\"duplexd/0.1.0\","
          "\"epoch\":\"ep0\"}",
          "welcome text, epoch last");
  j = "{\"type\":\"presence\",\"room\":\"r\",\"nick\":\"n\",\"state\":\"leave\"}";
  OK (dx_msg_decode (j, strlen (j), DX_MSG_FROM_SERVER, &m, NULL) && !m.joined, "presence leave");
  j = "{\"type\":\"\\u0073end\",\"room\":\"r\",\"text\":\"x\"}";
  OK (dx_msg_decode (j, strlen (j), DX_MSG_FROM_CLIENT, &m, NULL) && m.type == DX_MSG_SEND,
      "escaped type word is decoded");
  OK (dx_msg_type_name (DX_MSG_NONE) == NULL
          && strcmp (dx_msg_type_name (DX_MSG_PRESENCE), "presence") == 0
          && dx_msg_type_name ((dx_msg_type) 99) == NULL,
      "dx_msg_type_name");
}

/* ---- unknown fields, repeated fields ---- */

static void
test_unknown_and_repeated (void)
{
  static const char *const ok_docs[] = {
    "{\"type\":\"send\",\"room\":\"lobby\",\"text\":\"hi\",\"extra\":{\"a\":[1,2,{\"b\":null}]}}",
    "{\"x\":1,\"type\":\"send\",\"y\":[],\"room\":\"lobby\",\"z\":true,\"text\":\"hi\",\"w\":-1."
    "5e9}",
    "{\"type\":\"send\",\"room\":\"lobby\",\"text\":\"hi\",\"u\":1,\"u\":2,\"u\":\"\\u0000\"}",
    /* members other types use mean nothing here, whatever their value */
    "{\"type\":\"join\",\"room\":\"lobby\",\"text\":5,\"id\":\"x\",\"nick\":\"ticker\",\"t\":{}}",
    "{\"type\":\"ping\",\"room\":\"NOT A ROOM\",\"room\":1}",
    "{\"type\":\"send\",\"room\":\"lobby\",\"text\":\"hi\",\"a-very-long-unknown-member-name-"
    "indeed\":1}",
    "{\"type\":\"leave\",\"room\":\"lobby\",\"\":\"empty key\"}",
  };
  for (size_t i = 0; i < sizeof ok_docs / sizeof ok_docs[0]; i++) {
    dx_msg m;
    dx_msg_error e;
    bool ok = dx_msg_decode (ok_docs[i], strlen (ok_docs[i]), DX_MSG_FROM_CLIENT, &m, &e);
    if (!OK (ok, "unknown fields ignored: %s", ok_docs[i]))
      printf ("#   %s '%s' %s\n", e.code, e.field, e.message);
  }
  dx_msg m;
  const char *j = ok_docs[0];
  dx_msg_decode (j, strlen (j), DX_MSG_FROM_CLIENT, &m, NULL);
  dx_buffer_reset (&out);
  OK (dx_msg_encode (&out, &m), "encode after unknown fields");
  STR_IS (out.data, "{\"type\":\"send\",\"room\":\"lobby\",\"text\":\"hi\"}",
          "unknown fields dropped");
}

/* ---- errors: document, code word, field ---- */

typedef struct {
  const char *name;
  const char *json;
  dx_msg_dir dir;
  const char *code;
  const char *field;
} ecase;

static const ecase ecases[] = {
  /* the document */
  { "empty", "", DX_MSG_FROM_CLIENT, "bad_request", "" },
  { "not JSON", "hello", DX_MSG_FROM_CLIENT, "bad_request", "" },
  { "array", "[1]", DX_MSG_FROM_CLIENT, "bad_request", "" },
  { "string", "\"hello\"", DX_MSG_FROM_CLIENT, "bad_request", "" },
  { "cut", "{\"type\":\"ping\"", DX_MSG_FROM_CLIENT, "bad_request", "" },
  { "trailing", "{\"type\":\"ping\"} x", DX_MSG_FROM_CLIENT, "bad_request", "" },
  { "two objects", "{\"type\":\"ping\"}{\"type\":\"ping\"}", DX_MSG_FROM_CLIENT, "bad_request",
    "" },
  { "trailing comma", "{\"type\":\"ping\",}", DX_MSG_FROM_CLIENT, "bad_request", "" },
  /* type */
  { "missing type", "{\"room\":\"lobby\"}", DX_MSG_FROM_CLIENT, "bad_request", "type" },
  { "unknown type", "{\"type\":\"shout\"}", DX_MSG_FROM_CLIENT, "bad_request", "type" },
  { "long unknown type", "{\"type\":\"a-type-word-far-too-long-to-be-one\"}", DX_MSG_FROM_CLIENT,
    "bad_request", "type" },
  { "type not a string", "{\"type\":1}", DX_MSG_FROM_CLIENT, "bad_request", "type" },
  { "type null", "{\"type\":null}", DX_MSG_FROM_CLIENT, "bad_request", "type" },
  { "type case", "{\"type\":\"Ping\"}", DX_MSG_FROM_CLIENT, "bad_request", "type" },
  { "server type from a client", "{\"type\":\"pong\",\"ts\":1}", DX_MSG_FROM_CLIENT, "bad_request",
    "type" },
  { "client type from the server", "{\"type\":\"ping\"}", DX_MSG_FROM_SERVER, "bad_request",
    "type" },
  /* repeated known members */
  { "type twice", "{\"type\":\"ping\",\"type\":\"ping\"}", DX_MSG_FROM_CLIENT, "bad_request",
    "type" },
  { "room twice", "{\"type\":\"send\",\"room\":\"a\",\"room\":\"a\",\"text\":\"x\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "room" },
  { "text twice", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"x\",\"text\":\"y\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "text" },
  { "cid twice", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"x\",\"cid\":\"1\",\"cid\":\"2\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "cid" },
  { "since twice", "{\"type\":\"join\",\"room\":\"a\",\"since\":1,\"since\":1}", DX_MSG_FROM_CLIENT,
    "bad_request", "since" },
  { "nick twice", "{\"type\":\"hello\",\"nick\":\"a\",\"nick\":\"b\"}", DX_MSG_FROM_CLIENT,
    "bad_request", "nick" },
  { "t twice", "{\"type\":\"ping\",\"t\":1,\"t\":1}", DX_MSG_FROM_CLIENT, "bad_request", "t" },
  { "escaped duplicate", "{\"type\":\"leave\",\"room\":\"a\",\"r\\u006fom\":\"b\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "room" },
  /* hello */
  { "hello without nick or token", "{\"type\":\"hello\"}", DX_MSG_FROM_CLIENT, "bad_request",
    "nick" },
  { "hello with nick and token", "{\"type\":\"hello\",\"nick\":\"a\",\"token\":\"t\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "token" },
  { "reserved nick ticker", "{\"type\":\"hello\",\"nick\":\"ticker\"}", DX_MSG_FROM_CLIENT,
    "bad_request", "nick" },
  { "reserved nick server", "{\"type\":\"hello\",\"nick\":\"server\"}", DX_MSG_FROM_CLIENT,
    "bad_request", "nick" },
  { "empty nick", "{\"type\":\"hello\",\"nick\":\"\"}", DX_MSG_FROM_CLIENT, "bad_request", "nick" },
  { "nick 33", "{\"type\":\"hello\",\"nick\":\"abcdefghijklmnopqrstuvwxyz0123456\"}",
    DX_MSG_FROM_CLIENT, "too_large", "nick" },
  { "nick with space", "{\"type\":\"hello\",\"nick\":\"a b\"}", DX_MSG_FROM_CLIENT, "bad_request",
    "nick" },
  { "nick with @", "{\"type\":\"hello\",\"nick\":\"a@b\"}", DX_MSG_FROM_CLIENT, "bad_request",
    "nick" },
  { "nick non-ASCII", "{\"type\":\"hello\",\"nick\":\"\xc3\xa9\"}", DX_MSG_FROM_CLIENT,
    "bad_request", "nick" },
  { "nick a number", "{\"type\":\"hello\",\"nick\":7}", DX_MSG_FROM_CLIENT, "bad_request", "nick" },
  { "nick with NUL", "{\"type\":\"hello\",\"nick\":\"a\\u0000\"}", DX_MSG_FROM_CLIENT,
    "bad_request", "nick" },
  { "token with space", "{\"type\":\"hello\",\"token\":\"a b\"}", DX_MSG_FROM_CLIENT, "bad_request",
    "token" },
  { "token empty", "{\"type\":\"hello\",\"token\":\"\"}", DX_MSG_FROM_CLIENT, "bad_request",
    "token" },
  { "password not a string", "{\"type\":\"hello\",\"nick\":\"a\",\"password\":1}",
    DX_MSG_FROM_CLIENT, "bad_request", "password" },
  { "password with NUL", "{\"type\":\"hello\",\"nick\":\"a\",\"password\":\"\\u0000\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "password" },
  /* rooms */
  { "room uppercase", "{\"type\":\"join\",\"room\":\"Lobby\"}", DX_MSG_FROM_CLIENT, "bad_request",
    "room" },
  { "room with dot", "{\"type\":\"join\",\"room\":\"a.b\"}", DX_MSG_FROM_CLIENT, "bad_request",
    "room" },
  { "room with space", "{\"type\":\"leave\",\"room\":\"a b\"}", DX_MSG_FROM_CLIENT, "bad_request",
    "room" },
  { "room empty", "{\"type\":\"join\",\"room\":\"\"}", DX_MSG_FROM_CLIENT, "bad_request", "room" },
  { "room 33", "{\"type\":\"join\",\"room\":\"abcdefghijklmnopqrstuvwxyz0123456\"}",
    DX_MSG_FROM_CLIENT, "too_large", "room" },
  { "room missing", "{\"type\":\"join\",\"since\":1}", DX_MSG_FROM_CLIENT, "bad_request", "room" },
  { "room an array", "{\"type\":\"leave\",\"room\":[\"a\"]}", DX_MSG_FROM_CLIENT, "bad_request",
    "room" },
  /* since */
  { "since negative", "{\"type\":\"join\",\"room\":\"a\",\"since\":-1}", DX_MSG_FROM_CLIENT,
    "bad_request", "since" },
  { "since fraction", "{\"type\":\"join\",\"room\":\"a\",\"since\":1.5}", DX_MSG_FROM_CLIENT,
    "bad_request", "since" },
  { "since string", "{\"type\":\"join\",\"room\":\"a\",\"since\":\"1\"}", DX_MSG_FROM_CLIENT,
    "bad_request", "since" },
  { "since 2^64", "{\"type\":\"join\",\"room\":\"a\",\"since\":18446744073709551616}",
    DX_MSG_FROM_CLIENT, "bad_request", "since" },
  { "since null", "{\"type\":\"join\",\"room\":\"a\",\"since\":null}", DX_MSG_FROM_CLIENT,
    "bad_request", "since" },
  /* text */
  { "text missing", "{\"type\":\"send\",\"room\":\"a\"}", DX_MSG_FROM_CLIENT, "bad_request",
    "text" },
  { "text empty", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"\"}", DX_MSG_FROM_CLIENT,
    "bad_request", "text" },
  { "text with NUL", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"a\\u0000b\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "text" },
  { "text invalid UTF-8", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"a\xff\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "text" },
  { "text overlong UTF-8", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"\xc0\xaf\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "text" },
  { "text lone surrogate", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"\\ud800\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "text" },
  { "text raw newline", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"a\nb\"}", DX_MSG_FROM_CLIENT,
    "bad_request", "text" },
  { "text a number", "{\"type\":\"send\",\"room\":\"a\",\"text\":1}", DX_MSG_FROM_CLIENT,
    "bad_request", "text" },
  /* cid */
  { "cid empty", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"x\",\"cid\":\"\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "cid" },
  { "cid control", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"x\",\"cid\":\"\\u0001\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "cid" },
  { "cid DEL", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"x\",\"cid\":\"\\u007f\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "cid" },
  { "cid non-ASCII", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"x\",\"cid\":\"\xc3\xa9\"}",
    DX_MSG_FROM_CLIENT, "bad_request", "cid" },
  { "cid number", "{\"type\":\"send\",\"room\":\"a\",\"text\":\"x\",\"cid\":17}",
    DX_MSG_FROM_CLIENT, "bad_request", "cid" },
  /* ping t */
  { "t bad number", "{\"type\":\"ping\",\"t\":01}", DX_MSG_FROM_CLIENT, "bad_request", "t" },
  /* server objects */
  { "message without id",
    "{\"type\":\"message\",\"room\":\"a\",\"from\":\"b\",\"text\":\"x\",\"ts\":1}",
    DX_MSG_FROM_SERVER, "bad_request", "id" },
  { "message without ts",
    "{\"type\":\"message\",\"room\":\"a\",\"id\":1,\"from\":\"b\",\"text\":\"x\"}",
    DX_MSG_FROM_SERVER, "bad_request", "ts" },
  { "message bad from",
    "{\"type\":\"message\",\"room\":\"a\",\"id\":1,\"from\":\"b c\",\"text\":\"x\",\"ts\":1}",
    DX_MSG_FROM_SERVER, "bad_request", "from" },
  { "joined without epoch", "{\"type\":\"joined\",\"room\":\"a\",\"last_id\":1}",
    DX_MSG_FROM_SERVER, "bad_request", "epoch" },
  { "joined epoch with space",
    "{\"type\":\"joined\",\"room\":\"a\",\"last_id\":1,\"epoch\":\"a b\"}", DX_MSG_FROM_SERVER,
    "bad_request", "epoch" },
  { "ack without id", "{\"type\":\"ack\",\"room\":\"a\",\"ts\":1}", DX_MSG_FROM_SERVER,
    "bad_request", "id" },
  { "pong without ts", "{\"type\":\"pong\",\"t\":1}", DX_MSG_FROM_SERVER, "bad_request", "ts" },
  { "presence bad state",
    "{\"type\":\"presence\",\"room\":\"a\",\"nick\":\"b\",\"state\":\"maybe\"}", DX_MSG_FROM_SERVER,
    "bad_request", "state" },
  { "presence state number", "{\"type\":\"presence\",\"room\":\"a\",\"nick\":\"b\",\"state\":1}",
    DX_MSG_FROM_SERVER, "bad_request", "state" },
  { "error bad code", "{\"type\":\"error\",\"code\":\"Bad\",\"message\":\"x\"}", DX_MSG_FROM_SERVER,
    "bad_request", "code" },
  { "error without message", "{\"type\":\"error\",\"code\":\"bad_request\"}", DX_MSG_FROM_SERVER,
    "bad_request", "message" },
  { "welcome bad epoch",
    "{\"type\":\"welcome\",\"nick\":\"a\",\"token\":\"t\",\"server\":\"s\","
    "\"epoch\":\"\"}",
    DX_MSG_FROM_SERVER, "bad_request", "epoch" },
  { "welcome without server", "{\"type\":\"welcome\",\"nick\":\"a\",\"token\":\"t\"}",
    DX_MSG_FROM_SERVER, "bad_request", "server" },
};

static void
test_errors (void)
{
  for (size_t i = 0; i < sizeof ecases / sizeof ecases[0]; i++) {
    const ecase *c = &ecases[i];
    dx_msg m;
    dx_msg_error e;
    memset (&e, 0, sizeof e);
    bool ok = dx_msg_decode (c->json, strlen (c->json), c->dir, &m, &e);
    bool right = !ok && e.code && strcmp (e.code, c->code) == 0 && strcmp (e.field, c->field) == 0
                 && e.message[0] != '\0';
    if (!OK (right, "%s -> %s '%s'", c->name, c->code, c->field))
      printf ("#   got %s '%s': %s\n", ok ? "success" : e.code, e.field, e.message);
  }
  /* err may be NULL */
  dx_msg m;
  OK (!dx_msg_decode ("{}", 2, DX_MSG_FROM_ANY, &m, NULL), "err NULL is allowed");
  OK (!dx_msg_decode (NULL, 5, DX_MSG_FROM_ANY, &m, NULL), "NULL document is an error");
  /* the message names the rule */
  dx_msg_error e;
  const char *j = "{\"type\":\"join\",\"room\":\"Lobby\"}";
  dx_msg_decode (j, strlen (j), DX_MSG_FROM_CLIENT, &m, &e);
  STR_IS (e.message, "field 'room': must be 1-32 characters of [a-z0-9_-]", "room rule message");
}

/* ---- §2 limits at their edges ---- */

static char *
make_send (const char *text_json, const char *extra)
{
  size_t n = strlen (text_json) + strlen (extra) + 64;
  char *s = xmalloc (n);
  snprintf (s, n, "{\"type\":\"send\",\"room\":\"lobby\",\"text\":\"%s\"%s}", text_json, extra);
  return s;
}

static char *
repeat (const char *unit, size_t times)
{
  size_t u = strlen (unit);
  char *s = xmalloc (u * times + 1);
  for (size_t i = 0; i < times; i++)
    memcpy (s + i * u, unit, u);
  s[u * times] = '\0';
  return s;
}

static void
check_send (const char *name, const char *text_json, const char *extra, bool ok_want,
            const char *code, const char *field, size_t text_len)
{
  char *doc = make_send (text_json, extra);
  dx_msg m;
  dx_msg_error e;
  bool ok = dx_msg_decode (doc, strlen (doc), DX_MSG_FROM_CLIENT, &m, &e);
  if (ok_want) {
    if (!OK (ok && m.text_len == text_len, "%s: accepted", name))
      printf ("#   %s '%s' %s\n", ok ? "-" : e.code, ok ? "" : e.field, ok ? "" : e.message);
  } else {
    if (!OK (!ok && strcmp (e.code, code) == 0 && strcmp (e.field, field) == 0, "%s: %s '%s'", name,
             code, field))
      printf ("#   got %s '%s' %s\n", ok ? "success" : e.code, e.field, e.message);
  }
  free (doc);
}

static void
test_limits (void)
{
  char *t = repeat ("a", 4096);
  check_send ("text 4096 bytes", t, "", true, NULL, NULL, 4096);
  free (t);
  t = repeat ("a", 4097);
  check_send ("text 4097 bytes", t, "", false, "too_large", "text", 0);
  free (t);
  /* 1365 x 3-byte euro + 1 = 4096 bytes */
  char *e = repeat ("\xe2\x82\xac", 1365);
  size_t n = strlen (e);
  char *t2 = xmalloc (n + 2);
  memcpy (t2, e, n);
  memcpy (t2 + n, "a", 2);
  check_send ("text 4096 bytes of multi-byte UTF-8", t2, "", true, NULL, NULL, 4096);
  t2[n] = 'a';
  free (t2);
  t2 = xmalloc (n + 3);
  memcpy (t2, e, n);
  memcpy (t2 + n, "ab", 3);
  check_send ("text 4097 bytes of multi-byte UTF-8", t2, "", false, "too_large", "text", 0);
  free (t2);
  free (e);
  /* the limit is after JSON decoding: 2048 escapes of 2 bytes each */
  t = repeat ("\\u00e9", 2048);
  check_send ("text 4096 bytes from 12288 bytes of escapes", t, "", true, NULL, NULL, 4096);
  free (t);
  t = repeat ("\\u00e9", 2049);
  check_send ("text 4098 bytes from escapes", t, "", false, "too_large", "text", 0);
  free (t);
  t = repeat ("\\ud83d\\ude00", 1024);
  check_send ("text of 1024 surrogate pairs = 4096 bytes", t, "", true, NULL, NULL, 4096);
  free (t);
  check_send ("text 1 byte", "x", "", true, NULL, NULL, 1);

  /* cid 64 / 65 */
  char extra[128];
  t = repeat ("c", 64);
  snprintf (extra, sizeof extra, ",\"cid\":\"%s\"", t);
  check_send ("cid 64", "x", extra, true, NULL, NULL, 1);
  free (t);
  t = repeat ("c", 65);
  snprintf (extra, sizeof extra, ",\"cid\":\"%s\"", t);
  check_send ("cid 65", "x", extra, false, "too_large", "cid", 0);
  free (t);
  check_send ("cid with space and punctuation", "x", ",\"cid\":\" !~{}\\\"\"", true, NULL, NULL, 1);

  /* nick and room 32 / 33 and every allowed character */
  dx_msg m;
  dx_msg_error err;
  const char *j = "{\"type\":\"hello\",\"nick\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ_.-019\"}";
  OK (dx_msg_decode (j, strlen (j), DX_MSG_FROM_CLIENT, &m, NULL) && strlen (m.nick) == 32,
      "nick of 32 characters");
  j = "{\"type\":\"join\",\"room\":\"abcdefghijklmnopqrstuvwxyz_-0189\"}";
  OK (dx_msg_decode (j, strlen (j), DX_MSG_FROM_CLIENT, &m, NULL) && strlen (m.room) == 32,
      "room of 32 characters");
  j = "{\"type\":\"hello\",\"nick\":\"Ticker\"}";
  OK (dx_msg_decode (j, strlen (j), DX_MSG_FROM_CLIENT, &m, NULL),
      "reserved nicks are case-sensitive");
  j = "{\"type\":\"hello\",\"nick\":\"tickers\"}";
  OK (dx_msg_decode (j, strlen (j), DX_MSG_FROM_CLIENT, &m, NULL), "only the exact reserved nick");

  /* password 256 / 257 */
  t = repeat ("p", 257);
  char pdoc[400];
  snprintf (pdoc, sizeof pdoc, "{\"type\":\"hello\",\"nick\":\"a\",\"password\":\"%s\"}", t);
  OK (!dx_msg_decode (pdoc, strlen (pdoc), DX_MSG_FROM_CLIENT, &m, &err)
          && strcmp (err.code, "too_large") == 0 && strcmp (err.field, "password") == 0,
      "password 257 bytes -> too_large");
  t[256] = '\0';
  snprintf (pdoc, sizeof pdoc, "{\"type\":\"hello\",\"nick\":\"a\",\"password\":\"%s\"}", t);
  OK (dx_msg_decode (pdoc, strlen (pdoc), DX_MSG_FROM_CLIENT, &m, NULL) && m.has_password
          && strlen (m.password) == 256,
      "password 256 bytes");
  free (t);

  /* the document: 16384 bytes OK, 16385 too_large */
  char *doc = xmalloc (16400);
  const char *head = "{\"type\":\"ping\",\"pad\":\"";
  size_t hl = strlen (head);
  memcpy (doc, head, hl);
  memset (doc + hl, 'x', 16384 - hl - 2);
  memcpy (doc + 16384 - 2, "\"}", 2);
  OK (dx_msg_decode (doc, 16384, DX_MSG_FROM_CLIENT, &m, NULL) && m.type == DX_MSG_PING,
      "document of 16384 bytes");
  memset (doc + hl, 'x', 16385 - hl - 2);
  memcpy (doc + 16385 - 2, "\"}", 2);
  OK (!dx_msg_decode (doc, 16385, DX_MSG_FROM_CLIENT, &m, &err)
          && strcmp (err.code, "too_large") == 0 && strcmp (err.field, "") == 0,
      "document of 16385 bytes -> too_large ''");
  free (doc);

  /* the worst case the server encodes: 4096 control characters = 6 bytes
   * each on the wire; it is over DX_LINE_MAX and still decodes as a
   * server object (DX_MSG_ENCODED_MAX), while a client's line is held to
   * DX_LINE_MAX */
  {
    char ctl[DX_TEXT_MAX];
    memset (ctl, 1, sizeof ctl);
    dx_chat_message cm = { "lobby", 7, "alice", ctl, sizeof ctl, 1, "c" };
    dx_buffer_reset (&out);
    OK (dx_encode_message (&out, &cm) && out.len > 6 * DX_TEXT_MAX && out.len <= DX_MSG_ENCODED_MAX,
        "message of 4096 control characters: %zu bytes", out.len);
    OK (dx_msg_decode (out.data, out.len, DX_MSG_FROM_SERVER, &m, NULL) && m.text_len == DX_TEXT_MAX
            && memcmp (m.text, ctl, sizeof ctl) == 0,
        "decodes as a server object");
    dx_buffer_reset (&out);
    OK (dx_encode_send (&out, "lobby", ctl, sizeof ctl, NULL), "the same as a send");
    OK (!dx_msg_decode (out.data, out.len, DX_MSG_FROM_CLIENT, &m, &err)
            && strcmp (err.code, "too_large") == 0 && strcmp (err.field, "") == 0,
        "a client line over 16384 bytes is too_large");
  }

  /* nesting of unknown members is bounded too */
  doc = xmalloc (200);
  strcpy (doc, "{\"type\":\"ping\",\"x\":");
  for (int i = 0; i < 40; i++)
    strcat (doc, "[");
  for (int i = 0; i < 40; i++)
    strcat (doc, "]");
  strcat (doc, "}");
  OK (!dx_msg_decode (doc, strlen (doc), DX_MSG_FROM_CLIENT, &m, &err)
          && strcmp (err.code, "bad_request") == 0 && strcmp (err.field, "x") == 0,
      "unknown member nested 40 deep -> bad_request 'x'");
  free (doc);
}

/* ---- ping "t" verbatim ---- */

static dx_msg_type
peek (const char *json)
{
  return dx_msg_peek_type (json, strlen (json));
}

static bool
decode_client (const char *json, dx_msg *m, dx_msg_error *e)
{
  return dx_msg_decode (json, strlen (json), DX_MSG_FROM_CLIENT, m, e);
}

static void
test_ping_pong (void)
{
  static const struct {
    const char *ping;
    const char *pong;
  } p[] = {
    { "{\"type\":\"ping\",\"t\":1.5e3}", "{\"type\":\"pong\",\"t\":1.5e3,\"ts\":99}" },
    { "{\"type\":\"ping\",\"t\": -7 }", "{\"type\":\"pong\",\"t\":-7,\"ts\":99}" },
    { "{\"type\":\"ping\",\"t\":12345678901234567890123}",
      "{\"type\":\"pong\",\"t\":12345678901234567890123,\"ts\":99}" },
    { "{\"type\":\"ping\",\"t\":0.10}", "{\"type\":\"pong\",\"t\":0.10,\"ts\":99}" },
    { "{\"type\":\"ping\",\"t\":1E+2}", "{\"type\":\"pong\",\"t\":1E+2,\"ts\":99}" },
    { "{\"type\":\"ping\",\"t\":\"abc\"}", "{\"type\":\"pong\",\"t\":\"abc\",\"ts\":99}" },
    { "{\"type\":\"ping\",\"t\":\"\\u00e9\\/\\n\"}",
      "{\"type\":\"pong\",\"t\":\"\\u00e9\\/\\n\",\"ts\":99}" },
    { "{\"t\":\"\",\"type\":\"ping\"}", "{\"type\":\"pong\",\"t\":\"\",\"ts\":99}" },
    { "{\"type\":\"ping\"}", "{\"type\":\"pong\",\"ts\":99}" },
  };
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
    dx_msg m;
    bool ok = dx_msg_decode (p[i].ping, strlen (p[i].ping), DX_MSG_FROM_CLIENT, &m, NULL);
    dx_buffer_reset (&out);
    ok = ok && dx_encode_pong (&out, m.has_t ? m.t : NULL, m.t_len, 99);
    OK (ok, "ping %s", p[i].ping);
    STR_IS (out.data, p[i].pong, "pong echoes t verbatim");
    dx_msg pong;
    OK (dx_msg_decode (out.data, out.len, DX_MSG_FROM_SERVER, &pong, NULL) && pong.ts == 99
            && pong.has_t == m.has_t && pong.t_len == m.t_len
            && (!m.has_t || memcmp (pong.t, m.t, m.t_len) == 0),
        "the pong decodes to the same t");
  }
  /* any JSON value is a "client value": objects, arrays, literals, and
   * long ones (only the document's own limit applies) */
  static const struct {
    const char *ping, *t;
  } any[] = {
    { "{\"type\":\"ping\",\"t\":{\"k\":[1,2]}}", "{\"k\":[1,2]}" },
    { "{\"type\":\"ping\",\"t\":null}", "null" },
    { "{\"type\":\"ping\",\"t\":true}", "true" },
    { "{\"t\" :  [ 1 , \"a\" ]  ,\"type\":\"ping\"}", "[ 1 , \"a\" ]" },
  };
  for (size_t i = 0; i < sizeof any / sizeof any[0]; i++) {
    dx_msg m;
    bool ok = dx_msg_decode (any[i].ping, strlen (any[i].ping), DX_MSG_FROM_CLIENT, &m, NULL);
    OK (ok && m.has_t && m.t_len == strlen (any[i].t) && memcmp (m.t, any[i].t, m.t_len) == 0,
        "t %s kept verbatim, whitespace around it trimmed", any[i].t);
    dx_buffer_reset (&out);
    OK (ok && dx_encode_pong (&out, m.t, m.t_len, 5) && strstr (out.data, any[i].t),
        "pong echoes %s", any[i].t);
  }
  static char doc[DX_LINE_MAX + 1];
  size_t n = (size_t) snprintf (doc, sizeof doc, "{\"type\":\"ping\",\"t\":\"");
  memset (doc + n, 'x', DX_LINE_MAX - n - 2);
  memcpy (doc + DX_LINE_MAX - 2, "\"}", 3);
  dx_msg m;
  dx_msg_error e;
  OK (dx_msg_decode (doc, DX_LINE_MAX, DX_MSG_FROM_CLIENT, &m, NULL) && m.t_len == DX_LINE_MAX - n,
      "a string t filling a whole 16 KiB line");
  OK (!decode_client ("{\"type\":\"ping\",\"t\":1,\"t\":2}", &m, &e) && strcmp (e.field, "t") == 0,
      "two t members refused");
  OK (!decode_client ("{\"type\":\"ping\",\"t\":{]}", &m, &e), "a malformed t refused");

  /* peeking at the type of any object, valid or not */
  IS (peek ("{\"room\":\"x\",\"type\":\"join\",\"since\":-1}"), DX_MSG_JOIN,
      "type found after other members, the rest invalid");
  IS (peek ("{\"room\":\"x\"}"), DX_MSG_NONE, "no type");
  IS (peek ("[1,2]"), DX_MSG_NONE, "not an object");
  IS (peek ("{\"type\":\"hel"), DX_MSG_NONE, "cut string");
  IS (peek ("{\"type\":\"shout\"}"), DX_MSG_NONE, "unknown type");
  IS (peek ("{\"type\":\"pong\"}"), DX_MSG_PONG, "server types too");

  /* the encoders check t */
  dx_buffer_reset (&out);
  OK (!dx_encode_pong (&out, "1 2", 3, 1) && out.len == 0, "pong t '1 2' refused");
  OK (!dx_encode_pong (&out, " 1", 2, 1) && out.len == 0, "pong t with whitespace refused");
  OK (!dx_encode_pong (&out, "{]", 2, 1) && out.len == 0, "pong t malformed refused");
  OK (!dx_encode_pong (&out, "", 0, 1) && out.len == 0, "pong t empty refused");
  OK (dx_encode_ping (&out, "true", 4), "ping t true");
  dx_buffer_reset (&out);
  OK (dx_encode_ping (&out, "\"x\"", 3), "ping t string");
  STR_IS (out.data, "{\"type\":\"ping\",\"t\":\"x\"}", "ping text");
}

/* ---- encoders refuse what breaks §2, and leave the buffer as it was ---- */

static void
test_encoder_checks (void)
{
  char big[4098];
  memset (big, 'a', sizeof big);
  dx_buffer_reset (&out);
  dx_buffer_append_str (&out, "keep");
  OK (!dx_encode_send (&out, "Lobby", "x", 1, NULL), "send bad room");
  OK (!dx_encode_send (&out, "lobby", big, 4097, NULL), "send text 4097");
  OK (dx_encode_send (&out, "lobby", big, 4096, NULL), "send text 4096");
  out.len = 4;
  out.data[4] = '\0';
  OK (!dx_encode_send (&out, "lobby", "", 0, NULL), "send empty text");
  OK (!dx_encode_send (&out, "lobby", "a\0b", 3, NULL), "send text with NUL");
  OK (!dx_encode_send (&out, "lobby", "a\xff", 2, NULL), "send invalid UTF-8");
  OK (!dx_encode_send (&out, "lobby", "x", 1, "bad\x01"), "send bad cid");
  OK (!dx_encode_hello (&out, "a", "t", NULL), "hello with nick and token");
  OK (!dx_encode_hello (&out, NULL, NULL, NULL), "hello with neither");
  OK (!dx_encode_hello (&out, "a b", NULL, NULL), "hello bad nick");
  OK (!dx_encode_hello (&out, NULL, "a b", NULL), "hello bad token");
  OK (!dx_encode_join (&out, "", true, 1), "join empty room");
  OK (!dx_encode_leave (&out, NULL), "leave NULL room");
  OK (!dx_encode_joined (&out, "a", 1, "e f"), "joined bad epoch");
  OK (!dx_encode_welcome (&out, "a", "t", NULL), "welcome NULL server");
  OK (!dx_encode_welcome_epoch (&out, "a", "t", "s", "e f"), "welcome bad epoch");
  OK (!dx_encode_ack (&out, "a", 1, 1, ""), "ack empty cid");
  OK (!dx_encode_presence (&out, "a", "", true), "presence empty nick");
  OK (!dx_encode_error (&out, "Bad", "x"), "error bad code");
  OK (!dx_encode_error (&out, "bad_request", "\xff"), "error invalid UTF-8 message");
  dx_chat_message cm = { "lobby", 1, "a b", "x", 1, 1, NULL };
  OK (!dx_encode_message (&out, &cm), "message bad from");
  OK (strcmp (out.data, "keep") == 0 && out.len == 4 && !out.failed,
      "buffer unchanged by refusals");
  dx_msg m;
  dx_msg_clear (&m);
  OK (!dx_msg_encode (&out, &m), "encode DX_MSG_NONE refused");

  /* reserved nicks are the server's to use */
  cm.from = "ticker";
  OK (dx_encode_message (&out, &cm), "message from ticker encodes");
  out.len = 4;
  out.data[4] = '\0';

  /* the ceiling: refused, marked failed, rolled back */
  dx_buffer small;
  dx_buffer_init (&small, 20);
  dx_buffer_append_str (&small, "xy");
  OK (!dx_encode_join (&small, "lobby", true, 1) && small.failed && small.len == 2,
      "over the ceiling: false, failed, length restored");
  dx_buffer_free (&small);

  /* error messages are cut at 512 bytes on a character boundary */
  char msg[700];
  memset (msg, 'e', 600);
  msg[600] = '\0';
  dx_buffer_reset (&out);
  OK (dx_encode_error (&out, "bad_request", msg), "long error message");
  dx_msg_error e;
  OK (dx_msg_decode (out.data, out.len, DX_MSG_FROM_SERVER, &m, &e) && m.text_len == 512,
      "cut to 512 bytes");
  msg[0] = 'x';
  for (int i = 1; i + 1 < 600; i += 2)
    memcpy (msg + i, "\xc3\xa9", 2);
  msg[599] = '\0';
  dx_buffer_reset (&out);
  OK (dx_encode_error (&out, "bad_request", msg)
          && dx_msg_decode (out.data, out.len, DX_MSG_FROM_SERVER, &m, NULL) && m.text_len == 511
          && dx_utf8_valid (m.text, m.text_len),
      "cut to 511 bytes: not inside a 2-byte character");
  /* a longer error message from a peer is cut the same way when decoded */
  char doc[800];
  memset (msg, 'z', 600);
  msg[600] = '\0';
  snprintf (doc, sizeof doc, "{\"type\":\"error\",\"code\":\"x\",\"message\":\"%s\"}", msg);
  OK (dx_msg_decode (doc, strlen (doc), DX_MSG_FROM_SERVER, &m, NULL) && m.text_len == 512
          && strlen (m.text) == 512,
      "decoded error message cut to 512 (stable round trip)");
}

/* ---- HTTP bodies ---- */

typedef struct {
  int n;
  uint64_t ids[8];
  char texts[8][16];
  bool stop_at_2;
} collector;

static bool
on_msg (const dx_msg *m, void *user)
{
  collector *c = user;
  if (c->stop_at_2 && c->n == 2)
    return false;
  if (c->n < 8) {
    c->ids[c->n] = m->id;
    size_t n = m->text_len < sizeof c->texts[0] - 1 ? m->text_len : sizeof c->texts[0] - 1;
    memcpy (c->texts[c->n], m->text, n);
    c->texts[c->n][n] = '\0';
  }
  c->n++;
  return true;
}

typedef struct {
  int n;
  char names[4][40];
  uint64_t last[4], online[4];
} room_collector;

static bool
on_room (const char *name, uint64_t last_id, uint64_t online, void *user)
{
  room_collector *c = user;
  if (c->n < 4) {
    size_t n = strlen (name) < sizeof c->names[0] - 1 ? strlen (name) : sizeof c->names[0] - 1;
    memcpy (c->names[c->n], name, n);
    c->names[c->n][n] = '\0';
    c->last[c->n] = last_id;
    c->online[c->n] = online;
  }
  c->n++;
  return true;
}

static void
test_session_and_post (void)
{
  dx_session_request sr;
  dx_msg_error e;
  dx_buffer_reset (&out);
  OK (dx_encode_session_request (&out, "alice", "pw"), "encode session request");
  STR_IS (out.data, "{\"nick\":\"alice\",\"password\":\"pw\"}", "session request text");
  OK (dx_decode_session_request (out.data, out.len, &sr, &e) && strcmp (sr.nick, "alice") == 0
          && sr.has_password && strcmp (sr.password, "pw") == 0,
      "decode session request");
  const char *j = "{\"nick\":\"bob\",\"extra\":[1]}";
  OK (dx_decode_session_request (j, strlen (j), &sr, &e) && !sr.has_password,
      "session without password");
  static const struct {
    const char *json;
    const char *code, *field;
  } bad[] = {
    { "{\"nick\":\"ticker\"}", "bad_request", "nick" },
    { "{\"nick\":\"server\"}", "bad_request", "nick" },
    { "{\"nick\":\"a b\"}", "bad_request", "nick" },
    { "{\"password\":\"x\"}", "bad_request", "nick" },
    { "{\"nick\":\"a\",\"nick\":\"a\"}", "bad_request", "nick" },
    { "{\"nick\":\"a\",\"password\":null}", "bad_request", "password" },
    { "[]", "bad_request", "" },
    { "", "bad_request", "" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    bool ok = dx_decode_session_request (bad[i].json, strlen (bad[i].json), &sr, &e);
    OK (!ok && strcmp (e.code, bad[i].code) == 0 && strcmp (e.field, bad[i].field) == 0,
        "session %s -> %s '%s'", bad[i].json, bad[i].code, bad[i].field);
  }
  OK (!dx_encode_session_request (&out, "a b", NULL), "encode session bad nick refused");

  dx_post_body pb;
  dx_buffer_reset (&out);
  OK (dx_encode_post_body (&out, "hi\n", 3, "c-17"), "encode post body");
  STR_IS (out.data, "{\"text\":\"hi\\n\",\"cid\":\"c-17\"}", "post body text");
  OK (dx_decode_post_body (out.data, out.len, &pb, &e) && pb.text_len == 3
          && memcmp (pb.text, "hi\n", 3) == 0 && pb.has_cid && strcmp (pb.cid, "c-17") == 0,
      "decode post body");
  j = "{\"text\":\"hi\"}";
  OK (dx_decode_post_body (j, strlen (j), &pb, &e) && !pb.has_cid, "post body without cid");
  char *t = repeat ("a", 4097);
  char *doc = xmalloc (5000);
  snprintf (doc, 5000, "{\"text\":\"%s\"}", t);
  OK (!dx_decode_post_body (doc, strlen (doc), &pb, &e) && strcmp (e.code, "too_large") == 0
          && strcmp (e.field, "text") == 0,
      "post body text 4097 -> too_large 'text'");
  free (doc);
  free (t);
  j = "{\"text\":\"a\\u0000\"}";
  OK (!dx_decode_post_body (j, strlen (j), &pb, &e) && strcmp (e.field, "text") == 0,
      "post body NUL -> bad_request 'text'");
  j = "{\"text\":\"x\",\"cid\":\"\"}";
  OK (!dx_decode_post_body (j, strlen (j), &pb, &e) && strcmp (e.field, "cid") == 0,
      "post body empty cid -> 'cid'");
  /* a body over 64 KiB: too_large; a 20 KiB body (over the line limit) is fine */
  size_t big = 64 * 1024 + 1;
  doc = xmalloc (big + 1);
  memset (doc, ' ', big);
  memcpy (doc, "{\"text\":\"x\"}", 12);
  OK (!dx_decode_post_body (doc, big, &pb, &e) && strcmp (e.code, "too_large") == 0,
      "body of 64 KiB + 1 -> too_large");
  OK (dx_decode_post_body (doc, 20000, &pb, &e), "body of 20000 bytes (whitespace) OK");
  free (doc);

  /* answers */
  char token[DX_TOKEN_MAX + 1], nick[DX_NICK_MAX + 1];
  dx_buffer_reset (&out);
  OK (dx_encode_session_answer (&out, "tok-XYZ", "alice"), "encode session answer");
  STR_IS (out.data, "{\"token\":\"tok-XYZ\",\"nick\":\"alice\"}", "session answer text");
  OK (dx_decode_session_answer (out.data, out.len, token, nick, &e)
          && strcmp (token, "tok-XYZ") == 0 && strcmp (nick, "alice") == 0,
      "decode session answer");
  j = "{\"token\":\"a b\",\"nick\":\"x\"}";
  OK (!dx_decode_session_answer (j, strlen (j), token, nick, &e) && strcmp (e.field, "token") == 0,
      "session answer bad token");

  uint64_t id = 0, ts = 0;
  dx_buffer_reset (&out);
  OK (dx_encode_post_answer (&out, 43, 1763900000456ull), "encode post answer");
  STR_IS (out.data, "{\"id\":43,\"ts\":1763900000456}", "post answer text");
  OK (dx_decode_post_answer (out.data, out.len, &id, &ts, &e) && id == 43 && ts == 1763900000456ull,
      "decode post answer");
  j = "{\"id\":-1,\"ts\":1}";
  OK (!dx_decode_post_answer (j, strlen (j), &id, &ts, &e) && strcmp (e.field, "id") == 0,
      "post answer negative id");

  dx_buffer_reset (&out);
  OK (dx_encode_time (&out, 1763900000999ull), "encode time");
  STR_IS (out.data, "{\"ts\":1763900000999}", "time text");
  OK (dx_decode_time (out.data, out.len, &ts, &e) && ts == 1763900000999ull, "decode time");
  OK (!dx_decode_time ("{}", 2, &ts, &e) && strcmp (e.field, "ts") == 0, "time without ts");

  char code[DX_CODE_MAX + 1], message[DX_ERROR_TEXT_MAX + 1];
  dx_buffer_reset (&out);
  OK (dx_encode_http_error (&out, "too_large", "body over 64 KiB"), "encode http error");
  STR_IS (out.data, "{\"error\":{\"code\":\"too_large\",\"message\":\"body over 64 KiB\"}}",
          "http error text");
  OK (dx_decode_http_error (out.data, out.len, code, message, &e) && strcmp (code, "too_large") == 0
          && strcmp (message, "body over 64 KiB") == 0,
      "decode http error");
  j = "{\"error\":\"x\"}";
  OK (!dx_decode_http_error (j, strlen (j), code, message, &e) && strcmp (e.field, "error") == 0,
      "http error not an object");
  j = "{\"error\":{\"code\":\"BAD\",\"message\":\"x\"}}";
  OK (!dx_decode_http_error (j, strlen (j), code, message, &e) && strcmp (e.field, "code") == 0,
      "http error bad code");
}

static void
test_poll_rooms_info (void)
{
  dx_msg_error e;
  dx_chat_message msgs[3] = {
    { "lobby", 41, "alice", "one", 3, 1000, NULL },
    { "lobby", 42, "bob", "two \"2\"", 7, 1001, "c-1" },
    { "lobby", 43, "ticker", "three", 5, 1002, NULL },
  };
  dx_buffer_reset (&out);
  OK (dx_encode_poll_answer (&out, msgs, 3, 43, "ep0"), "encode poll answer");
  const char *want =
      "{\"messages\":[{\"type\":\"message\",\"room\":\"lobby\",\"id\":41,\"from\":\"alice\","
      "\"text\":\"one\","
      "\"ts\":1000},{\"type\":\"message\",\"room\":\"lobby\",\"id\":42,\"from\":\"bob\",\"text\":"
      "\"two "
      "\\\"2\\\"\",\"ts\":1001,\"cid\":\"c-1\"},{\"type\":\"message\",\"room\":\"lobby\",\"id\":43,"
      "\"from\":\"ticker\",\"text\":\"three\",\"ts\":1002}],\"last_id\":43,\"epoch\":\"ep0\"}";
  STR_IS (out.data, want, "poll answer text");

  /* the same by splicing pre-encoded messages */
  dx_buffer spliced, one;
  dx_buffer_init (&spliced, 0);
  dx_buffer_init (&one, 0);
  bool ok = dx_encode_poll_answer_begin (&spliced);
  for (size_t i = 0; i < 3; i++) {
    dx_buffer_reset (&one);
    ok = ok && dx_encode_message (&one, &msgs[i])
         && dx_encode_poll_answer_item (&spliced, i, one.data, one.len);
  }
  ok = ok && dx_encode_poll_answer_end (&spliced, 43, "ep0");
  OK (ok, "encode poll answer in steps");
  STR_IS (spliced.data, want, "spliced answer is the same bytes");
  dx_buffer_free (&spliced);
  dx_buffer_free (&one);

  collector c;
  memset (&c, 0, sizeof c);
  uint64_t last = 0;
  char epoch[DX_EPOCH_MAX + 1];
  OK (dx_decode_poll_answer (out.data, out.len, on_msg, &c, &last, epoch, &e) && c.n == 3
          && c.ids[0] == 41 && c.ids[2] == 43 && strcmp (c.texts[1], "two \"2\"") == 0 && last == 43
          && strcmp (epoch, "ep0") == 0,
      "decode poll answer");
  memset (&c, 0, sizeof c);
  c.stop_at_2 = true;
  OK (!dx_decode_poll_answer (out.data, out.len, on_msg, &c, &last, epoch, &e) && c.n == 2,
      "callback can stop the decoding");
  dx_buffer_reset (&out);
  OK (dx_encode_poll_answer (&out, NULL, 0, 0, "ep0"), "encode empty poll answer");
  STR_IS (out.data, "{\"messages\":[],\"last_id\":0,\"epoch\":\"ep0\"}", "empty poll answer text");
  memset (&c, 0, sizeof c);
  OK (dx_decode_poll_answer (out.data, out.len, on_msg, &c, &last, epoch, &e) && c.n == 0
          && last == 0,
      "decode empty poll answer");
  const char *j =
      "{\"epoch\":\"e\",\"last_id\":1,\"messages\":[{\"room\":\"a\",\"id\":1,\"from\":\"b\","
      "\"text\":\"x\",\"ts\":1,\"extra\":1}]}";
  memset (&c, 0, sizeof c);
  OK (dx_decode_poll_answer (j, strlen (j), on_msg, &c, &last, epoch, &e) && c.n == 1,
      "poll answer items need no \"type\"; unknown fields ignored");
  j = "{\"epoch\":\"e\",\"last_id\":1,\"messages\":[{\"type\":\"send\",\"room\":\"a\",\"id\":1,"
      "\"from\":\"b\",\"text\":\"x\",\"ts\":1}]}";
  OK (!dx_decode_poll_answer (j, strlen (j), NULL, NULL, &last, epoch, &e)
          && strcmp (e.field, "type") == 0,
      "poll answer item of another type -> 'type'");
  j = "{\"epoch\":\"e\",\"last_id\":1,\"messages\":{}}";
  OK (!dx_decode_poll_answer (j, strlen (j), NULL, NULL, &last, epoch, &e)
          && strcmp (e.field, "messages") == 0,
      "messages not an array");
  j = "{\"epoch\":\"e\",\"messages\":[]}";
  OK (!dx_decode_poll_answer (j, strlen (j), NULL, NULL, &last, epoch, &e)
          && strcmp (e.field, "last_id") == 0,
      "poll answer without last_id");
  j = "{\"epoch\":\"e\",\"last_id\":1,\"messages\":[1]}";
  OK (!dx_decode_poll_answer (j, strlen (j), NULL, NULL, &last, epoch, &e)
          && strcmp (e.code, "bad_request") == 0,
      "poll answer item not an object");
  OK (!dx_encode_poll_answer (&out, msgs, 1, 1, "bad epoch"), "poll answer bad epoch refused");
  OK (!dx_encode_poll_answer_end (&out, 1, NULL), "poll answer end NULL epoch refused");

  /* rooms */
  dx_room_info rooms[2] = { { "lobby", 42, 3 }, { "dev-ops_2", 0, 0 } };
  dx_buffer_reset (&out);
  OK (dx_encode_rooms (&out, rooms, 2), "encode rooms");
  STR_IS (out.data,
          "{\"rooms\":[{\"name\":\"lobby\",\"last_id\":42,\"online\":3},{\"name\":\"dev-ops_2\","
          "\"last_id\":0,\"online\":0}]}",
          "rooms text");
  room_collector rc;
  memset (&rc, 0, sizeof rc);
  OK (dx_decode_rooms (out.data, out.len, on_room, &rc, &e) && rc.n == 2
          && strcmp (rc.names[0], "lobby") == 0 && rc.last[0] == 42 && rc.online[0] == 3
          && strcmp (rc.names[1], "dev-ops_2") == 0,
      "decode rooms");
  dx_buffer_reset (&out);
  OK (dx_encode_rooms (&out, NULL, 0), "encode no rooms");
  STR_IS (out.data, "{\"rooms\":[]}", "no rooms text");
  rooms[1].name = "Bad";
  OK (!dx_encode_rooms (&out, rooms, 2) && strcmp (out.data, "{\"rooms\":[]}") == 0,
      "rooms with a bad name refused, buffer unchanged");
  j = "{\"rooms\":[{\"name\":\"Bad\",\"last_id\":1,\"online\":1}]}";
  OK (!dx_decode_rooms (j, strlen (j), NULL, NULL, &e) && strcmp (e.field, "name") == 0,
      "decode rooms bad name -> 'name'");
  j = "{\"rooms\":[{\"name\":\"a\",\"last_id\":1}]}";
  OK (!dx_decode_rooms (j, strlen (j), NULL, NULL, &e) && strcmp (e.field, "online") == 0,
      "decode rooms missing online");
  j = "{\"rooms\":5}";
  OK (!dx_decode_rooms (j, strlen (j), NULL, NULL, &e) && strcmp (e.field, "rooms") == 0,
      "rooms not an array");

  /* info */
  dx_info info;
  dx_buffer_reset (&out);
  OK (dx_encode_info (&out, "duplexd/0.1.0", "ep0", 8081), "encode info");
  STR_IS (
      out.data,
      "{\"server\":\"duplexd/0.1.0\",\"epoch\":\"ep0\",\"tcp_port\":8081,\"transports\":[\"poll\","
      "\"longpoll\",\"sse\",\"websocket\",\"tcp\"],\"limits\":{\"text_bytes\":4096,\"line_bytes\":"
      "16384}}",
      "info text");
  OK (dx_json_validate (out.data, out.len, NULL, NULL), "info is valid JSON");
  OK (dx_decode_info (out.data, out.len, &info, &e) && strcmp (info.server, "duplexd/0.1.0") == 0
          && strcmp (info.epoch, "ep0") == 0 && info.tcp_port == 8081 && info.text_bytes == 4096
          && info.line_bytes == 16384,
      "decode info");
  dx_buffer_reset (&out);
  OK (dx_encode_info_node (&out, "duplexd/0.1.0", "ep0", 8081, "node-1:8080"),
      "encode info of a node");
  OK (strstr (out.data, "\"node\":\"node-1:8080\",\"cluster\":true,") != NULL
          && dx_json_validate (out.data, out.len, NULL, NULL)
          && dx_decode_info (out.data, out.len, &info, &e) && info.tcp_port == 8081,
      "info of a node: node and cluster, still valid for clients (%s)", out.data);
  dx_buffer_reset (&out);
  OK (!dx_encode_info_node (
          &out, "duplexd/0.1.0", "ep0", 1,
          "a-node-name-longer-than-sixty-four-characters-is-refused-by-the-encoder"),
      "a node name over 64 bytes is refused");
  dx_buffer_reset (&out);
  OK (dx_encode_info (&out, "duplexd/0.1.0", NULL, 0) && strstr (out.data, "epoch") == NULL,
      "info without epoch");
  OK (dx_decode_info (out.data, out.len, &info, &e) && info.epoch[0] == '\0' && info.tcp_port == 0,
      "decode info without epoch");
  j = "{\"server\":\"x\",\"tcp_port\":65536}";
  OK (!dx_decode_info (j, strlen (j), &info, &e) && strcmp (e.field, "tcp_port") == 0,
      "info port 65536 refused");
  j = "{\"server\":\"x\",\"tcp_port\":1,\"limits\":[]}";
  OK (!dx_decode_info (j, strlen (j), &info, &e) && strcmp (e.field, "limits") == 0,
      "info limits not an object");
}

int
main (void)
{
  dx_buffer_init (&out, 0);
  test_round_trips ();
  test_values ();
  test_unknown_and_repeated ();
  test_errors ();
  test_limits ();
  test_ping_pong ();
  test_encoder_checks ();
  test_session_and_post ();
  test_poll_rooms_info ();
  dx_buffer_free (&out);
  return tap_done ();
}
