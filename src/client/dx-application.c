#include "dx-config.h"

#include <glib/gi18n.h>
#ifdef G_OS_UNIX
#include <glib-unix.h>
#include <signal.h>
#endif

#include "protocol/names.h"

#include "dx-application.h"
#include "dx-resources.h"
#include "dx-settings.h"
#include "dx-stats-export.h"
#include "dx-text.h"
#include "dx-tls-trust.h"
#include "dx-window.h"

struct _DxApplication {
  GtkApplication parent_instance;
  DxSettings *settings;
  char *server;
  char *nick;
  char *room;
  DxMode mode;
  gboolean compare;
  int udp_loss;        /* --udp-loss: percent of datagrams dropped on arrival, -1 unset */
  gboolean udp_repair; /* --udp-repair */
  char *stats_file;    /* --stats-file: the export written on exit */
  char *password;      /* --password-file's first line; in memory only */
  DxChat *chat;        /* the main window's, kept for the export on exit */
  DxRunLog *run_log;
  GDBusProxy *portal;
  guint sigterm_source; /* SIGTERM and SIGINT quit like app.quit (POSIX) */
  guint sigint_source;
};

G_DEFINE_FINAL_TYPE (DxApplication, dx_application, GTK_TYPE_APPLICATION)

/* ---- command line ---- */

/* The server's password from a file, by duplexd's own rule for its
 * --password-file (docs/protocol.md §9): the first line, without its line
 * end and trailing spaces or tabs. A file rather than an argument keeps the
 * password out of `ps` and shell history. */
static char *
read_password_file (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0, end;
  char *line;

  if (!g_file_get_contents (path, &data, &len, error))
    return NULL;
  end = strcspn (data, "\r\n");
  while (end > 0 && (data[end - 1] == ' ' || data[end - 1] == '\t'))
    end--;
  line = g_strndup (data, end);
  memset (data, 0, len);
  if (line[0] == '\0' || !g_utf8_validate (line, -1, NULL)) {
    g_free (line);
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                 _ ("the first line is empty or not UTF-8 text"));
    return NULL;
  }
  return line;
}

static gint
dx_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  DxApplication *self = DX_APPLICATION (app);
  const char *server = NULL, *nick = NULL, *room = NULL, *transport = NULL;
  const char *stats_file = NULL, *ca = NULL, *password_file = NULL;

  if (g_variant_dict_contains (options, "version")) {
    g_print ("duplex %s\n", DX_VERSION);
    return 0;
  }
  g_variant_dict_lookup (options, "server", "&s", &server);
  g_variant_dict_lookup (options, "nick", "&s", &nick);
  g_variant_dict_lookup (options, "room", "&s", &room);
  g_variant_dict_lookup (options, "transport", "&s", &transport);
  g_variant_dict_lookup (options, "stats-file", "^&ay", &stats_file);
  g_variant_dict_lookup (options, "ca", "^&ay", &ca);
  g_variant_dict_lookup (options, "password-file", "^&ay", &password_file);
  self->compare = g_variant_dict_contains (options, "compare");
  self->udp_repair = g_variant_dict_contains (options, "udp-repair");
  if (g_variant_dict_lookup (options, "udp-loss", "i", &self->udp_loss)
      && (self->udp_loss < 0 || self->udp_loss > 100)) {
    g_printerr (_ ("duplex: --udp-loss must be a percentage from 0 to 100\n"));
    return 2;
  }
  if (stats_file != NULL && stats_file[0] != '\0') {
    g_free (self->stats_file);
    self->stats_file = g_strdup (stats_file);
  }

  if (server != NULL) {
    g_autoptr (GUri) uri = g_uri_parse (server, G_URI_FLAGS_NONE, NULL);
    if (uri == NULL
        || (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0
            && g_strcmp0 (g_uri_get_scheme (uri), "https") != 0)) {
      g_printerr (_ ("duplex: --server must be an http:// or https:// URL, not “%s”\n"), server);
      return 2;
    }
    /* The Windows build has no TLS backend (no glib-networking). */
    if (g_strcmp0 (g_uri_get_scheme (uri), "https") == 0 && !dx_tls_available ()) {
      g_printerr (_ ("duplex: this build has no TLS support (GIO's TLS backend, "
                     "glib-networking, is missing), so it cannot reach “%s”; use an "
                     "http:// server\n"),
                  server);
      return 2;
    }
    g_free (self->server);
    self->server = g_strdup (server);
  }
  if (ca != NULL && ca[0] != '\0') {
    g_autoptr (GError) error = NULL;
    /* Added to the system's authorities, not instead of them. */
    if (!dx_tls_trust_add_ca_file (dx_tls_trust_get_default (), ca, &error)) {
      g_printerr (_ ("duplex: --ca: %s\n"), error->message);
      return 2;
    }
  }
  if (password_file != NULL && password_file[0] != '\0') {
    g_autoptr (GError) error = NULL;
    char *password = read_password_file (password_file, &error);
    if (password == NULL) {
      g_printerr (_ ("duplex: --password-file %s: %s\n"), password_file, error->message);
      return 2;
    }
    g_free (self->password);
    self->password = password;
  }
  if (nick != NULL) {
    if (!dx_nick_valid (nick, strlen (nick)) || dx_nick_reserved (nick, strlen (nick))) {
      g_printerr (_ ("duplex: --nick must be 1–32 characters of A–Z a–z 0–9 _ . - "
                     "(not “ticker” or “server”)\n"));
      return 2;
    }
    g_free (self->nick);
    self->nick = g_strdup (nick);
  }
  if (room != NULL) {
    if (!dx_room_valid (room, strlen (room))) {
      g_printerr (_ ("duplex: --room must be 1–32 characters of a–z 0–9 _ -\n"));
      return 2;
    }
    g_free (self->room);
    self->room = g_strdup (room);
  }
  if (transport != NULL) {
    int mode = dx_mode_from_string (transport);
    if (mode < 0) {
      g_printerr (_ ("duplex: --transport must be poll, longpoll, sse, websocket, tcp or udp\n"));
      return 2;
    }
    self->mode = mode;
  }
  return -1;
}

