/* duplexd logging: one line per event on stderr, "ISO-time LEVEL text". */
#ifndef DX_SERVER_LOG_H
#define DX_SERVER_LOG_H

#include "protocol/compiler.h"

typedef enum {
  DX_LOG_ERROR = 0,
  DX_LOG_WARN = 1,
  DX_LOG_INFO = 2,
  DX_LOG_DEBUG = 3,
} dx_log_level;

/* Lines above this level are dropped (default DX_LOG_INFO). */
void dx_log_set_level (dx_log_level level);
dx_log_level dx_log_get_level (void);
/* "error", "warn", "info", "debug" -> level; -1 if unknown. */
int dx_log_level_parse (const char *name);
/* Formats wall-clock ms as "2026-11-23T14:15:38.123Z" into out (>= 25 bytes). */
void dx_log_format_time (unsigned long long wall_ms, char *out, unsigned long size);

void dx_log (dx_log_level level, const char *fmt, ...) DX_PRINTF_FORMAT (2, 3);

#define dx_log_error(...) dx_log (DX_LOG_ERROR, __VA_ARGS__)
#define dx_log_warn(...) dx_log (DX_LOG_WARN, __VA_ARGS__)
#define dx_log_info(...) dx_log (DX_LOG_INFO, __VA_ARGS__)
#define dx_log_debug(...)                                                                          \
  do {                                                                                             \
    if (dx_log_get_level () >= DX_LOG_DEBUG)                                                       \
      dx_log (DX_LOG_DEBUG, __VA_ARGS__);                                                          \
  } while (0)

#endif
