/* DxTlsBanner: the window's notice of a refused certificate (DxTlsTrust):
 * what it is and why it fails, and a button to trust it for that server
 * (absent for a changed certificate, which is only a warning). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DX_TYPE_TLS_BANNER (dx_tls_banner_get_type ())
G_DECLARE_FINAL_TYPE (DxTlsBanner, dx_tls_banner, DX, TLS_BANNER, GtkBox)

GtkWidget *dx_tls_banner_new (void);

G_END_DECLS
