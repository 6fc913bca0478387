#include "dx-config.h"

#include "dx-settings.h"

struct _DxSettings {
  GObject parent_instance;
  GSettings *settings; /* NULL: fall back to `memory` */
  GHashTable *memory;  /* key -> GVariant, the schema's defaults and changes */
};

G_DEFINE_FINAL_TYPE (DxSettings, dx_settings, G_TYPE_OBJECT)

static void
dx_settings_finalize (GObject *object)
{
  DxSettings *self = DX_SETTINGS (object);

  g_clear_object (&self->settings);
  g_hash_table_unref (self->memory);
  G_OBJECT_CLASS (dx_settings_parent_class)->finalize (object);
}

static void
dx_settings_class_init (DxSettingsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dx_settings_finalize;
}

static void
dx_settings_init (DxSettings *self)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema =
      source != NULL ? g_settings_schema_source_lookup (source, DX_APP_ID, TRUE) : NULL;

  self->memory =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
  if (schema != NULL) {
    self->settings = g_settings_new_full (schema, NULL, NULL);
    return;
  }
  /* Same defaults as data/io.github.duplex.Duplex.gschema.xml. */
  g_hash_table_insert (self->memory, g_strdup ("server"),
                       g_variant_ref_sink (g_variant_new_string ("http://127.0.0.1:8080")));
  g_hash_table_insert (self->memory, g_strdup ("nick"),
                       g_variant_ref_sink (g_variant_new_string ("")));
  g_hash_table_insert (self->memory, g_strdup ("room"),
                       g_variant_ref_sink (g_variant_new_string ("lobby")));
  g_hash_table_insert (self->memory, g_strdup ("transport"),
                       g_variant_ref_sink (g_variant_new_string ("websocket")));
  g_hash_table_insert (self->memory, g_strdup ("poll-interval"),
                       g_variant_ref_sink (g_variant_new_uint32 (2000)));
  g_hash_table_insert (self->memory, g_strdup ("longpoll-wait"),
                       g_variant_ref_sink (g_variant_new_uint32 (25)));
  g_hash_table_insert (self->memory, g_strdup ("keep-alive"),
                       g_variant_ref_sink (g_variant_new_boolean (TRUE)));
}

DxSettings *
dx_settings_new (void)
{
  return g_object_new (DX_TYPE_SETTINGS, NULL);
}

GSettings *
dx_settings_get_gsettings (DxSettings *self)
{
  return self->settings;
}

static GVariant *
get_value (DxSettings *self, const char *key)
{
  if (self->settings != NULL)
    return g_settings_get_value (self->settings, key);
  return g_variant_ref (g_hash_table_lookup (self->memory, key));
}

static void
set_value (DxSettings *self, const char *key, GVariant *value)
{
  g_variant_ref_sink (value);
  if (self->settings != NULL)
    g_settings_set_value (self->settings, key, value);
  else
    g_hash_table_replace (self->memory, g_strdup (key), g_variant_ref (value));
  g_variant_unref (value);
}

char *
dx_settings_get_string (DxSettings *self, const char *key)
{
  g_autoptr (GVariant) v = get_value (self, key);
  return g_variant_dup_string (v, NULL);
}

void
dx_settings_set_string (DxSettings *self, const char *key, const char *value)
{
  set_value (self, key, g_variant_new_string (value));
}

guint
dx_settings_get_uint (DxSettings *self, const char *key)
{
  g_autoptr (GVariant) v = get_value (self, key);
  return g_variant_get_uint32 (v);
}

void
dx_settings_set_uint (DxSettings *self, const char *key, guint value)
{
  if (self->settings != NULL) {
    /* Out-of-range values are refused by the schema: clamp instead. */
    g_autoptr (GSettingsSchema) schema = NULL;
    g_object_get (self->settings, "settings-schema", &schema, NULL);
    g_autoptr (GSettingsSchemaKey) k = g_settings_schema_get_key (schema, key);
    g_autoptr (GVariant) v = g_variant_ref_sink (g_variant_new_uint32 (value));
    if (!g_settings_schema_key_range_check (k, v))
      return;
  }
  set_value (self, key, g_variant_new_uint32 (value));
}

gboolean
dx_settings_get_boolean (DxSettings *self, const char *key)
{
  g_autoptr (GVariant) v = get_value (self, key);
  return g_variant_get_boolean (v);
}

void
dx_settings_set_boolean (DxSettings *self, const char *key, gboolean value)
{
  set_value (self, key, g_variant_new_boolean (value));
}

char *
dx_settings_get_transport (DxSettings *self)
{
  /* An enum key reads as its nick string in both cases. */
  return dx_settings_get_string (self, "transport");
}

void
dx_settings_set_transport (DxSettings *self, const char *nick)
{
  if (self->settings != NULL)
    g_settings_set_string (self->settings, "transport", nick);
  else
    set_value (self, "transport", g_variant_new_string (nick));
}
