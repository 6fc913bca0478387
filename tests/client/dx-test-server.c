#include "dx-test-server.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>

static gboolean
read_ready_file (const char *path, guint16 *http, guint16 *tcp, guint16 *udp)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  dx_json_reader r;
  char key[16];
  int k;

  if (!g_file_get_contents (path, &text, &len, NULL))
    return FALSE;
  dx_json_reader_init (&r, text, len, NULL);
  if (!dx_json_object_begin (&r))
    return FALSE;
  while ((k = dx_json_object_next (&r, key, sizeof key, NULL)) > 0) {
    uint64_t v = 0;
    if (!dx_json_read_u64 (&r, &v) || v > 65535)
      return FALSE;
    if (strcmp (key, "http") == 0)
      *http = (guint16) v;
    else if (strcmp (key, "tcp") == 0)
      *tcp = (guint16) v;
    else if (strcmp (key, "udp") == 0)
      *udp = (guint16) v;
  }
  return k == 0 && *http != 0 && *tcp != 0;
}

static void
die_with_parent (gpointer data)
{
  /* A test that crashes or times out must not leave a server behind. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
spawn (DxTestServer *s, guint16 http, guint16 tcp, const char *ticker)
{
  const char *exe = g_getenv ("DUPLEXD");
  g_autofree char *ready = g_build_filename (s->dir, "ready.json", NULL);
  g_autofree char *http_arg = g_strdup_printf ("127.0.0.1:%u", http);
  g_autofree char *tcp_arg = g_strdup_printf ("127.0.0.1:%u", tcp);
  g_autofree char *udp_arg = g_strdup_printf ("127.0.0.1:%u", s->udp);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (exe);
  g_unlink (ready);
  g_ptr_array_add (argv, (char *) exe);
  g_ptr_array_add (argv, "--http");
  g_ptr_array_add (argv, http_arg);
  g_ptr_array_add (argv, "--tcp");
  g_ptr_array_add (argv, tcp_arg);
  g_ptr_array_add (argv, "--ready-file");
  g_ptr_array_add (argv, ready);
  g_ptr_array_add (argv, "--store");
  g_ptr_array_add (argv, "memory");
  g_ptr_array_add (argv, "--log-level");
  g_ptr_array_add (argv, "warn");
  if (s->with_udp) {
    g_ptr_array_add (argv, "--udp");
    g_ptr_array_add (argv, udp_arg);
  }
  if (ticker != NULL) {
    g_ptr_array_add (argv, "--ticker");
    g_ptr_array_add (argv, (char *) ticker);
  }
  for (int i = 0; s->extra_args != NULL && s->extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, s->extra_args[i]);
  /* The tests send fast from one token; test-rate-limit.c tests the
   * per-token send rate (docs/protocol.md §9) with its own --send-rate. */
  if (s->extra_args == NULL
      || !g_strv_contains ((const char *const *) s->extra_args, "--send-rate")) {
    g_ptr_array_add (argv, "--send-rate");
    g_ptr_array_add (argv, "0/1");
  }
  g_ptr_array_add (argv, NULL);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  s->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  /* The ready file appears once every listener is bound. */
  for (int i = 0; i < 200; i++) {
    guint16 h = 0, t = 0, u = 0;
    if (read_ready_file (ready, &h, &t, &u) && (!s->with_udp || u != 0)) {
      s->http = h;
      s->tcp = t;
      s->udp = u;
      g_free (s->url);
      s->url = g_strdup_printf ("http://127.0.0.1:%u", h);
      return;
    }
    g_usleep (25000);
  }
  g_error ("duplexd did not write its ready file");
}

void
dx_test_server_start (DxTestServer *s, guint16 http, guint16 tcp, const char *ticker)
{
  memset (s, 0, sizeof *s);
  s->dir = g_dir_make_tmp ("duplex-test-XXXXXX", NULL);
  g_assert_nonnull (s->dir);
  spawn (s, http, tcp, ticker);
}

void
dx_test_server_start_udp (DxTestServer *s, const char *ticker)
{
  memset (s, 0, sizeof *s);
  s->with_udp = TRUE;
  s->dir = g_dir_make_tmp ("duplex-test-XXXXXX", NULL);
  g_assert_nonnull (s->dir);
  spawn (s, 0, 0, ticker);
}

