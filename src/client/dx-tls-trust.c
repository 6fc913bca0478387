#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-tls-trust.h"

struct _DxTlsTrust {
  GObject parent_instance;
  DxKnownHosts *known_hosts;
  GList *cas; /* GTlsCertificate from --ca */
  /* The last refusal, for the window. */
  char *refused_host;
  GTlsCertificate *refused_cert;
  GTlsCertificateFlags refused_errors;
  gboolean refused_changed;
};

G_DEFINE_FINAL_TYPE (DxTlsTrust, dx_tls_trust, G_TYPE_OBJECT)

enum { SIGNAL_REFUSED, SIGNAL_TRUSTED, N_SIGNALS };
static guint signals[N_SIGNALS];

gboolean
dx_tls_available (void)
{
  return g_tls_backend_supports_tls (g_tls_backend_get_default ());
}

DxTlsTrust *
dx_tls_trust_get_default (void)
{
  static DxTlsTrust *trust;

  if (trust == NULL) {
    g_autofree char *path =
        g_build_filename (g_get_user_config_dir (), "duplex", "known-hosts", NULL);
    trust = g_object_new (DX_TYPE_TLS_TRUST, NULL);
    trust->known_hosts = dx_known_hosts_new (path);
  }
  return trust;
}

DxKnownHosts *
dx_tls_trust_get_known_hosts (DxTlsTrust *self)
{
  return self->known_hosts;
}

gboolean
dx_tls_trust_add_ca_file (DxTlsTrust *self, const char *path, GError **error)
{
  GList *list = g_tls_certificate_list_new_from_file (path, error);

  if (list == NULL) {
    if (error != NULL && *error == NULL)
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _ ("%s holds no certificate"), path);
    return FALSE;
  }
  self->cas = g_list_concat (self->cas, list);
  return TRUE;
}

/* A --ca authority signs cert for identity (the system's were already
 * tried by the TLS backend: this adds to them rather than replacing them). */
static gboolean
signed_by_extra_ca (DxTlsTrust *self, GSocketConnectable *identity, GTlsCertificate *cert)
{
  for (GList *l = self->cas; l != NULL; l = l->next)
    if (g_tls_certificate_verify (cert, identity, l->data) == 0)
      return TRUE;
  return FALSE;
}

/* The server that was refused is accepted now (a --ca, a line added by
 * hand): its notice has had its day. */
static void
forget_refusal_of (DxTlsTrust *self, const char *host_port)
{
  if (g_strcmp0 (self->refused_host, host_port) != 0)
    return;
  g_clear_pointer (&self->refused_host, g_free);
  g_clear_object (&self->refused_cert);
  g_signal_emit (self, signals[SIGNAL_TRUSTED], 0);
}

gboolean
dx_tls_trust_accept (DxTlsTrust *self, const char *host_port, GSocketConnectable *identity,
                     GTlsCertificate *cert, GTlsCertificateFlags errors)
{
  DxKnownHostState state;

  if (signed_by_extra_ca (self, identity, cert)
      || (state = dx_known_hosts_lookup (self->known_hosts, host_port, cert))
             == DX_KNOWN_HOST_MATCH) {
    forget_refusal_of (self, host_port);
    return TRUE;
  }
  g_free (self->refused_host);
  self->refused_host = g_strdup (host_port);
  g_set_object (&self->refused_cert, cert);
  self->refused_errors = errors;
  self->refused_changed = state == DX_KNOWN_HOST_CHANGED;
  g_signal_emit (self, signals[SIGNAL_REFUSED], 0);
  return FALSE;
}

/* ---- the connections ---- */

static gboolean
connection_accept_cb (GTlsConnection *conn, GTlsCertificate *cert, GTlsCertificateFlags errors,
                      gpointer data)
{
  GSocketConnectable *identity =
      g_tls_client_connection_get_server_identity (G_TLS_CLIENT_CONNECTION (conn));
  g_autofree char *host_port = g_socket_connectable_to_string (identity);

  return dx_tls_trust_accept (data, host_port, identity, cert, errors);
}

static void
client_event_cb (GSocketClient *client, GSocketClientEvent event, GSocketConnectable *connectable,
                 GIOStream *connection, gpointer data)
{
  (void) client;
  (void) connectable;
  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING)
    g_signal_connect_object (connection, "accept-certificate", G_CALLBACK (connection_accept_cb),
                             data, 0);
}

void
dx_tls_trust_watch_client (DxTlsTrust *self, GSocketClient *client)
{
  g_signal_connect_object (client, "event", G_CALLBACK (client_event_cb), self, 0);
}

static gboolean
message_accept_cb (SoupMessage *msg, GTlsCertificate *cert, GTlsCertificateFlags errors,
                   gpointer data)
{
  GUri *uri = soup_message_get_uri (msg);
  int port = g_uri_get_port (uri);
  g_autoptr (GSocketConnectable) identity =
      g_network_address_new (g_uri_get_host (uri), (guint16) (port > 0 ? port : 443));
  g_autofree char *host_port = g_socket_connectable_to_string (identity);

  return dx_tls_trust_accept (data, host_port, identity, cert, errors);
}

