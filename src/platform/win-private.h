/* Internal helpers shared by the Windows files of src/platform/
 * (fs-win.c, errors-win.c). Never included on POSIX. */
#ifndef DX_PLATFORM_WIN_PRIVATE_H
#define DX_PLATFORM_WIN_PRIVATE_H

#ifndef _WIN32
#error "win-private.h is for Windows builds only"
#endif

#include <stddef.h>
#include <windows.h>

/* Win32/Winsock codes -> DX_E*: dx__err_from_wsa(), dx__err_last_wsa()
 * and dx__err_last_win32() in loop-private.h (defined in errors-win.c). */

/* UTF-8 <-> UTF-16 for the W APIs. dx_win_utf8_to_wide returns a malloc'd
 * string or NULL (bad UTF-8 or no memory). dx_win_wide_to_utf8 writes into
 * buf; 0 or DX_EINVAL (does not fit / bad input). */
wchar_t *dx_win_utf8_to_wide (const char *s);
int dx_win_wide_to_utf8 (const wchar_t *w, char *buf, size_t len);

#endif
