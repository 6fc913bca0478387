/* What duplex.exe needs on Windows and nowhere else: the bundle's data
 * paths, the renderer under Wine, no session bus, a font that exists.
 * Everything else in the client is the same code on both systems. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#ifdef G_OS_WIN32
/* Call once in main, after the application is created and before it
 * runs: it sets the environment GLib and GTK read at start-up, binds the
 * translations beside the executable, and checks the UI font when the
 * application starts. */
void dx_windows_init (GApplication *app);
#else
static inline void
dx_windows_init (GApplication *app)
{
}
#endif

G_END_DECLS
