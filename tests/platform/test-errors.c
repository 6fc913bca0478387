/* dx_strerror / dx_err_name for every code, backend selection, clocks. */
#include "dxtest.h"

static void
test_names (void)
{
  static const int codes[] = {
    DX_EOF,          DX_ECANCELED,     DX_ECONNREFUSED, DX_ECONNRESET, DX_ECONNABORTED,
    DX_EADDRINUSE,   DX_EADDRNOTAVAIL, DX_EINVAL,       DX_ENOMEM,     DX_ETIMEDOUT,
    DX_EPIPE,        DX_EMFILE,        DX_EACCES,       DX_ENOTCONN,   DX_ENETUNREACH,
    DX_EHOSTUNREACH, DX_EALREADY,      DX_ENOENT,       DX_EIO,        DX_ENOTSUP,
  };
  size_t n = sizeof codes / sizeof codes[0];
  for (size_t i = 0; i < n; i++) {
    const char *text = dx_strerror (codes[i]);
    const char *name = dx_err_name (codes[i]);
    OK (text && *text && strcmp (text, "unknown error") != 0 && strncmp (name, "DX_E", 4) == 0,
        "%s: \"%s\"", name, text);
    for (size_t j = 0; j < i; j++)
      if (strcmp (dx_err_name (codes[j]), name) == 0 || strcmp (dx_strerror (codes[j]), text) == 0)
        OK (0, "%s is not unique", name);
  }
  OK (strcmp (dx_strerror (0), "success") == 0, "0 is success");
  OK (strcmp (dx_strerror (-1), "unknown error") == 0, "unknown code -> \"unknown error\"");
  OK (strcmp (dx_err_name (12345), "DX_EUNKNOWN") == 0, "unknown code -> DX_EUNKNOWN");
}

static void
test_backend (void)
{
  int err = 1;
  dx_loop *l = dx_loop_new_backend ("no-such-backend", &err);
  OK (l == NULL && err == DX_EINVAL, "unknown backend -> NULL, DX_EINVAL");
  err = 1;
  l = dx_loop_new (&err);
  OK (l != NULL && err == 0, "default loop");
  const char *want = getenv ("DUPLEX_LOOP");
  if (l && want && *want)
    OK (strcmp (dx_loop_backend (l), want) == 0, "DUPLEX_LOOP=%s honoured (%s)", want,
        dx_loop_backend (l));
  if (l)
    IS (dx_loop_free (l), 0, "free an empty loop");
}

static void
test_clocks (void)
{
  uint64_t w = dx_wall_ms ();
  OK (w > 1600000000000ull, "wall clock is ms since the epoch (%llu)", (unsigned long long) w);
  uint64_t m1 = dx_monotonic_us (), m2 = dx_monotonic_us ();
  OK (m2 >= m1, "monotonic clock does not go back");
}

int
main (int argc, char **argv)
{
  static const dxtest_case cases[] = {
    { "names", test_names },
    { "backend", test_backend },
    { "clocks", test_clocks },
  };
  return dxtest_main (argc, argv, cases, DXTEST_COUNT (cases));
}
