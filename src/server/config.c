#include "server/config.h"

#include "protocol/names.h"
#include "server/log.h"
#include "server/redis-url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "Usage: duplexd [OPTION]...\n"
    "Duplex chat server: HTTP polling, long polling, SSE, WebSocket, raw TCP.\n"
    "\n"
    "  --http ADDR:PORT        HTTP/1.1 + WebSocket listener (default "
    "127.0.0.1:8080)\n"
    "  --tcp ADDR:PORT         raw TCP (NDJSON) listener (default 127.0.0.1:8081)\n"
    "  --data-dir DIR          history database directory (default: platform "
    "data dir)\n"
    "  --store sqlite|memory   history store (default sqlite where built in)\n"
    "  --ready-file PATH       write {\"http\":P1,\"tcp\":P2} once listening\n"
    "  --ticker ROOM:MS[:FILE] post a generated line (or FILE's next line) to ROOM\n"
    "                          every MS ms; FILE is played in a loop\n"
    "  --password SECRET       require SECRET on session and hello\n"
    "  --password-file FILE    the same, SECRET being FILE's first line\n"
    "  --log-level LEVEL       error, warn, info (default) or debug\n"
    "  --no-web                do not serve the web client at /\n"
    "  --redis URL             several nodes: redis://[:PASSWORD@]HOST:PORT[/DB]\n"
    "  --node-id NAME          this node's name with --redis (default: its HTTP HOST:PORT)\n"
    "  --history N             messages kept per room with --redis (default 100000)\n"
    "  --udp ADDR:PORT         also serve the chat over UDP datagrams (off by default)\n"
    "  --tls-cert FILE         PEM certificate (chain): HTTPS/WSS and TLS on the TCP port\n"
    "  --tls-key FILE          PEM private key of --tls-cert (both or neither)\n"
    "  --send-rate N/S         sends per token: N per S seconds, bursts of 2N (default\n"
    "                          20/1; 0/1 turns it off)\n"
    "  --session-rate N/S      sessions created per client IP (default off)\n"
    "  --max-conns-per-ip N    open TCP connections per client IP (default off)\n"
    "  --trusted-proxy CIDR    a proxy whose X-Forwarded-For / PROXY v1 names the\n"
    "                          client (repeatable)\n"
    "  --max-delivery-ms MS    refuse sends (rate_limited / 429, with a retry time) to a\n"
    "                          room whose messages wait over MS/2 ms for their fan-out,\n"
    "                          so that accepted ones reach members within about MS\n"
    "                          (default 250; 0 turns it off)\n"
    "  --help                  show this help and exit\n"
    "  --version               show the version and exit\n"
    "\n"
    "Port 0 binds any free port.\n";

char *
dx_config_password_line (char *data)
{
  size_t n = strcspn (data, "\r\n");
  while (n > 0 && (data[n - 1] == ' ' || data[n - 1] == '\t'))
    n--;
  data[n] = '\0';
  return n > 0 ? data : NULL;
}

const char *
dx_config_usage (void)
{
  return usage_text;
}

void
dx_config_defaults (dx_config *cfg, bool have_sqlite)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->http_addr = "127.0.0.1:8080";
  cfg->tcp_addr = "127.0.0.1:8081";
  cfg->store = have_sqlite ? DX_STORE_SQLITE : DX_STORE_MEMORY;
  cfg->log_level = DX_LOG_INFO;
  cfg->history = DX_CONFIG_HISTORY_DEFAULT;
  cfg->send_rate = (dx_rate){ 20, 1 };
  cfg->max_delivery_ms = DX_CONFIG_MAX_DELIVERY_MS_DEFAULT;
}

static bool
parse_uint (const char *s, unsigned long max, unsigned long *out)
{
  if (*s == '\0' || strlen (s) > 10)
    return false;
  unsigned long v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return false;
    v = v * 10 + (unsigned long) (*s - '0');
  }
  if (v > max)
    return false;
  *out = v;
  return true;
}

