/* The client over TLS (docs/protocol.md §9): every transport against an
 * https:// server whose certificate a test CA signs, the CA given as with
 * --ca; without it the certificate is refused and explained, then trusted
 * (known hosts) and the chat works; a changed certificate is refused.
 *
 * The TLS server is duplexd itself (--tls-cert/--tls-key) when it has
 * them; otherwise a small Python relay (tls-relay.py) in front of a plain
 * duplexd: TLS on 127.0.0.2 (the HTTP port and the raw TCP port duplexd
 * announces) relayed to duplexd on 127.0.0.1. */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <glib/gstdio.h>

#include "dx-base-transport.h"
#include "dx-http-transport.h"
#include "dx-poll-transport.h"
#include "dx-test-server.h"
#include "dx-tls-trust.h"
#include "dx-transport-factory.h"

static char *dir;           /* certificates, known hosts */
static DxTestServer server; /* duplexd: TLS itself when native, else plain */
static gboolean native;     /* duplexd has --tls-cert */
static GSubprocess *relay;
static char *url; /* https://127.0.0.1:PORT (native) or https://127.0.0.2:PORT (relay) */
static guint16 relay_port;

static void
run_sh (const char *script)
{
  const char *argv[] = { "sh", "-ec", script, NULL };
  g_autoptr (GError) error = NULL;
  int status = 0;

  g_spawn_sync (dir, (char **) argv, NULL,
                G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* A test CA, a server certificate it signs for 127.0.0.2, and another
 * self-signed one for the same address (the "changed" certificate). */
static void
make_certificates (void)
{
  run_sh ("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=Duplex Test CA' "
          "-keyout ca.key -out ca.pem "
          "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign\n"
          "openssl req -newkey rsa:2048 -nodes -subj '/CN=duplex test server' "
          "-keyout server.key -out server.csr\n"
          "printf 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2\\nbasicConstraints=CA:FALSE\\n' > "
          "ext.cnf\n"
          "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
          "-days 2 -extfile ext.cnf -out server.pem\n"
          "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=impostor' "
          "-addext subjectAltName=IP:127.0.0.1,IP:127.0.0.2 -keyout other.key -out other.pem\n");
}

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
relay_start (const char *name)
{
  g_autofree char *cert = g_strdup_printf ("%s/%s.pem", dir, name);
  g_autofree char *key = g_strdup_printf ("%s/%s.key", dir, name);
  g_autofree char *ready = g_build_filename (dir, "relay-ready", NULL);
  g_autofree char *port = g_strdup_printf ("%u", relay_port);
  g_autofree char *up = g_strdup_printf ("127.0.0.1:%u", server.http);
  g_autofree char *tcp = g_strdup_printf ("%u", server.tcp);
  g_autofree char *script = g_build_filename (g_getenv ("DX_TESTS_DIR"), "tls-relay.py", NULL);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GError) error = NULL;

  g_unlink (ready);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  relay = g_subprocess_launcher_spawn (launcher, &error, "python3", script, cert, key, "127.0.0.2",
                                       port, up, "127.0.0.1", tcp, ready, NULL);
  g_assert_no_error (error);
  for (int i = 0; i < 400; i++) {
    g_autofree char *text = NULL;
    if (g_file_get_contents (ready, &text, NULL, NULL)) {
      relay_port = (guint16) atoi (text);
      g_free (url);
      url = g_strdup_printf ("https://127.0.0.2:%u", relay_port);
      return;
    }
    g_usleep (25000);
  }
  g_error ("the TLS relay did not start");
}

static void
relay_stop (void)
{
  g_subprocess_force_exit (relay);
  g_subprocess_wait (relay, NULL, NULL);
  g_clear_object (&relay);
}

static gboolean
duplexd_has_tls (void)
{
  const char *argv[] = { g_getenv ("DUPLEXD"), "--help", NULL };
  g_autofree char *out = NULL, *err = NULL;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, NULL, NULL);
  return (out != NULL && strstr (out, "--tls-cert") != NULL)
         || (err != NULL && strstr (err, "--tls-cert") != NULL);
}