void
dx_test_server_start_args (DxTestServer *s, const char *const *args)
{
  memset (s, 0, sizeof *s);
  s->extra_args = g_strdupv ((char **) args);
  s->dir = g_dir_make_tmp ("duplex-test-XXXXXX", NULL);
  g_assert_nonnull (s->dir);
  spawn (s, 0, 0, NULL);
}

void
dx_test_server_stop (DxTestServer *s)
{
  if (s->proc == NULL)
    return;
  g_subprocess_send_signal (s->proc, SIGTERM);
  g_subprocess_wait (s->proc, NULL, NULL);
  g_clear_object (&s->proc);
}

void
dx_test_server_restart (DxTestServer *s)
{
  dx_test_server_stop (s);
  /* The ports were ours a moment ago; SO_REUSEADDR makes them bindable. */
  for (int i = 0; i < 20; i++) {
    spawn (s, s->http, s->tcp, NULL);
    if (s->proc != NULL)
      return;
  }
}

void
dx_test_server_free (DxTestServer *s)
{
  g_autofree char *ready = NULL;

  dx_test_server_stop (s);
  if (s->dir != NULL) {
    ready = g_build_filename (s->dir, "ready.json", NULL);
    g_unlink (ready);
    g_rmdir (s->dir);
  }
  g_free (s->dir);
  g_free (s->url);
  g_strfreev (s->extra_args);
}

static char *
curl (const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  char *out = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;

  g_ptr_array_add (argv, "curl");
  g_ptr_array_add (argv, "-sS");
  g_ptr_array_add (argv, "--max-time");
  g_ptr_array_add (argv, "10");
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return out;
}

guint64
dx_test_post (DxTestServer *s, const char *nick, const char *room, const char *text)
{
  g_autofree char *session_url = g_strconcat (s->url, "/api/v1/session", NULL);
  g_autofree char *post_url = g_strdup_printf ("%s/api/v1/rooms/%s/messages", s->url, room);
  dx_buffer b;
  char token[DX_TOKEN_MAX + 1], got_nick[DX_NICK_MAX + 1];
  guint64 id = 0, ts = 0;

  dx_buffer_init (&b, 0);
  g_assert_true (dx_encode_session_request (&b, nick, NULL));
  const char *args1[] = {
    "-H", "Content-Type: application/json", "--data-binary", b.data, session_url, NULL
  };
  g_autofree char *answer = curl (args1);
  g_assert_true (dx_decode_session_answer (answer, strlen (answer), token, got_nick, NULL));
  dx_buffer_reset (&b);
  g_assert_true (dx_encode_post_body (&b, text, strlen (text), NULL));
  g_autofree char *auth = g_strconcat ("Authorization: Bearer ", token, NULL);
  const char *args2[] = {
    "-H", "Content-Type: application/json", "-H", auth, "--data-binary", b.data, post_url, NULL
  };
  g_autofree char *answer2 = curl (args2);
  dx_buffer_free (&b);
  g_assert_true (dx_decode_post_answer (answer2, strlen (answer2), &id, &ts, NULL));
  return id;
}

static bool
collect (const dx_msg *m, void *user)
{
  g_ptr_array_add (user, g_memdup2 (m, sizeof *m));
  return true;
}

GPtrArray *
dx_test_get_messages (DxTestServer *s, const char *room)
{
  g_autofree char *url =
      g_strdup_printf ("%s/api/v1/rooms/%s/messages?since=0&limit=1000", s->url, room);
  const char *args[] = { url, NULL };
  g_autofree char *answer = curl (args);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  guint64 last_id = 0;
  char epoch[DX_EPOCH_MAX + 1];

  g_assert_true (
      dx_decode_poll_answer (answer, strlen (answer), collect, out, &last_id, epoch, NULL));
  return out;
}

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
dx_test_wait (gboolean (*cond) (gpointer), gpointer data, guint timeout_ms)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add (timeout_ms, timeout_cb, &expired);

  while (!cond (data) && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  return cond (data);
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

void
dx_test_sleep (guint ms)
{
  dx_test_wait (never, NULL, ms);
}
