#include "dx-config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "dx-known-hosts.h"

struct _DxKnownHosts {
  GObject parent_instance;
  char *path;
};

G_DEFINE_FINAL_TYPE (DxKnownHosts, dx_known_hosts, G_TYPE_OBJECT)

char *
dx_known_hosts_fingerprint (GTlsCertificate *cert)
{
  g_autoptr (GByteArray) der = NULL;

  g_object_get (cert, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
}

/* The file's lines, or NULL when it does not exist yet. */
static char **
read_lines (DxKnownHosts *self)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents (self->path, &text, NULL, NULL))
    return NULL;
  return g_strsplit (text, "\n", -1);
}

/* The fingerprint on host_port's line (owned by line), or NULL. */
static const char *
line_fingerprint (const char *line, const char *host_port)
{
  size_t n = strlen (host_port);

  if (line[0] == '#' || strncmp (line, host_port, n) != 0 || line[n] != ' ')
    return NULL;
  return line + n + 1;
}

DxKnownHostState
dx_known_hosts_lookup (DxKnownHosts *self, const char *host_port, GTlsCertificate *cert)
{
  g_auto (GStrv) lines = read_lines (self);
  g_autofree char *fp = dx_known_hosts_fingerprint (cert);
  DxKnownHostState state = DX_KNOWN_HOST_UNKNOWN;

  for (guint i = 0; lines != NULL && lines[i] != NULL; i++) {
    const char *known = line_fingerprint (g_strstrip (lines[i]), host_port);
    if (known == NULL)
      continue;
    /* Several lines for a server: any match is trusted (a file edited by hand). */
    if (fp != NULL && g_ascii_strcasecmp (known, fp) == 0)
      return DX_KNOWN_HOST_MATCH;
    state = DX_KNOWN_HOST_CHANGED;
  }
  return state;
}

gboolean
dx_known_hosts_add (DxKnownHosts *self, const char *host_port, GTlsCertificate *cert,
                    GError **error)
{
  g_auto (GStrv) lines = read_lines (self);
  g_autofree char *fp = dx_known_hosts_fingerprint (cert);
  g_autofree char *dir = g_path_get_dirname (self->path);
  g_autoptr (GString) out = g_string_new (NULL);

  if (fp == NULL) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "no certificate data");
    return FALSE;
  }
  for (guint i = 0; lines != NULL && lines[i] != NULL; i++) {
    const char *line = g_strstrip (lines[i]);
    if (line[0] == '\0' || line_fingerprint (line, host_port) != NULL)
      continue;
    g_string_append_printf (out, "%s\n", line);
  }
  g_string_append_printf (out, "%s %s\n", host_port, fp);
  if (g_mkdir_with_parents (dir, 0700) != 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", dir,
                 g_strerror (errno));
    return FALSE;
  }
  return g_file_set_contents_full (self->path, out->str, (gssize) out->len,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

const char *
dx_known_hosts_get_path (DxKnownHosts *self)
{
  return self->path;
}

static void
dx_known_hosts_finalize (GObject *object)
{
  g_free (DX_KNOWN_HOSTS (object)->path);
  G_OBJECT_CLASS (dx_known_hosts_parent_class)->finalize (object);
}

static void
dx_known_hosts_class_init (DxKnownHostsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dx_known_hosts_finalize;
}

static void
dx_known_hosts_init (DxKnownHosts *self)
{
  (void) self;
}

DxKnownHosts *
dx_known_hosts_new (const char *path)
{
  DxKnownHosts *self = g_object_new (DX_TYPE_KNOWN_HOSTS, NULL);

  self->path = g_strdup (path);
  return self;
}
