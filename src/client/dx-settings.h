/* DxSettings: the app's GSettings, or built-in defaults when the schema
 * is not installed (running from a build tree without
 * GSETTINGS_SCHEMA_DIR): the app must never abort for a missing schema. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DX_TYPE_SETTINGS (dx_settings_get_type ())
G_DECLARE_FINAL_TYPE (DxSettings, dx_settings, DX, SETTINGS, GObject)

DxSettings *dx_settings_new (void);
/* NULL when the schema is missing. */
GSettings *dx_settings_get_gsettings (DxSettings *self);

char *dx_settings_get_string (DxSettings *self, const char *key);
void dx_settings_set_string (DxSettings *self, const char *key, const char *value);
guint dx_settings_get_uint (DxSettings *self, const char *key);
void dx_settings_set_uint (DxSettings *self, const char *key, guint value);
gboolean dx_settings_get_boolean (DxSettings *self, const char *key);
void dx_settings_set_boolean (DxSettings *self, const char *key, gboolean value);
/* "transport" as its nick ("websocket", ...). */
char *dx_settings_get_transport (DxSettings *self);
void dx_settings_set_transport (DxSettings *self, const char *nick);

G_END_DECLS
