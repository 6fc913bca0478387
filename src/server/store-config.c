/* The store's configuration helpers (defaults, kind names) and the epoch
 * every store lifetime gets (docs/protocol.md §2: a new epoch means ids start over). */
#include "platform/random.h"
#include "protocol/hex.h"
#include "server/store-private.h"

#include <string.h>

/* ---- config --------------------------------------------------------------- */

void
dx_store_config_init (dx_store_config *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->kind = DX_STORE_MEMORY;
  cfg->sync = DX_STORE_SYNC_FULL;
}

bool
dx_store_sqlite_available (void)
{
#ifdef DX_HAVE_SQLITE
  return true;
#else
  return false;
#endif
}

bool
dx_store_kind_parse (const char *name, dx_store_kind *out)
{
  if (name && strcmp (name, "memory") == 0) {
    *out = DX_STORE_MEMORY;
    return true;
  }
  if (name && strcmp (name, "sqlite") == 0) {
    *out = DX_STORE_SQLITE;
    return true;
  }
  return false;
}

const char *
dx_store_kind_name (dx_store_kind kind)
{
  return kind == DX_STORE_SQLITE ? "sqlite" : "memory";
}

/* ---- epoch ---------------------------------------------------------------- */

static uint64_t
splitmix64 (uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void
dx_store_make_epoch (char *out)
{
  /* The epoch only has to differ between store lifetimes, not be secret.
   * The OS CSPRNG first, always mixed with clocks and addresses (ASLR)
   * so that two stores made in the same millisecond differ even if it
   * failed. */
  static unsigned counter;
  uint64_t seed = 0;
  if (dx_random_bytes (&seed, sizeof seed) != 0)
    seed = 0;
  uint64_t state = seed ^ dx_wall_ms ();
  splitmix64 (&state);
  state ^= dx_monotonic_us ();
  splitmix64 (&state);
  state ^= (uint64_t) (uintptr_t) &state ^ ((uint64_t) (uintptr_t) out << 16) ^ ++counter;
  uint64_t v = splitmix64 (&state);
  for (int i = 0; i < 12; i++)
    out[i] = dx_hex_digit ((unsigned) (v >> (i * 4)));
  out[12] = '\0';
}