/* The https:// server with certificate NAME (.pem/.key), on the same
 * ports as before if it ran already. */
static void
tls_server_start (const char *name)
{
  g_autofree char *cert = g_strdup_printf ("%s/%s.pem", dir, name);
  g_autofree char *key = g_strdup_printf ("%s/%s.key", dir, name);
  const char *args[] = { "--tls-cert", cert, "--tls-key", key, NULL };

  if (!native) {
    if (server.proc == NULL)
      dx_test_server_start (&server, 0, 0, NULL);
    relay_start (name);
    return;
  }
  if (server.dir == NULL) {
    dx_test_server_start_args (&server, args);
  } else {
    g_strfreev (server.extra_args);
    server.extra_args = g_strdupv ((char **) args);
    dx_test_server_restart (&server);
  }
  g_free (url);
  url = g_strdup_printf ("https://127.0.0.1:%u", server.http);
  /* curl posts over https too, trusting the test CA (CURL_CA_BUNDLE). */
  g_free (server.url);
  server.url = g_strdup (url);
}

static void
tls_server_stop (void)
{
  if (native)
    dx_test_server_stop (&server);
  else
    relay_stop ();
}

/* ---- transports ---- */

typedef struct {
  GPtrArray *acks;
  GPtrArray *texts;
} Sink;

static void
on_ack (DxTransport *t, const char *cid, guint64 id, gint64 ts, Sink *sink)
{
  g_ptr_array_add (sink->acks, g_strdup (cid));
}

static void
on_message (DxTransport *t, DxMessage *m, Sink *sink)
{
  g_ptr_array_add (sink->texts, g_strdup (dx_message_get_text (m)));
}

static gboolean
is_connected (gpointer data)
{
  return dx_transport_get_state (data) == DX_TRANSPORT_CONNECTED;
}

static gboolean
has_ack (gpointer data)
{
  return ((Sink *) data)->acks->len > 0;
}

static gboolean
has_refusal (gpointer data)
{
  return dx_tls_trust_get_refused_host (dx_tls_trust_get_default ()) != NULL;
}

typedef struct {
  Sink *sink;
  const char *text;
} Want;

static gboolean
has_text (gpointer data)
{
  Want *w = data;

  for (guint i = 0; i < w->sink->texts->len; i++)
    if (g_strcmp0 (w->sink->texts->pdata[i], w->text) == 0)
      return TRUE;
  return FALSE;
}

static DxTransport *
make (DxMode mode, Sink *sink)
{
  DxTransport *t = dx_transport_new (mode, url, "tls-tester", NULL);

  dx_base_transport_set_clock_offset (DX_BASE_TRANSPORT (t), 0);
  if (mode == DX_MODE_POLL)
    dx_poll_transport_set_interval (DX_POLL_TRANSPORT (t), 200);
  sink->acks = g_ptr_array_new_with_free_func (g_free);
  sink->texts = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (t, "ack", G_CALLBACK (on_ack), sink);
  g_signal_connect (t, "message", G_CALLBACK (on_message), sink);
  return t;
}

static void
sink_clear (Sink *sink)
{
  g_ptr_array_unref (sink->acks);
  g_ptr_array_unref (sink->texts);
}

static char *
known_hosts_text (void)
{
  char *text = NULL;

  g_file_get_contents (
      dx_known_hosts_get_path (dx_tls_trust_get_known_hosts (dx_tls_trust_get_default ())), &text,
      NULL, NULL);
  return text;
}

/* Receive what curl posts, send and see the ack: the chat works. */
static void
assert_chat_works (DxTransport *t, Sink *sink, const char *tag)
{
  g_autofree char *text = g_strdup_printf ("over tls %s", tag);
  g_autofree char *cid = g_strdup_printf ("cid-tls-%s", tag);
  Want want = { sink, text };

  g_assert_true (dx_test_wait (is_connected, t, 15000));
  dx_test_post (&server, "alice", "lobby", text);
  g_assert_true (dx_test_wait (has_text, &want, 10000));
  dx_transport_send (t, "reply over tls", cid);
  g_assert_true (dx_test_wait (has_ack, sink, 10000));
  g_assert_cmpstr (sink->acks->pdata[0], ==, cid);
}