static void
request_queued_cb (SoupSession *session, SoupMessage *msg, gpointer data)
{
  (void) session;
  g_signal_connect_object (msg, "accept-certificate", G_CALLBACK (message_accept_cb), data, 0);
}

void
dx_tls_trust_watch_session (DxTlsTrust *self, SoupSession *session)
{
  g_signal_connect_object (session, "request-queued", G_CALLBACK (request_queued_cb), self, 0);
}

/* ---- the refusal, for the window ---- */

const char *
dx_tls_trust_get_refused_host (DxTlsTrust *self)
{
  return self->refused_host;
}

gboolean
dx_tls_trust_get_refused_can_trust (DxTlsTrust *self)
{
  return self->refused_host != NULL && !self->refused_changed;
}

static void
append_reasons (GString *out, GTlsCertificateFlags errors)
{
  static const struct {
    GTlsCertificateFlags flag;
    const char *text;
  } reasons[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, N_ ("it is not signed by an authority this computer trusts") },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, N_ ("it is for another name than the server's") },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, N_ ("it is not valid yet") },
    { G_TLS_CERTIFICATE_EXPIRED, N_ ("it has expired") },
    { G_TLS_CERTIFICATE_REVOKED, N_ ("it has been revoked") },
    { G_TLS_CERTIFICATE_INSECURE, N_ ("it uses an insecure algorithm") },
    { G_TLS_CERTIFICATE_GENERIC_ERROR, N_ ("it could not be checked") },
  };
  gboolean first = TRUE;

  for (gsize i = 0; i < G_N_ELEMENTS (reasons); i++) {
    if (!(errors & reasons[i].flag))
      continue;
    g_string_append (out, first ? "" : "; ");
    g_string_append (out, _ (reasons[i].text));
    first = FALSE;
  }
  if (first)
    g_string_append (out, _ ("it could not be checked"));
}

char *
dx_tls_trust_describe_refusal (DxTlsTrust *self)
{
  g_autofree char *subject = NULL, *issuer = NULL, *fp = NULL;
  GString *out;

  if (self->refused_host == NULL)
    return g_strdup ("");
  subject = g_tls_certificate_get_subject_name (self->refused_cert);
  issuer = g_tls_certificate_get_issuer_name (self->refused_cert);
  fp = dx_known_hosts_fingerprint (self->refused_cert);
  out = g_string_new (NULL);
  if (self->refused_changed) {
    g_string_append_printf (
        out,
        _ ("WARNING: the certificate of %s has CHANGED since you trusted it. Someone may be "
           "intercepting the connection. If the server's owner really changed it, remove the "
           "server's line from %s and connect again."),
        self->refused_host, dx_known_hosts_get_path (self->known_hosts));
  } else {
    g_string_append_printf (out, _ ("The certificate of %s is not trusted: "), self->refused_host);
    append_reasons (out, self->refused_errors);
    g_string_append (out, ".");
  }
  g_string_append_c (out, '\n');
  g_string_append_printf (out, _ ("Issued to: %s"), subject != NULL ? subject : "?");
  g_string_append_c (out, '\n');
  g_string_append_printf (out, _ ("Issued by: %s"), issuer != NULL ? issuer : "?");
  g_string_append_c (out, '\n');
  g_string_append_printf (out, _ ("SHA-256 fingerprint: %s"), fp != NULL ? fp : "?");
  return g_string_free (out, FALSE);
}

gboolean
dx_tls_trust_trust_refused (DxTlsTrust *self, GError **error)
{
  if (!dx_tls_trust_get_refused_can_trust (self)) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                         _ ("A changed certificate is not trusted from here"));
    return FALSE;
  }
  if (!dx_known_hosts_add (self->known_hosts, self->refused_host, self->refused_cert, error))
    return FALSE;
  g_clear_pointer (&self->refused_host, g_free);
  g_clear_object (&self->refused_cert);
  g_signal_emit (self, signals[SIGNAL_TRUSTED], 0);
  return TRUE;
}

/* ---- GObject ---- */

static void
dx_tls_trust_finalize (GObject *object)
{
  DxTlsTrust *self = DX_TLS_TRUST (object);

  g_clear_object (&self->known_hosts);
  g_list_free_full (self->cas, g_object_unref);
  g_free (self->refused_host);
  g_clear_object (&self->refused_cert);
  G_OBJECT_CLASS (dx_tls_trust_parent_class)->finalize (object);
}

static void
dx_tls_trust_class_init (DxTlsTrustClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dx_tls_trust_finalize;
  /* A certificate was refused: the window explains it. */
  signals[SIGNAL_REFUSED] = g_signal_new ("refused", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The refused certificate is now trusted: the window hides its notice. */
  signals[SIGNAL_TRUSTED] = g_signal_new ("trusted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
dx_tls_trust_init (DxTlsTrust *self)
{
  (void) self;
}
