/* duplex: the GTK4 chat client. */
#include "dx-config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "dx-application.h"
#include "dx-windows.h"

int
main (int argc, char *argv[])
{
  g_autoptr (DxApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, DX_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  dx_windows_init ();
  app = dx_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