/* No CA: refused and explained; trusted from the refusal; the chat works;
 * the server's line is in known-hosts. */
static void
test_untrusted_then_trusted (void)
{
  DxTlsTrust *trust = dx_tls_trust_get_default ();
  const char *host = url + strlen ("https://");
  g_autofree char *why = NULL, *known = NULL;
  Sink sink;
  g_autoptr (DxTransport) t = make (DX_MODE_WEBSOCKET, &sink);

  dx_transport_connect (t, "lobby", 0, NULL);
  g_assert_true (dx_test_wait (has_refusal, NULL, 10000));
  g_assert_cmpint (dx_transport_get_state (t), !=, DX_TRANSPORT_CONNECTED);
  g_assert_cmpstr (dx_tls_trust_get_refused_host (trust), ==, host);
  g_assert_true (dx_tls_trust_get_refused_can_trust (trust));
  why = dx_tls_trust_describe_refusal (trust);
  g_test_message ("%s", why);
  g_assert_nonnull (strstr (why, "not signed by an authority"));
  g_assert_nonnull (strstr (why, "duplex test server"));
  g_assert_nonnull (strstr (why, "Duplex Test CA"));

  g_assert_true (dx_tls_trust_trust_refused (trust, NULL));
  g_assert_null (dx_tls_trust_get_refused_host (trust));
  known = known_hosts_text ();
  g_assert_nonnull (known);
  g_assert_true (g_str_has_prefix (known, host));
  assert_chat_works (t, &sink, "trusted");
  dx_transport_disconnect (t);
  sink_clear (&sink);
}

/* Another certificate for a server already trusted: refused, not trustable. */
static void
test_changed_refused (void)
{
  DxTlsTrust *trust = dx_tls_trust_get_default ();
  g_autofree char *why = NULL;
  Sink sink;
  g_autoptr (DxTransport) t = NULL;

  tls_server_stop ();
  tls_server_start ("other");
  t = make (DX_MODE_TCP, &sink);
  /* The raw TCP port: the same certificate store as HTTP (the HTTP info
   * request is refused first, it shares the known hosts). */
  dx_transport_connect (t, "lobby", 0, NULL);
  g_assert_true (dx_test_wait (has_refusal, NULL, 10000));
  g_assert_false (dx_tls_trust_get_refused_can_trust (trust));
  why = dx_tls_trust_describe_refusal (trust);
  g_test_message ("%s", why);
  g_assert_nonnull (strstr (why, "CHANGED"));
  g_assert_nonnull (strstr (why, "impostor"));
  g_assert_false (dx_tls_trust_trust_refused (trust, NULL));
  dx_test_sleep (1500);
  g_assert_cmpint (dx_transport_get_state (t), !=, DX_TRANSPORT_CONNECTED);
  dx_transport_disconnect (t);
  sink_clear (&sink);
  tls_server_stop ();
  tls_server_start ("server");
}

/* With the test CA (--ca) and no known hosts: every transport works, and
 * counts its handshakes. */