/* ---- dark style from the desktop portal ---- */

static void
apply_color_scheme (GVariant *value)
{
  g_autoptr (GVariant) inner = NULL;
  guint32 scheme;

  /* Read returns v wrapped in v on some portal versions: unwrap all. */
  inner = g_variant_ref (value);
  while (g_variant_is_of_type (inner, G_VARIANT_TYPE_VARIANT)) {
    GVariant *next = g_variant_get_variant (inner);
    g_variant_unref (inner);
    inner = next;
  }
  if (!g_variant_is_of_type (inner, G_VARIANT_TYPE_UINT32))
    return;
  scheme = g_variant_get_uint32 (inner);
  /* 1 = prefer dark, 2 = prefer light, 0 = no preference. */
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", scheme == 1,
                NULL);
}

static void
portal_signal (GDBusProxy *proxy, const char *sender, const char *signal, GVariant *params,
               gpointer data)
{
  const char *ns, *key;
  g_autoptr (GVariant) value = NULL;

  if (g_strcmp0 (signal, "SettingChanged") != 0)
    return;
  g_variant_get (params, "(&s&sv)", &ns, &key, &value);
  if (g_str_equal (ns, "org.freedesktop.appearance") && g_str_equal (key, "color-scheme"))
    apply_color_scheme (value);
}

static void
portal_read_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GVariant) ret = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, NULL);
  g_autoptr (GVariant) value = NULL;

  if (ret == NULL)
    return; /* no portal: keep the theme's default */
  g_variant_get (ret, "(v)", &value);
  apply_color_scheme (value);
}

static void
portal_ready (GObject *source, GAsyncResult *result, gpointer data)
{
  DxApplication *self = data;
  GDBusProxy *proxy = g_dbus_proxy_new_for_bus_finish (result, NULL);

  if (proxy != NULL) {
    self->portal = proxy;
    g_signal_connect (proxy, "g-signal", G_CALLBACK (portal_signal), NULL);
    g_dbus_proxy_call (proxy, "Read",
                       g_variant_new ("(ss)", "org.freedesktop.appearance", "color-scheme"),
                       G_DBUS_CALL_FLAGS_NONE, 2000, NULL, portal_read_done, NULL);
  }
  g_object_unref (self);
}

static void
follow_system_style (DxApplication *self)
{
  /* GTK 4.8 without libadwaita has no AdwStyleManager: ask the portal. */
  g_dbus_proxy_new_for_bus (
      G_BUS_TYPE_SESSION, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START_AT_CONSTRUCTION, NULL,
      "org.freedesktop.portal.Desktop", "/org/freedesktop/portal/desktop",
      "org.freedesktop.portal.Settings", NULL, portal_ready, g_object_ref (self));
}

/* ---- actions ---- */

