/* duplexd command line: defaults, every flag, both spellings, and every
 * kind of bad flag (DX_CONFIG_ERROR with a one-line message). */
#include "server/config.h"
#include "server/log.h"

#include "../tap.h"

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

  OK (parse (&c, true, err, sizeof err, 1) == DX_CONFIG_RUN, "no flags runs");
  OK (strcmp (c.http_addr, "127.0.0.1:8080") == 0, "default http");
  OK (strcmp (c.tcp_addr, "127.0.0.1:8081") == 0, "default tcp");
  OK (c.store == DX_STORE_SQLITE, "default store sqlite when built in");
  OK (c.data_dir == NULL && c.ready_file == NULL && c.password == NULL,
      "no data dir, ready file, password by default");
  OK (c.log_level == DX_LOG_INFO, "default log level info");
  OK (!c.no_web, "the web client is served by default");
  OK (parse (&c, true, err, sizeof err, 2, "--no-web") == DX_CONFIG_RUN && c.no_web, "--no-web");
  OK (parse (&c, true, err, sizeof err, 2, "--no-web=1") == DX_CONFIG_ERROR,
      "--no-web takes no value");
  OK (parse (&c, true, err, sizeof err, 1) == DX_CONFIG_RUN && c.udp_addr == NULL,
      "no UDP by default");
  OK (c.send_rate.n == 20 && c.send_rate.s == 1, "--send-rate defaults to 20/1");
  OK (c.session_rate.n == 0, "--session-rate is off by default");
  OK (c.max_conns_per_ip == 0, "--max-conns-per-ip is off by default");
  OK (parse (&c, true, err, sizeof err, 5, "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy",
             "::1")
              == DX_CONFIG_RUN
          && c.n_trusted_proxies == 2,
      "--trusted-proxy is repeatable, IPv4 and IPv6");
  OK (parse (&c, true, err, sizeof err, 3, "--trusted-proxy", "10.0.0.0/33") == DX_CONFIG_ERROR,
      "--trusted-proxy needs a CIDR");
  OK (parse (&c, true, err, sizeof err, 3, "--max-conns-per-ip", "8") == DX_CONFIG_RUN
          && c.max_conns_per_ip == 8,
      "--max-conns-per-ip N");
  OK (parse (&c, true, err, sizeof err, 3, "--max-conns-per-ip", "x") == DX_CONFIG_ERROR,
      "--max-conns-per-ip needs a number");
  OK (parse (&c, true, err, sizeof err, 3, "--session-rate", "3/60") == DX_CONFIG_RUN
          && c.session_rate.n == 3 && c.session_rate.s == 60,
      "--session-rate N/S");
  OK (parse (&c, true, err, sizeof err, 3, "--password-file", "pw.txt") == DX_CONFIG_RUN
          && strcmp (c.password_file, "pw.txt") == 0 && c.password == NULL,
      "--password-file FILE");
  OK (parse (&c, true, err, sizeof err, 5, "--password-file", "pw.txt", "--password", "x")
              == DX_CONFIG_ERROR
          && strstr (err, "--password-file") != NULL,
      "--password and --password-file exclude each other");
  {
    char a[] = "s3cret  \t\r\nsecond line\n", b[] = "only", c2[] = "  \nx", d[] = "";
    STR_IS (dx_config_password_line (a), "s3cret",
            "the first line, without CRLF and trailing spaces");
    STR_IS (dx_config_password_line (b), "only", "a file without a line end");
    OK (dx_config_password_line (c2) == NULL && dx_config_password_line (d) == NULL,
        "an empty first line is no password");
  }
  OK (parse (&c, true, err, sizeof err, 3, "--send-rate", "0/1") == DX_CONFIG_RUN
          && c.send_rate.n == 0,
      "--send-rate 0/1 turns it off");
  OK (parse (&c, true, err, sizeof err, 3, "--send-rate", "5") == DX_CONFIG_ERROR
          && strstr (err, "--send-rate") != NULL,
      "--send-rate needs N/S");
  OK (parse (&c, true, err, sizeof err, 3, "--udp", "127.0.0.1:0") == DX_CONFIG_RUN && c.udp_addr
          && strcmp (c.udp_addr, "127.0.0.1:0") == 0,
      "--udp ADDR:PORT");
  OK (parse (&c, true, err, sizeof err, 2, "--udp=[::1]:9000") == DX_CONFIG_RUN, "--udp=[v6]:PORT");
  /* --tls-cert/--tls-key (docs/protocol.md §9): both or neither; a build
   * without OpenSSL refuses them with a message saying so. */
  OK (c.tls_cert == NULL && c.tls_key == NULL, "no TLS by default");
  dx_config_result tr =
      parse (&c, true, err, sizeof err, 4, "--tls-cert", "c.pem", "--tls-key=k.pem");
  OK ((tr == DX_CONFIG_RUN && strcmp (c.tls_cert, "c.pem") == 0 && strcmp (c.tls_key, "k.pem") == 0)
          || (tr == DX_CONFIG_ERROR && strstr (err, "without TLS") != NULL),
      "--tls-cert FILE --tls-key=FILE");
  OK (parse (&c, true, err, sizeof err, 3, "--tls-cert", "c.pem") == DX_CONFIG_ERROR
          && strstr (err, "--tls-") != NULL,
      "--tls-cert alone: usage error");
  OK (parse (&c, true, err, sizeof err, 3, "--tls-key", "k.pem") == DX_CONFIG_ERROR
          && strstr (err, "--tls-") != NULL,
      "--tls-key alone: usage error");
  OK (parse (&c, true, err, sizeof err, 3, "--udp", "nowhere") == DX_CONFIG_ERROR
          && strstr (err, "--udp") != NULL,
      "--udp without a port: usage error naming the flag");
  parse (&c, false, err, sizeof err, 1);
  OK (c.store == DX_STORE_MEMORY, "default store memory without sqlite");

  OK (parse (&c, true, err, sizeof err, 15, "--http", "0.0.0.0:0", "--tcp=[::1]:9000", "--data-dir",
             "/var/lib/x", "--store", "memory", "--ready-file", "/tmp/r", "--password=s3cret",
             "--log-level", "debug", "--ticker", "lobby:250")
          == DX_CONFIG_RUN,
      "every flag parses (%s)", err);
  OK (strcmp (c.http_addr, "0.0.0.0:0") == 0, "--http value");
  OK (strcmp (c.tcp_addr, "[::1]:9000") == 0, "--tcp=value with IPv6");
  OK (strcmp (c.data_dir, "/var/lib/x") == 0, "--data-dir");
  OK (c.store == DX_STORE_MEMORY, "--store memory");
  OK (strcmp (c.ready_file, "/tmp/r") == 0, "--ready-file");
  OK (strcmp (c.password, "s3cret") == 0, "--password=");
  OK (c.log_level == DX_LOG_DEBUG, "--log-level debug");
  OK (c.n_tickers == 1 && strcmp (c.tickers[0].room, "lobby") == 0 && c.tickers[0].ms == 250,
      "--ticker lobby:250");
  OK (parse (&c, true, err, sizeof err, 5, "--ticker", "a:1", "--ticker", "b-2:1000")
              == DX_CONFIG_RUN
          && c.n_tickers == 2,
      "two tickers");
  OK (c.tickers[0].script == NULL, "ROOM:MS has no script");
  OK (parse (&c, true, err, sizeof err, 4, "--ticker", "demo:5000:data/demo/baseball-ko.txt",
             "--ticker=win:20:C:\\Duplex\\share\\demo.txt")
              == DX_CONFIG_RUN
          && c.n_tickers == 2,
      "ROOM:MS:FILE (%s)", err);
  OK (strcmp (c.tickers[0].room, "demo") == 0 && c.tickers[0].ms == 5000
          && strcmp (c.tickers[0].script, "data/demo/baseball-ko.txt") == 0,
      "--ticker demo:5000:FILE");
  OK (strcmp (c.tickers[1].room, "win") == 0 && c.tickers[1].ms == 20
          && strcmp (c.tickers[1].script, "C:\\Duplex\\share\\demo.txt") == 0,
      "a FILE with a colon of its own (a Windows drive)");

  OK (parse (&c, true, err, sizeof err, 2, "--help") == DX_CONFIG_HELP, "--help");
  OK (parse (&c, true, err, sizeof err, 2, "--version") == DX_CONFIG_VERSION, "--version");
  OK (strstr (dx_config_usage (), "--ready-file") != NULL, "usage lists the flags");

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
    { "--ticker", "lobby:100:", "empty script file" },
    { "--ticker", "lobby::f.txt", "script without an interval" },
    { "--ticker", "lobby:0:f.txt", "script with a zero interval" },
    { "--ticker", "Lobby:100:f.txt", "script with a bad room" },
    { "--password", "", "empty password" },
    { "--data-dir", "", "empty data dir" },
    { "--help=1", NULL, "value on a flag without one" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    dx_config_result r = bad[i].b ? parse (&c, true, err, sizeof err, 3, bad[i].a, bad[i].b)
                                  : parse (&c, true, err, sizeof err, 2, bad[i].a);
    OK (r == DX_CONFIG_ERROR && err[0] != '\0' && strchr (err, '\n') == NULL, "rejected: %s (%s)",
        bad[i].why, err);
  }
  OK (parse (&c, false, err, sizeof err, 3, "--store", "sqlite") == DX_CONFIG_ERROR
          && strstr (err, "SQLite") != NULL,
      "--store sqlite without sqlite is a usage error (%s)", err);

  /* Several nodes (docs/protocol.md §7). */
  parse (&c, true, err, sizeof err, 1);
  OK (c.redis_url == NULL && c.node_id == NULL && c.history == 100000,
      "no --redis, no node id, history 100000 by default");
  OK (parse (&c, true, err, sizeof err, 3, "--node-id", "a b") == DX_CONFIG_ERROR,
      "a node id with a space is refused (%s)", err);
  OK (parse (&c, true, err, sizeof err, 3, "--history", "0") == DX_CONFIG_ERROR,
      "--history 0 is refused (%s)", err);
  OK (parse (&c, true, err, sizeof err, 5, "--history", "250", "--node-id", "n-1") == DX_CONFIG_RUN
          && c.history == 250 && strcmp (c.node_id, "n-1") == 0,
      "--history 250 --node-id n-1");
#ifdef DX_HAVE_REDIS
  OK (parse (&c, true, err, sizeof err, 3, "--redis", "redis://:pw@127.0.0.1:6380/2")
              == DX_CONFIG_RUN
          && strcmp (c.redis_url, "redis://:pw@127.0.0.1:6380/2") == 0,
      "--redis URL");
  OK (parse (&c, true, err, sizeof err, 3, "--redis", "http://x") == DX_CONFIG_ERROR
          && strstr (err, "redis://") != NULL,
      "--redis with another scheme is a usage error (%s)", err);
#else
  OK (parse (&c, true, err, sizeof err, 3, "--redis", "redis://127.0.0.1:6379") == DX_CONFIG_ERROR
          && strstr (err, "without Redis") != NULL,
      "--redis without hiredis is a usage error (%s)", err);
#endif

  OK (dx_config_addr_valid (":8080"), "':8080' (all interfaces) is valid");
  OK (dx_config_addr_valid ("localhost:0"), "host name is valid");
  OK (!dx_config_addr_valid ("a:b:80"), "bare IPv6 without brackets is not");
  return tap_done ();
}
