/* DxApplication: command line (which overrides GSettings), actions and
 * keyboard shortcuts, the dark-style preference, and the window. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DX_TYPE_APPLICATION (dx_application_get_type ())
G_DECLARE_FINAL_TYPE (DxApplication, dx_application, DX, APPLICATION, GtkApplication)

DxApplication *dx_application_new (void);

G_END_DECLS