bool
dx_config_addr_valid (const char *s)
{
  const char *colon = strrchr (s, ':');
  if (colon == NULL)
    return false;
  size_t hostlen = (size_t) (colon - s);
  if (hostlen > 255)
    return false;
  if (hostlen > 0 && s[0] == '[') {
    if (s[hostlen - 1] != ']' || hostlen < 3)
      return false;
  } else {
    for (size_t i = 0; i < hostlen; i++)
      if (s[i] == ':' || s[i] == '[' || s[i] == ']' || s[i] == ' ')
        return false;
  }
  unsigned long port;
  return parse_uint (colon + 1, 65535, &port);
}

/* ROOM:MS or ROOM:MS:FILE. Neither a room nor MS holds a ':', so FILE is
 * everything after the second one (a Windows path keeps its "C:"). */
static bool
parse_ticker (const char *s, dx_ticker_spec *t)
{
  const char *colon = strchr (s, ':');
  if (colon == NULL || !dx_room_valid (s, (size_t) (colon - s)))
    return false;
  const char *ms_text = colon + 1;
  const char *file = strchr (ms_text, ':');
  char digits[12];
  size_t ndigits = file ? (size_t) (file - ms_text) : strlen (ms_text);
  if (ndigits >= sizeof digits || (file && file[1] == '\0'))
    return false;
  memcpy (digits, ms_text, ndigits);
  digits[ndigits] = '\0';
  unsigned long ms;
  if (!parse_uint (digits, 86400000UL, &ms) || ms == 0)
    return false;
  memcpy (t->room, s, (size_t) (colon - s));
  t->room[colon - s] = '\0';
  t->ms = (unsigned) ms;
  t->script = file ? file + 1 : NULL;
  return true;
}

enum {
  OPT_HTTP,
  OPT_TCP,
  OPT_DATA_DIR,
  OPT_STORE,
  OPT_READY,
  OPT_TICKER,
  OPT_PASSWORD,
  OPT_LOG_LEVEL,
  OPT_HELP,
  OPT_VERSION,
  OPT_NO_WEB,
  OPT_REDIS,
  OPT_NODE_ID,
  OPT_HISTORY,
  OPT_UDP,
  OPT_TLS_CERT,
  OPT_TLS_KEY,
  OPT_SEND_RATE,
  OPT_SESSION_RATE,
  OPT_MAX_CONNS,
  OPT_TRUSTED_PROXY,
  OPT_PW_FILE,
  OPT_MAX_DELIVERY,
};

static const struct {
  const char *name;
  int id;
  bool has_arg;
} options[] = {
  { "--http", OPT_HTTP, true },
  { "--tcp", OPT_TCP, true },
  { "--data-dir", OPT_DATA_DIR, true },
  { "--store", OPT_STORE, true },
  { "--ready-file", OPT_READY, true },
  { "--ticker", OPT_TICKER, true },
  { "--password", OPT_PASSWORD, true },
  { "--log-level", OPT_LOG_LEVEL, true },
  { "--help", OPT_HELP, false },
  { "--version", OPT_VERSION, false },
  { "--no-web", OPT_NO_WEB, false },
  { "--redis", OPT_REDIS, true },
  { "--node-id", OPT_NODE_ID, true },
  { "--history", OPT_HISTORY, true },
  { "--udp", OPT_UDP, true },
  { "--tls-cert", OPT_TLS_CERT, true },
  { "--tls-key", OPT_TLS_KEY, true },
  { "--password-file", OPT_PW_FILE, true },
  { "--send-rate", OPT_SEND_RATE, true },
  { "--session-rate", OPT_SESSION_RATE, true },
  { "--max-conns-per-ip", OPT_MAX_CONNS, true },
  { "--trusted-proxy", OPT_TRUSTED_PROXY, true },
  { "--max-delivery-ms", OPT_MAX_DELIVERY, true },
};