static void
test_ca_every_mode (void)
{
  g_autofree char *ca = g_build_filename (dir, "ca.pem", NULL);
  DxTlsTrust *trust = dx_tls_trust_get_default ();

  g_unlink (dx_known_hosts_get_path (dx_tls_trust_get_known_hosts (trust)));
  g_assert_true (dx_tls_trust_add_ca_file (trust, ca, NULL));
  for (DxMode mode = DX_MODE_POLL; mode <= DX_MODE_TCP; mode++) {
    Sink sink;
    g_autoptr (DxTransport) t = make (mode, &sink);
    DxStats *stats = dx_base_transport_get_stats_object (DX_BASE_TRANSPORT (t));

    dx_transport_connect (t, "lobby", 0, NULL);
    assert_chat_works (t, &sink, dx_mode_to_string (mode));
    g_assert_null (dx_tls_trust_get_refused_host (trust));
    g_test_message ("%s: %" G_GUINT64_FORMAT " TLS handshakes, %" G_GUINT64_FORMAT " connections",
                    dx_mode_to_string (mode), dx_stats_get_tls_handshakes (stats),
                    dx_stats_get_connections (stats));
    g_assert_cmpuint (dx_stats_get_tls_handshakes (stats), >=, 1);
    dx_transport_disconnect (t);
    sink_clear (&sink);
  }
}

/* Keep-alive off: one handshake per short poll. */
static void
test_poll_pays_handshakes (void)
{
  Sink sink;
  g_autoptr (DxTransport) t = make (DX_MODE_POLL, &sink);
  DxStats *stats = dx_base_transport_get_stats_object (DX_BASE_TRANSPORT (t));
  guint64 requests, handshakes;

  dx_http_transport_set_keep_alive (DX_HTTP_TRANSPORT (t), FALSE);
  dx_transport_connect (t, "lobby", 0, NULL);
  g_assert_true (dx_test_wait (is_connected, t, 15000));
  dx_test_sleep (2000);
  dx_transport_disconnect (t);
  requests = dx_stats_get_requests (stats);
  handshakes = dx_stats_get_tls_handshakes (stats);
  g_test_message ("keep-alive off: %" G_GUINT64_FORMAT " requests, %" G_GUINT64_FORMAT
                  " TLS handshakes",
                  requests, handshakes);
  g_assert_cmpuint (requests, >=, 5);
  /* A request still in flight at the disconnect may have shaken hands. */
  g_assert_cmpuint (handshakes, >=, requests);
  g_assert_cmpuint (handshakes, <=, requests + 1);
  sink_clear (&sink);
}

/* Without a TLS backend (the Windows build has none), an https:// URL is
 * refused at start with a clear word, not a crash. */
static void
test_no_backend (void)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;

  /* No GIO modules: no glib-networking, as on Windows. */
  g_subprocess_launcher_setenv (launcher, "GIO_MODULE_DIR", dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  proc = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("DUPLEX"), "--server", url, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 2);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "no TLS support"));
}

int
main (int argc, char **argv)
{
  int rc;
  g_autofree char *config = NULL;

  dir = g_dir_make_tmp ("duplex-tls-XXXXXX", NULL);
  config = g_build_filename (dir, "config", NULL);
  /* Before the trust store exists: its known hosts go under here. */
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_test_init (&argc, &argv, NULL);
  if (!dx_tls_available ()) {
    g_test_skip ("no TLS backend (glib-networking)");
    return 77;
  }
  make_certificates ();
  {
    g_autofree char *ca = g_build_filename (dir, "ca.pem", NULL);
    g_setenv ("CURL_CA_BUNDLE", ca, TRUE);
  }
  native = duplexd_has_tls ();
  g_test_message ("TLS server: %s", native ? "duplexd --tls-cert" : "tls-relay.py");
  tls_server_start ("server");
  /* Order matters: the CA is added to the process's store at the end. */
  g_test_add_func ("/tls/untrusted-then-trusted", test_untrusted_then_trusted);
  g_test_add_func ("/tls/changed-refused", test_changed_refused);
  g_test_add_func ("/tls/ca-every-mode", test_ca_every_mode);
  g_test_add_func ("/tls/poll-handshakes", test_poll_pays_handshakes);
  if (g_getenv ("DUPLEX") != NULL)
    g_test_add_func ("/tls/no-backend", test_no_backend);
  rc = g_test_run ();
  tls_server_stop ();
  dx_test_server_stop (&server);
  dx_test_server_free (&server);
  run_sh ("rm -rf \"$PWD\"");
  g_free (dir);
  return rc;
}
