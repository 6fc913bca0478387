/* dx-windows.c: the Windows-only start-up of duplex.exe (see dx-windows.h).
 * Built only for Windows (src/client/meson.build). */
#include "dx-config.h"

#include <glib/gi18n.h>
#include <gtk/gtk.h>
#include <pango/pangocairo.h>
#include <windows.h>

#include "dx-windows.h"

/* Wine exports wine_get_version from its ntdll; Windows does not. */
static gboolean
running_under_wine (void)
{
  HMODULE ntdll = GetModuleHandleW (L"ntdll.dll");

  return ntdll != NULL && GetProcAddress (ntdll, "wine_get_version") != NULL;
}

/* The bundle (and the installed program) is one folder: duplex.exe, its
 * DLLs and share/. GLib returns the folder of the executable (or its
 * parent when the executable is in bin/), so both layouts work. */
static void
use_bundle_data (void)
{
  g_autofree char *root = g_win32_get_package_installation_directory_of_module (NULL);
  g_autofree char *schemas = NULL, *locale = NULL, *locale_cp = NULL;

  if (root == NULL)
    return;
  /* GSettings: our compiled schema. A directory set by the caller (the
   * tests) wins. The settings themselves go to the registry, the Windows
   * default backend. */
  schemas = g_build_filename (root, "share", "glib-2.0", "schemas", NULL);
  if (g_file_test (schemas, G_FILE_TEST_IS_DIR))
    g_setenv ("GSETTINGS_SCHEMA_DIR", schemas, FALSE);
  /* Translations: share/locale/LANG/LC_MESSAGES/duplex.mo beside the
   * executable, not the build's --prefix (meaningless on Windows).
   * libintl takes a path in the ANSI code page. */
  locale = g_build_filename (root, "share", "locale", NULL);
  locale_cp = g_win32_locale_filename_from_utf8 (locale);
  if (locale_cp != NULL) {
    bindtextdomain (GETTEXT_PACKAGE, locale_cp);
    bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  }
}

static gboolean
font_family_exists (PangoFontMap *map, const char *name)
{
  PangoFontFamily **families = NULL;
  int n = 0;
  gboolean found = FALSE;

  pango_font_map_list_families (map, &families, &n);
  for (int i = 0; i < n && !found; i++)
    found = g_ascii_strcasecmp (pango_font_family_get_name (families[i]), name) == 0;
  g_free (families);
  return found;
}

/* GTK takes its font from the system's message font ("Tahoma" under
 * Wine, "Segoe UI" on Windows). Where that family is not installed every
 * glyph would be drawn as a box: switch to one that is. */
static void
ensure_ui_font (GdkDisplayManager *manager, GdkDisplay *display, gpointer data)
{
  static const char *const fallbacks[] = { "Segoe UI", "Tahoma", "Arial", "Verdana",
                                           "DejaVu Sans" };
  GtkSettings *settings = gtk_settings_get_for_display (display);
  PangoFontMap *map = pango_cairo_font_map_get_default ();
  g_autofree char *font_name = NULL;
  PangoFontDescription *desc;
  const char *family;

  if (settings == NULL || map == NULL)
    return;
  g_object_get (settings, "gtk-font-name", &font_name, NULL);
  desc = pango_font_description_from_string (font_name != NULL ? font_name : "");
  family = pango_font_description_get_family (desc);
  if (family == NULL || !font_family_exists (map, family)) {
    for (guint i = 0; i < G_N_ELEMENTS (fallbacks); i++) {
      if (font_family_exists (map, fallbacks[i])) {
        g_autofree char *name = NULL;
        int size = pango_font_description_get_size (desc) / PANGO_SCALE;

        name = g_strdup_printf ("%s %d", fallbacks[i], size > 0 ? size : 9);
        g_message ("UI font “%s” is not installed, using “%s”", family != NULL ? family : "", name);
        g_object_set (settings, "gtk-font-name", name, NULL);
        break;
      }
    }
  }
  pango_font_description_free (desc);
}

void
dx_windows_init (void)
{
  use_bundle_data ();
  /* Wine's OpenGL on an X server without GL acceleration (Xvfb, remote
   * displays) does not draw GTK's GL renderer reliably; cairo draws
   * correctly. The user's own choice wins. */
  if (running_under_wine ())
    g_setenv ("GSK_RENDERER", "cairo", FALSE);
  /* Windows has no session bus. Asked for one (GApplication's
   * registration, the settings portal), GLib would start gdbus.exe from
   * beside its DLL as a bus daemon that outlives the window, or warn
   * "win32 session dbus binary not found" when it is absent, as in our
   * bundle. An address with an unknown transport fails at once, quietly,
   * and the application runs unregistered, as a non-unique one should. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "none:", FALSE);
  /* Before the first frame: GTK opens the display in its start-up. */
  g_signal_connect (gdk_display_manager_get (), "display-opened", G_CALLBACK (ensure_ui_font),
                    NULL);
}