/* --redis, --node-id, --history: false with err set. */
static bool
parse_cluster_option (dx_config *cfg, int id, const char *val, char *err, size_t errlen)
{
  if (id == OPT_REDIS) {
#ifdef DX_HAVE_REDIS
    dx_redis_url url;
    char why[160];
    if (!dx_redis_url_parse (val, &url, why, sizeof why)) {
      snprintf (err, errlen, "--redis: %s", why);
      return false;
    }
    cfg->redis_url = val;
    return true;
#else
    snprintf (err, errlen, "--redis: this duplexd was built without Redis support (hiredis)");
    return false;
#endif
  }
  if (id == OPT_NODE_ID) {
    size_t len = strlen (val);
    bool ok = len >= 1 && len <= 64;
    for (size_t i = 0; ok && i < len; i++)
      ok = val[i] > 0x20 && val[i] < 0x7f && val[i] != '"' && val[i] != '\\';
    if (!ok) {
      snprintf (err, errlen, "--node-id: 1-64 printable characters, no space or quote");
      return false;
    }
    cfg->node_id = val;
    return true;
  }
  char *end = NULL;
  unsigned long long n = strtoull (val, &end, 10);
  if (*val < '0' || *val > '9' || *end != '\0' || n < 1 || n > 100000000ULL) {
    snprintf (err, errlen, "--history: '%.32s' is not a number of messages (1-100000000)", val);
    return false;
  }
  cfg->history = (size_t) n;
  return true;
}

/* --tls-cert and --tls-key come together (docs/protocol.md §9). */
static dx_config_result
check_tls_pair (const dx_config *cfg, char *err, size_t errlen)
{
  if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
    snprintf (err, errlen, "%s needs %s too", cfg->tls_cert ? "--tls-cert" : "--tls-key",
              cfg->tls_cert ? "--tls-key" : "--tls-cert");
    return DX_CONFIG_ERROR;
  }
  return DX_CONFIG_RUN;
}

