/* duplexd: the Duplex chat server. Everything is in server_lib; this only
 * turns the command line into a config and an exit status. */
#include "platform/fs.h"
#include "platform/loop.h"
#include "server/config.h"
#include "server/log.h"
#include "server/server.h"
#include "server/store.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef DUPLEX_VERSION
#define DUPLEX_VERSION "0.0.0"
#endif

/* --password-file (docs/protocol.md §9): *owned keeps the file's bytes
 * alive as long as cfg->password points into them. */
static bool
load_password_file (dx_config *cfg, char **owned)
{
  size_t len = 0;
  int rc = dx_fs_read_file (cfg->password_file, 64 * 1024, owned, &len);
  if (rc < 0) {
    fprintf (stderr, "duplexd: --password-file %s: %s\n", cfg->password_file, dx_strerror (rc));
    return false;
  }
  cfg->password = dx_config_password_line (*owned);
  if (cfg->password == NULL) {
    fprintf (stderr, "duplexd: --password-file %s: the first line is empty\n", cfg->password_file);
    return false;
  }
  return true;
}

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
  char *password_data = NULL;
  if (cfg.password_file && !load_password_file (&cfg, &password_data)) {
    free (password_data);
    return 1;
  }

  int lerr = 0;
  dx_loop *loop = dx_loop_new (&lerr);
  if (loop == NULL) {
    fprintf (stderr, "duplexd: cannot create the event loop: %s\n", dx_strerror (lerr));
    free (password_data);
    return 1;
  }
  int code = 1;
  dx_server *srv = dx_server_new (loop, &cfg, err, sizeof err, &code);
  if (srv == NULL) {
    fprintf (stderr, "duplexd: %s\n", err);
    dx_loop_free (loop);
    free (password_data);
    return code;
  }
  code = dx_server_run (srv);
  dx_server_free (srv);
  dx_loop_free (loop);
  dx_log_info ("stopped");
  free (password_data);
  return code;
}
