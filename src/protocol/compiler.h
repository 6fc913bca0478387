/* Compiler attributes shared by every layer. */
#ifndef DX_PROTOCOL_COMPILER_H
#define DX_PROTOCOL_COMPILER_H

/* printf-style format checking. mingw-w64 builds use the C99-conforming
 * stdio (__USE_MINGW_ANSI_STDIO), so check against GNU printf there: the
 * plain "printf" archetype means msvcrt's, which rejects %zu and %llu. */
#if defined(__GNUC__) && defined(__MINGW32__)
#define DX_PRINTF_FORMAT(fmt, args) __attribute__ ((format (gnu_printf, fmt, args)))
#elif defined(__GNUC__)
#define DX_PRINTF_FORMAT(fmt, args) __attribute__ ((format (printf, fmt, args)))
#else
#define DX_PRINTF_FORMAT(fmt, args)
#endif

#endif