dx_config_result
dx_config_parse (dx_config *cfg, int argc, char **argv, bool have_sqlite, char *err, size_t errlen)
{
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *eq = strchr (arg, '=');
    size_t namelen = eq ? (size_t) (eq - arg) : strlen (arg);
    int found = -1;
    for (size_t k = 0; k < sizeof options / sizeof options[0]; k++)
      if (strlen (options[k].name) == namelen && strncmp (options[k].name, arg, namelen) == 0)
        found = (int) k;
    if (found < 0) {
      snprintf (err, errlen, "unknown option '%.*s' (try --help)",
                (int) (namelen > 64 ? 64 : namelen), arg);
      return DX_CONFIG_ERROR;
    }
    const char *name = options[found].name;
    const char *val = NULL;
    if (options[found].has_arg) {
      if (eq)
        val = eq + 1;
      else if (i + 1 < argc)
        val = argv[++i];
      else {
        snprintf (err, errlen, "option %s needs a value", name);
        return DX_CONFIG_ERROR;
      }
    } else if (eq) {
      snprintf (err, errlen, "option %s takes no value", name);
      return DX_CONFIG_ERROR;
    }

    switch (options[found].id) {
    case OPT_HTTP:
    case OPT_TCP:
      if (!dx_config_addr_valid (val)) {
        snprintf (err, errlen, "%s: '%.64s' is not ADDR:PORT with a port 0-65535", name, val);
        return DX_CONFIG_ERROR;
      }
      if (options[found].id == OPT_HTTP)
        cfg->http_addr = val;
      else
        cfg->tcp_addr = val;
      break;
    case OPT_DATA_DIR:
      if (*val == '\0') {
        snprintf (err, errlen, "--data-dir: empty path");
        return DX_CONFIG_ERROR;
      }
      cfg->data_dir = val;
      break;
    case OPT_STORE:
      if (strcmp (val, "memory") == 0)
        cfg->store = DX_STORE_MEMORY;
      else if (strcmp (val, "sqlite") == 0) {
        if (!have_sqlite) {
          snprintf (err, errlen,
                    "--store sqlite: this duplexd was built without "
                    "SQLite (use --store memory)");
          return DX_CONFIG_ERROR;
        }
        cfg->store = DX_STORE_SQLITE;
      } else {
        snprintf (err, errlen, "--store: '%.64s' is not 'sqlite' or 'memory'", val);
        return DX_CONFIG_ERROR;
      }
      break;
    case OPT_READY:
      if (*val == '\0') {
        snprintf (err, errlen, "--ready-file: empty path");
        return DX_CONFIG_ERROR;
      }
      cfg->ready_file = val;
      break;
    case OPT_TICKER:
      if (cfg->n_tickers == DX_CONFIG_MAX_TICKERS) {
        snprintf (err, errlen, "--ticker: at most %d tickers", DX_CONFIG_MAX_TICKERS);
        return DX_CONFIG_ERROR;
      }
      if (!parse_ticker (val, &cfg->tickers[cfg->n_tickers])) {
        snprintf (err, errlen,
                  "--ticker: '%.64s' is not ROOM:MS or ROOM:MS:FILE (room " DX_ROOM_RULE ","
                  " MS 1-86400000)",
                  val);
        return DX_CONFIG_ERROR;
      }
      cfg->n_tickers++;
      break;
    case OPT_PASSWORD:
      if (*val == '\0') {
        snprintf (err, errlen, "--password: empty secret");
        return DX_CONFIG_ERROR;
      }
      cfg->password = val;
      break;
    case OPT_LOG_LEVEL: {
      int lvl = dx_log_level_parse (val);
      if (lvl < 0) {
        snprintf (err, errlen,
                  "--log-level: '%.64s' is not error, warn, info or "
                  "debug",
                  val);
        return DX_CONFIG_ERROR;
      }
      cfg->log_level = lvl;
    } break;
    case OPT_REDIS:
    case OPT_NODE_ID:
    case OPT_HISTORY:
      if (!parse_cluster_option (cfg, options[found].id, val, err, errlen))
        return DX_CONFIG_ERROR;
      break;
    case OPT_HELP: return DX_CONFIG_HELP;
    case OPT_VERSION: return DX_CONFIG_VERSION;
    case OPT_NO_WEB: cfg->no_web = true; break;
    case OPT_UDP:
      if (!dx_config_addr_valid (val)) {
        snprintf (err, errlen, "%s: '%.64s' is not ADDR:PORT with a port 0-65535", name, val);
        return DX_CONFIG_ERROR;
      }
      cfg->udp_addr = val;
      break;
    case OPT_TLS_CERT:
    case OPT_TLS_KEY:
#ifndef DX_HAVE_TLS
      snprintf (err, errlen, "%s: this duplexd was built without TLS (no OpenSSL)", name);
      return DX_CONFIG_ERROR;
#endif
      if (*val == '\0') {
        snprintf (err, errlen, "%s: empty path", name);
        return DX_CONFIG_ERROR;
      }
      *(options[found].id == OPT_TLS_CERT ? &cfg->tls_cert : &cfg->tls_key) = val;
      break;
    case OPT_PW_FILE:
      if (*val == '\0') {
        snprintf (err, errlen, "--password-file: empty file name");
        return DX_CONFIG_ERROR;
      }
      cfg->password_file = val;
      break;
    case OPT_TRUSTED_PROXY:
      if (cfg->n_trusted_proxies == DX_CONFIG_MAX_PROXIES
          || !dx_cidr_parse (val, &cfg->trusted_proxies[cfg->n_trusted_proxies])) {
        snprintf (err, errlen, "%s: '%.64s' is not an IPv4 or IPv6 CIDR (at most %d)", name, val,
                  DX_CONFIG_MAX_PROXIES);
        return DX_CONFIG_ERROR;
      }
      cfg->n_trusted_proxies++;
      break;
    case OPT_MAX_CONNS: {
      unsigned long n;
      if (!parse_uint (val, 1000000, &n)) {
        snprintf (err, errlen, "%s: '%.64s' is not a number 0-1000000", name, val);
        return DX_CONFIG_ERROR;
      }
      cfg->max_conns_per_ip = (unsigned) n;
    } break;
    case OPT_MAX_DELIVERY: {
      unsigned long n;
      if (!parse_uint (val, 60000, &n)) {
        snprintf (err, errlen, "%s: '%.64s' is not a number of ms 0-60000", name, val);
        return DX_CONFIG_ERROR;
      }
      cfg->max_delivery_ms = (unsigned) n;
    } break;
    case OPT_SEND_RATE:
    case OPT_SESSION_RATE:
      if (!dx_rate_parse (val, options[found].id == OPT_SEND_RATE ? &cfg->send_rate
                                                                  : &cfg->session_rate)) {
        snprintf (err, errlen, "%s: '%.64s' is not N/S (N 0-1000000, S 1-86400)", name, val);
        return DX_CONFIG_ERROR;
      }
      break;
    default: break;
    }
  }
  if (cfg->password && cfg->password_file) {
    snprintf (err, errlen, "--password and --password-file: give one of them");
    return DX_CONFIG_ERROR;
  }
  return check_tls_pair (cfg, err, errlen);
}
