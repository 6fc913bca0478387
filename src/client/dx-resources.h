/* The GResource bundle compiled into the program: the widget templates,
 * the style sheet and the icon, under /io/github/duplex/Duplex. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Register the bundle once. Every class with a template calls this in its
 * class_init: a constructor in the static library would be dropped by the
 * linker, and the tests build widgets without the application. */
void dx_ensure_resources (void);

G_END_DECLS
