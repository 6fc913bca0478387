/* What duplex.exe needs on Windows and nowhere else: the bundle's data
 * paths, the renderer under Wine, no session bus, a font that exists.
 * Everything else in the client is the same code on both systems. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#ifdef G_OS_WIN32
/* Call once in main, after textdomain () and before the application is
 * created (it translates texts when it is): it sets the environment GLib
 * and GTK read at start-up, binds the translations beside the executable,
 * and checks the UI font when GTK opens the display. */
void dx_windows_init (void);
#else
static inline void
dx_windows_init (void)
{
}
#endif

G_END_DECLS
