/* DxTimeWait: how many TCP connections to the server sit in TIME_WAIT
 * right now, on this machine's side (the kernel's table: sockets whose
 * remote end is the server's HTTP or TCP port) and on the server's side
 * (as duplexd reports it in /api/v1/info). Refreshed about every second
 * while started; the table is read in a worker thread, never on the UI's. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DX_TYPE_TIME_WAIT (dx_time_wait_get_type ())
G_DECLARE_FINAL_TYPE (DxTimeWait, dx_time_wait, DX, TIME_WAIT, GObject)

DxTimeWait *dx_time_wait_new (const char *server_url);
/* Refresh every second until stopped (a round at once). */
void dx_time_wait_start (DxTimeWait *self);
void dx_time_wait_stop (DxTimeWait *self);
/* One round now, unless one is running; ::updated when it ends. */
void dx_time_wait_refresh (DxTimeWait *self);
/* -1 while unknown (not read yet, or the table could not be read). */
gint dx_time_wait_get_client (DxTimeWait *self);
/* -1 while unknown or when the server does not report it. */
gint dx_time_wait_get_server (DxTimeWait *self);

G_END_DECLS