static void
quit_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  GtkApplication *app = data;
  GList *windows = gtk_application_get_windows (app);

  /* Close windows so transports say goodbye (WebSocket close 1000). */
  for (GList *l = windows; l != NULL;) {
    GList *next = l->next;
    gtk_window_destroy (l->data);
    l = next;
  }
  g_application_quit (G_APPLICATION (app));
}

static void
about_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  GtkApplication *app = data;
  const char *authors[] = { "The Duplex developers", NULL };

  gtk_show_about_dialog (gtk_application_get_active_window (app), "program-name", "Duplex",
                         "logo-icon-name", DX_APP_ID, "version", DX_VERSION, "comments",
                         _ ("Chat over six transports and see what each one costs"), "license-type",
                         GTK_LICENSE_MIT_X11, "authors", authors, "translator-credits",
                         _ ("translator-credits"), NULL);
}

static void
activate_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  g_application_activate (G_APPLICATION (data));
}

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = quit_action },
  { .name = "about", .activate = about_action },
  { .name = "activate", .activate = activate_action },
};

#ifdef G_OS_UNIX
/* `kill`, a session manager logging out, or Ctrl+C in the terminal: quit
 * through app.quit, so that transports say goodbye and shutdown still
 * writes --stats-file. */
static gboolean
quit_on_signal (gpointer app)
{
  g_action_group_activate_action (G_ACTION_GROUP (app), "quit", NULL);
  return G_SOURCE_CONTINUE;
}
#endif

static void
dx_application_startup (GApplication *app)
{
  DxApplication *self = DX_APPLICATION (app);
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  static const struct {
    const char *action;
    const char *accel;
  } accels[] = {
    { "win.mode::poll", "<Control>1" }, { "win.mode::longpoll", "<Control>2" },
    { "win.mode::sse", "<Control>3" },  { "win.mode::websocket", "<Control>4" },
    { "win.mode::tcp", "<Control>5" },  { "win.mode::udp", "<Control>6" },
    { "win.compare", "<Control>k" },    { "win.focus-entry", "<Control>l" },
    { "win.focus-join", "<Control>j" }, { "app.quit", "<Control>q" },
    { "win.inspector", "<Control>i" },
  };

  dx_ensure_resources ();
  G_APPLICATION_CLASS (dx_application_parent_class)->startup (app);
#ifdef G_OS_UNIX
  self->sigterm_source = g_unix_signal_add (SIGTERM, quit_on_signal, app);
  self->sigint_source = g_unix_signal_add (SIGINT, quit_on_signal, app);
#endif
  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions),
                                   app);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++) {
    const char *list[] = { accels[i].accel, NULL };
    gtk_application_set_accels_for_action (GTK_APPLICATION (app), accels[i].action, list);
  }
  gtk_css_provider_load_from_resource (css, "/io/github/duplex/Duplex/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  gtk_icon_theme_add_resource_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                                    "/io/github/duplex/Duplex/icons");
  gtk_window_set_default_icon_name (DX_APP_ID);
  follow_system_style (self);
}

static void
dx_application_activate (GApplication *app)
{
  DxApplication *self = DX_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_autofree char *server = NULL, *nick = NULL, *room = NULL, *transport = NULL;
  int mode;

  if (window != NULL) {
    gtk_window_present (window);
    return;
  }
  /* Command line first, then GSettings (or its defaults). */
  server = self->server != NULL ? g_strdup (self->server)
                                : dx_settings_get_string (self->settings, "server");
  nick =
      self->nick != NULL ? g_strdup (self->nick) : dx_settings_get_string (self->settings, "nick");
  if (nick[0] == '\0' || !dx_nick_valid (nick, strlen (nick))
      || dx_nick_reserved (nick, strlen (nick))) {
    g_free (nick);
    nick = dx_nick_from_name (g_get_user_name ());
  }
  room =
      self->room != NULL ? g_strdup (self->room) : dx_settings_get_string (self->settings, "room");
  if (!dx_room_valid (room, strlen (room))) {
    g_free (room);
    room = g_strdup ("lobby");
  }
  transport = dx_settings_get_transport (self->settings);
  mode = (int) self->mode >= 0 ? (int) self->mode : dx_mode_from_string (transport);
  if (mode < 0)
    mode = DX_MODE_WEBSOCKET;
  window =
      GTK_WINDOW (dx_window_new (GTK_APPLICATION (app), self->settings, server, nick, room, mode));
  /* Before the transport opens: it opens once the history is in. */
  if (self->password != NULL)
    dx_chat_set_password (dx_window_get_chat (DX_WINDOW (window)), self->password);
  if (self->udp_loss >= 0)
    dx_chat_set_udp_loss (dx_window_get_chat (DX_WINDOW (window)), (guint) self->udp_loss);
  if (self->udp_repair)
    dx_chat_set_udp_repair (dx_window_get_chat (DX_WINDOW (window)), TRUE);
  if (self->compare)
    dx_window_set_compare (DX_WINDOW (window), TRUE);
  /* The window stops its chat when it closes; the figures stay readable. */
  g_set_object (&self->chat, dx_window_get_chat (DX_WINDOW (window)));
  g_set_object (&self->run_log, dx_window_get_run_log (DX_WINDOW (window)));
  gtk_window_present (window);
}

