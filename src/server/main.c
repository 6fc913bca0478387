/* duplexd: the Duplex chat server. Everything is in server_lib; this only
 * turns the command line into a config and an exit status. */
#include "platform/loop.h"
#include "server/config.h"
#include "server/log.h"
#include "server/server.h"
#include "server/store.h"

#include <stdio.h>

#ifndef DUPLEX_VERSION
#define DUPLEX_VERSION "0.0.0"
#endif

int
main (int argc, char **argv)
{
  dx_config cfg;
  bool have_sqlite = dx_store_sqlite_available ();
  dx_config_defaults (&cfg, have_sqlite);
  char err[512];
  switch (dx_config_parse (&cfg, argc, argv, have_sqlite, err, sizeof err)) {
  case DX_CONFIG_HELP: fputs (dx_config_usage (), stdout); return 0;
  case DX_CONFIG_VERSION: printf ("duplexd %s\n", DUPLEX_VERSION); return 0;
  case DX_CONFIG_ERROR: fprintf (stderr, "duplexd: %s\n", err); return 2;
  case DX_CONFIG_RUN: break;
  }
  dx_log_set_level ((dx_log_level) cfg.log_level);

  int lerr = 0;
  dx_loop *loop = dx_loop_new (&lerr);
  if (loop == NULL) {
    fprintf (stderr, "duplexd: cannot create the event loop: %s\n", dx_strerror (lerr));
    return 1;
  }
  int code = 1;
  dx_server *srv = dx_server_new (loop, &cfg, err, sizeof err, &code);
  if (srv == NULL) {
    fprintf (stderr, "duplexd: %s\n", err);
    dx_loop_free (loop);
    return code;
  }
  code = dx_server_run (srv);
  dx_server_free (srv);
  dx_loop_free (loop);
  dx_log_info ("stopped");
  return code;
}
