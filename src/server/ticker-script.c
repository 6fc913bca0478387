#include "server/ticker-script.h"

#include "platform/fs.h"
#include "platform/loop.h"
#include "protocol/names.h"
#include "protocol/utf8.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dx_ticker_script {
  char *text;   /* the file's bytes, each kept line NUL-terminated in place */
  size_t count; /* lines to post */
  size_t *off;  /* line i is text[off[i]] ... */
  size_t *len;  /* ... len[i] bytes */
};

/* 1-based number of the line holding byte offset at. */
static size_t
line_of (const char *data, size_t at)
{
  size_t line = 1;
  for (size_t i = 0; i < at; i++)
    line += data[i] == '\n';
  return line;
}

static bool
is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

void
dx_ticker_script_free (dx_ticker_script *s)
{
  if (s == NULL)
    return;
  free (s->text);
  free (s->off);
  free (s->len);
  free (s);
}

/* Checks the bytes as a whole: UTF-8, no NUL. */
static bool
check_bytes (const char *data, size_t len, char *err, size_t errlen)
{
  size_t bad;
  if (!dx_utf8_check (data, len, &bad)) {
    snprintf (err, errlen, "line %zu is not valid UTF-8 (byte %zu of the file)",
              line_of (data, bad), bad + 1);
    return false;
  }
  const char *nul = memchr (data, '\0', len);
  if (nul) {
    snprintf (err, errlen, "line %zu holds a NUL byte", line_of (data, (size_t) (nul - data)));
    return false;
  }
  return true;
}

dx_ticker_script *
dx_ticker_script_parse (const char *data, size_t len, char *err, size_t errlen)
{
  if (len >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0) {
    data += 3; /* a byte-order mark, as Windows editors write */
    len -= 3;
  }
  if (!check_bytes (data, len, err, errlen))
    return NULL;
  size_t max_lines = 1;
  for (size_t i = 0; i < len; i++)
    max_lines += data[i] == '\n';
  dx_ticker_script *s = calloc (1, sizeof *s);
  if (s == NULL || (s->text = malloc (len + 1)) == NULL
      || (s->off = malloc (max_lines * sizeof *s->off)) == NULL
      || (s->len = malloc (max_lines * sizeof *s->len)) == NULL) {
    dx_ticker_script_free (s);
    snprintf (err, errlen, "out of memory");
    return NULL;
  }
  memcpy (s->text, data, len);
  s->text[len] = '\0';

  size_t lineno = 0;
  for (size_t start = 0; start <= len;) {
    const char *nl = memchr (s->text + start, '\n', len - start);
    size_t end = nl ? (size_t) (nl - s->text) : len;
    size_t next = end + 1;
    lineno++;
    while (end > start && is_blank (s->text[end - 1]))
      end--;
    size_t first = start;
    while (first < end && is_blank (s->text[first]))
      first++;
    if (first < end && s->text[first] != '#') {
      if (end - start > DX_TEXT_MAX) {
        snprintf (err, errlen, "line %zu is %zu bytes, over the %d a message may hold", lineno,
                  end - start, DX_TEXT_MAX);
        dx_ticker_script_free (s);
        return NULL;
      }
      s->text[end] = '\0';
      s->off[s->count] = start;
      s->len[s->count] = end - start;
      s->count++;
    }
    start = next;
  }
  if (s->count == 0) {
    snprintf (err, errlen, "no line to post (only blank lines and # comments)");
    dx_ticker_script_free (s);
    return NULL;
  }
  return s;
}

dx_ticker_script *
dx_ticker_script_load (const char *path, char *err, size_t errlen)
{
  char *data = NULL;
  size_t len = 0;
  int rc = dx_fs_read_file (path, DX_TICKER_SCRIPT_MAX, &data, &len);
  if (rc == DX_EINVAL) {
    snprintf (err, errlen, "%s: not a regular file of at most %u bytes", path,
              DX_TICKER_SCRIPT_MAX);
    return NULL;
  }
  if (rc < 0) {
    snprintf (err, errlen, "%s: %s", path, dx_strerror (rc));
    return NULL;
  }
  char why[160];
  dx_ticker_script *s = dx_ticker_script_parse (data, len, why, sizeof why);
  free (data);
  if (s == NULL)
    snprintf (err, errlen, "%s: %s", path, why);
  return s;
}

size_t
dx_ticker_script_count (const dx_ticker_script *s)
{
  return s->count;
}

const char *
dx_ticker_script_line (const dx_ticker_script *s, size_t i, size_t *len)
{
  *len = s->len[i];
  return s->text + s->off[i];
}