static void
dx_application_shutdown (GApplication *app)
{
  DxApplication *self = DX_APPLICATION (app);
  g_autoptr (GError) error = NULL;

#ifdef G_OS_UNIX
  g_clear_handle_id (&self->sigterm_source, g_source_remove);
  g_clear_handle_id (&self->sigint_source, g_source_remove);
#endif
  /* Windows are gone by now (closed, or destroyed by app.quit). */
  if (self->stats_file != NULL && self->chat != NULL
      && !dx_stats_export_save (self->chat, self->run_log, self->stats_file, DX_STATS_FORMAT_JSON,
                                &error))
    g_printerr (_ ("duplex: could not write the statistics to “%s”: %s\n"), self->stats_file,
                error->message);
  G_APPLICATION_CLASS (dx_application_parent_class)->shutdown (app);
}

static void
dx_application_dispose (GObject *object)
{
  DxApplication *self = DX_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->chat);
  g_clear_object (&self->run_log);
  g_clear_object (&self->portal);
  G_OBJECT_CLASS (dx_application_parent_class)->dispose (object);
}

static void
dx_application_finalize (GObject *object)
{
  DxApplication *self = DX_APPLICATION (object);

  g_free (self->server);
  g_free (self->nick);
  g_free (self->room);
  g_free (self->stats_file);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  G_OBJECT_CLASS (dx_application_parent_class)->finalize (object);
}

static void
dx_application_class_init (DxApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = dx_application_dispose;
  G_OBJECT_CLASS (klass)->finalize = dx_application_finalize;
  app_class->handle_local_options = dx_application_handle_local_options;
  app_class->startup = dx_application_startup;
  app_class->activate = dx_application_activate;
  app_class->shutdown = dx_application_shutdown;
}

static void
dx_application_init (DxApplication *self)
{
  static const GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, NULL,
      N_ ("Server URL (http://host:port or https://host:port)"), "URL" },
    { "nick", 'n', 0, G_OPTION_ARG_STRING, NULL, N_ ("Nick to chat as"), "NICK" },
    { "room", 'r', 0, G_OPTION_ARG_STRING, NULL, N_ ("Room to join"), "ROOM" },
    { "transport", 't', 0, G_OPTION_ARG_STRING, NULL,
      N_ ("Transport: poll, longpoll, sse, websocket, tcp or udp"), "MODE" },
    { "udp-loss", 0, 0, G_OPTION_ARG_INT, NULL,
      N_ ("UDP mode: drop this share of incoming datagrams (simulated loss)"), "PERCENT" },
    { "udp-repair", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_ ("UDP mode: start with gap repair over HTTP on"), NULL },
    { "compare", 'c', 0, G_OPTION_ARG_NONE, NULL, N_ ("Open the compare view"), NULL },
    { "ca", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      N_ ("Also trust the certificate authorities in this PEM file (https:// servers)"), "FILE" },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      N_ ("Read the server's password from the first line of FILE"), "FILE" },
    { "stats-file", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      N_ ("On exit, write what each transport cost as JSON to PATH"), "PATH" },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_ ("Print the version and exit"), NULL },
    { NULL },
  };

  self->mode = (DxMode) -1;
  self->udp_loss = -1;
  self->settings = dx_settings_new ();
  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_summary (
      G_APPLICATION (self), _ ("A chat client that carries one chat over six transports."));
}

DxApplication *
dx_application_new (void)
{
  /* Not unique: several windows with different nicks side by side are
   * the point of a transport lab. */
  return g_object_new (DX_TYPE_APPLICATION, "application-id", DX_APP_ID, "flags",
                       G_APPLICATION_NON_UNIQUE, "resource-base-path", "/io/github/duplex/Duplex",
                       NULL);
}
