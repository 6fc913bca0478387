/* duplexd command line: defaults, every flag, both spellings, and every
 * kind of bad flag (DX_CONFIG_ERROR with a one-line message). */
#include "server/config.h"
#include "server/log.h"

#include "server-tap.h"

#include <stdarg.h>
#include <string.h>

static dx_config_result
parse (dx_config *cfg, bool sqlite, char *err, size_t errlen, int argc, ...)
{
  char *argv[32];
  va_list ap;
  va_start (ap, argc);
  argv[0] = (char *) "duplexd";
  for (int i = 1; i < argc; i++)
    argv[i] = va_arg (ap, char *);
  va_end (ap);
  dx_config_defaults (cfg, sqlite);
  err[0] = '\0';
  return dx_config_parse (cfg, argc, argv, sqlite, err, errlen);
}

int
main (void)
{
  dx_config c;
  char err[256];

  TAP_OK (parse (&c, true, err, sizeof err, 1) == DX_CONFIG_RUN, "no flags runs");
  TAP_OK (strcmp (c.http_addr, "127.0.0.1:8080") == 0, "default http");
  TAP_OK (strcmp (c.tcp_addr, "127.0.0.1:8081") == 0, "default tcp");
  TAP_OK (c.store == DX_STORE_SQLITE, "default store sqlite when built in");
  TAP_OK (c.data_dir == NULL && c.ready_file == NULL && c.password == NULL,
          "no data dir, ready file, password by default");
  TAP_OK (c.log_level == DX_LOG_INFO, "default log level info");
  parse (&c, false, err, sizeof err, 1);
  TAP_OK (c.store == DX_STORE_MEMORY, "default store memory without sqlite");

  TAP_OK (parse (&c, true, err, sizeof err, 15, "--http", "0.0.0.0:0", "--tcp=[::1]:9000",
                 "--data-dir", "/var/lib/x", "--store", "memory", "--ready-file", "/tmp/r",
                 "--password=s3cret", "--log-level", "debug", "--ticker", "lobby:250")
              == DX_CONFIG_RUN,
          "every flag parses (%s)", err);
  TAP_OK (strcmp (c.http_addr, "0.0.0.0:0") == 0, "--http value");
  TAP_OK (strcmp (c.tcp_addr, "[::1]:9000") == 0, "--tcp=value with IPv6");
  TAP_OK (strcmp (c.data_dir, "/var/lib/x") == 0, "--data-dir");
  TAP_OK (c.store == DX_STORE_MEMORY, "--store memory");
  TAP_OK (strcmp (c.ready_file, "/tmp/r") == 0, "--ready-file");
  TAP_OK (strcmp (c.password, "s3cret") == 0, "--password=");
  TAP_OK (c.log_level == DX_LOG_DEBUG, "--log-level debug");
  TAP_OK (c.n_tickers == 1 && strcmp (c.tickers[0].room, "lobby") == 0
              && c.tickers[0].ms == 250,
          "--ticker lobby:250");
  TAP_OK (parse (&c, true, err, sizeof err, 5, "--ticker", "a:1", "--ticker", "b-2:1000")
              == DX_CONFIG_RUN && c.n_tickers == 2,
          "two tickers");

  TAP_OK (parse (&c, true, err, sizeof err, 2, "--help") == DX_CONFIG_HELP, "--help");
  TAP_OK (parse (&c, true, err, sizeof err, 2, "--version") == DX_CONFIG_VERSION, "--version");
  TAP_OK (strstr (dx_config_usage (), "--ready-file") != NULL, "usage lists the flags");

  static const struct {
    const char *a, *b;
    const char *why;
  } bad[] = {
    { "--bogus", NULL, "unknown option" },
    { "-h", NULL, "unknown short option" },
    { "--http", NULL, "missing value" },
    { "--http", "8080", "no colon" },
    { "--http", "127.0.0.1:65536", "port too big" },
    { "--http", "127.0.0.1:", "empty port" },
    { "--http", "127.0.0.1:8o", "port not digits" },
    { "--tcp", "[::1:80", "unclosed bracket" },
    { "--store", "redis", "unknown store" },
    { "--log-level", "verbose", "unknown level" },
    { "--ticker", "Lobby:100", "bad room" },
    { "--ticker", "lobby:0", "zero interval" },
    { "--ticker", "lobby", "no interval" },
    { "--ticker", "lobby:abc", "interval not digits" },
    { "--password", "", "empty password" },
    { "--data-dir", "", "empty data dir" },
    { "--help=1", NULL, "value on a flag without one" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      dx_config_result r = bad[i].b ? parse (&c, true, err, sizeof err, 3, bad[i].a, bad[i].b)
                                    : parse (&c, true, err, sizeof err, 2, bad[i].a);
      TAP_OK (r == DX_CONFIG_ERROR && err[0] != '\0' && strchr (err, '\n') == NULL,
              "rejected: %s (%s)", bad[i].why, err);
    }
  TAP_OK (parse (&c, false, err, sizeof err, 3, "--store", "sqlite") == DX_CONFIG_ERROR
              && strstr (err, "SQLite") != NULL,
          "--store sqlite without sqlite is a usage error (%s)", err);

  TAP_OK (dx_config_addr_valid (":8080"), "':8080' (all interfaces) is valid");
  TAP_OK (dx_config_addr_valid ("localhost:0"), "host name is valid");
  TAP_OK (!dx_config_addr_valid ("a:b:80"), "bare IPv6 without brackets is not");
  TAP_DONE ();
}
