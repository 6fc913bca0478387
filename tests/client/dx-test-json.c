#include "dx-test-json.h"

#include <string.h>

#include "protocol/json.h"

static gboolean
flatten_value (dx_json_reader *r, const char *path, GHashTable *out)
{
  char key[256];
  int k;

  switch (dx_json_peek (r)) {
  case DX_JSON_OBJECT:
    if (!dx_json_object_begin (r))
      return FALSE;
    while ((k = dx_json_object_next (r, key, sizeof key, NULL)) > 0) {
      g_autofree char *sub = path[0] != '\0' ? g_strconcat (path, ".", key, NULL) : g_strdup (key);
      if (!flatten_value (r, sub, out))
        return FALSE;
    }
    return k == 0;
  case DX_JSON_ARRAY:
    if (!dx_json_array_begin (r))
      return FALSE;
    for (guint i = 0; (k = dx_json_array_next (r)) > 0; i++) {
      g_autofree char *sub = g_strdup_printf ("%s%s%u", path, path[0] != '\0' ? "." : "", i);
      if (!flatten_value (r, sub, out))
        return FALSE;
    }
    return k == 0;
  case DX_JSON_STRING: {
    char buf[4096];
    if (!dx_json_read_string (r, buf, sizeof buf, NULL, NULL))
      return FALSE;
    g_hash_table_insert (out, g_strdup (path), g_strdup (buf));
    return TRUE;
  }
  case DX_JSON_NULL:
    if (!dx_json_read_null (r))
      return FALSE;
    g_hash_table_insert (out, g_strdup (path), g_strdup ("null"));
    return TRUE;
  case DX_JSON_FALSE:
  case DX_JSON_TRUE: {
    bool v;
    if (!dx_json_read_bool (r, &v))
      return FALSE;
    g_hash_table_insert (out, g_strdup (path), g_strdup (v ? "true" : "false"));
    return TRUE;
  }
  case DX_JSON_NUMBER: {
    const char *raw;
    size_t len;
    if (!dx_json_read_raw_scalar (r, &raw, &len))
      return FALSE;
    g_hash_table_insert (out, g_strdup (path), g_strndup (raw, len));
    return TRUE;
  }
  default: return FALSE;
  }
}

GHashTable *
dx_test_json_flatten (const char *text)
{
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  dx_json_reader r;

  dx_json_reader_init (&r, text, strlen (text), NULL);
  if (!flatten_value (&r, "", out) || !dx_json_finish (&r)) {
    g_hash_table_unref (out);
    return NULL;
  }
  return out;
}
