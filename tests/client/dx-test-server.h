/* Helpers for the client tests: the real duplexd on free ports, curl as
 * an independent client, and waiting on the GLib main loop. */
#pragma once

#include <gio/gio.h>

#include "protocol/message.h"

typedef struct {
  GSubprocess *proc;
  char *dir;    /* temp dir for the ready file */
  guint16 http; /* real ports */
  guint16 tcp;
  guint16 udp; /* with dx_test_server_start_udp; 0 otherwise */
  gboolean with_udp;
  char *url;         /* http://127.0.0.1:PORT */
  char **extra_args; /* more duplexd arguments (--tls-cert …), kept over restarts */
} DxTestServer;

/* Start duplexd --store memory on the given ports (0 = any) with an
 * optional ticker ("lobby:200" or NULL). Aborts the test on failure. */
void dx_test_server_start (DxTestServer *s, guint16 http, guint16 tcp, const char *ticker);
/* The same with --udp 127.0.0.1:0 (docs/protocol.md §8). */
void dx_test_server_start_udp (DxTestServer *s, const char *ticker);
/* The same on any ports with more arguments (NULL-terminated). */
void dx_test_server_start_args (DxTestServer *s, const char *const *args);
/* SIGTERM and wait for the exit. */
void dx_test_server_stop (DxTestServer *s);
/* Stop and start again on the same ports (a new memory store: new epoch). */
void dx_test_server_restart (DxTestServer *s);
void dx_test_server_free (DxTestServer *s);

/* POST /api/v1/session + POST messages with curl; returns the id. */
guint64 dx_test_post (DxTestServer *s, const char *nick, const char *room, const char *text);
/* GET ...messages?since=0 with curl: the messages, as dx_msg copies. */
GPtrArray *dx_test_get_messages (DxTestServer *s, const char *room);

/* Run the default main context until cond(data) or timeout_ms passes. */
gboolean dx_test_wait (gboolean (*cond) (gpointer), gpointer data, guint timeout_ms);
/* Run the main context for ms milliseconds. */
void dx_test_sleep (guint ms);
