/* duplexd command line (docs/protocol.md §1). Pure: parses argv into a struct,
 * touches no file and no socket, so it is unit-tested directly. */
#ifndef DX_SERVER_CONFIG_H
#define DX_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/proxy.h"
#include "protocol/token-bucket.h"
#include "server/store.h"

#define DX_CONFIG_MAX_TICKERS 16
#define DX_CONFIG_MAX_PROXIES 16


typedef struct {
  char room[33];
  unsigned ms;
  const char *script; /* ROOM:MS:FILE: the file (in argv); NULL: generated lines */
} dx_ticker_spec;

typedef struct {
  const char *http_addr; /* "127.0.0.1:8080" */
  const char *tcp_addr;  /* "127.0.0.1:8081" */
  const char *data_dir;  /* NULL: the platform data dir */
  dx_store_kind store;
  const char *ready_file;    /* NULL: none */
  const char *password;      /* NULL: none */
  const char *password_file; /* --password-file: main reads it into password */
  int log_level;             /* dx_log_level */
  dx_ticker_spec tickers[DX_CONFIG_MAX_TICKERS];
  size_t n_tickers;
  bool no_web; /* --no-web: "/" and "/web/..." answer 404 */
  /* Several nodes (docs/protocol.md §7): NULL without --redis. */
  const char *redis_url; /* checked by dx_redis_url_parse */
  const char *node_id;   /* NULL: the HTTP listener's HOST:PORT */
  size_t history;        /* messages kept per room in Redis */
  /* --udp ADDR:PORT (docs/protocol.md §8); NULL: no UDP. */
  const char *udp_addr;
  /* --tls-cert FILE --tls-key FILE (docs/protocol.md §9); NULL: plain. */
  const char *tls_cert;
  const char *tls_key;
  /* Limits (docs/protocol.md §9). --send-rate: default 20/1. */
  dx_rate send_rate;
  dx_rate session_rate;      /* --session-rate per client IP: off (0/1) by default */
  unsigned max_conns_per_ip; /* --max-conns-per-ip: 0 off */
  dx_cidr trusted_proxies[DX_CONFIG_MAX_PROXIES]; /* --trusted-proxy CIDR, repeatable */
  size_t n_trusted_proxies;
  /* --max-delivery-ms (docs/protocol.md §9, delivery bound): sends to a
   * room whose fan-out is behind are refused; 0 off. */
  unsigned max_delivery_ms;
} dx_config;

#define DX_CONFIG_MAX_DELIVERY_MS_DEFAULT 250

#define DX_CONFIG_HISTORY_DEFAULT 100000

typedef enum {
  DX_CONFIG_RUN = 0,     /* start the server */
  DX_CONFIG_HELP = 1,    /* --help printed: exit 0 */
  DX_CONFIG_VERSION = 2, /* --version: exit 0 */
  DX_CONFIG_ERROR = 3,   /* bad flags: err holds one line, exit 2 */
} dx_config_result;

/* Fills cfg with the defaults (sqlite when have_sqlite). */
void dx_config_defaults (dx_config *cfg, bool have_sqlite);
/* Parses argv[1..argc) ("--flag value" and "--flag=value"). cfg keeps
 * pointers into argv. On DX_CONFIG_ERROR err gets a one-line message. */
dx_config_result dx_config_parse (dx_config *cfg, int argc, char **argv, bool have_sqlite,
                                  char *err, size_t errlen);
/* --password-file (docs/protocol.md §9): the password is the file's first
 * line without its line end and trailing spaces. Cuts data in place and
 * returns it, or NULL if that line is empty. */
char *dx_config_password_line (char *data);
/* The --help text. */
const char *dx_config_usage (void);
/* true iff s is "HOST:PORT" with PORT 0..65535 (HOST may be empty or
 * "[v6]"). */
bool dx_config_addr_valid (const char *s);

#endif
