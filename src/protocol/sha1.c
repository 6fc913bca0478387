#include "protocol/sha1.h"

#include <string.h>

static uint32_t
rol (uint32_t x, unsigned n)
{
  return (x << n) | (x >> (32 - n));
}

static void
sha1_block (dx_sha1_ctx *ctx, const uint8_t *p)
{
  uint32_t w[80];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16 | (uint32_t) p[4 * i + 2] << 8
           | (uint32_t) p[4 * i + 3];
  for (int i = 16; i < 80; i++)
    w[i] = rol (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);

  uint32_t a = ctx->h[0], b = ctx->h[1], c = ctx->h[2], d = ctx->h[3], e = ctx->h[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5A827999u;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ED9EBA1u;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8F1BBCDCu;
    } else {
      f = b ^ c ^ d;
      k = 0xCA62C1D6u;
    }
    uint32_t t = rol (a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rol (b, 30);
    b = a;
    a = t;
  }
  ctx->h[0] += a;
  ctx->h[1] += b;
  ctx->h[2] += c;
  ctx->h[3] += d;
  ctx->h[4] += e;
}

void
dx_sha1_init (dx_sha1_ctx *ctx)
{
  ctx->h[0] = 0x67452301u;
  ctx->h[1] = 0xEFCDAB89u;
  ctx->h[2] = 0x98BADCFEu;
  ctx->h[3] = 0x10325476u;
  ctx->h[4] = 0xC3D2E1F0u;
  ctx->total_len = 0;
  ctx->block_len = 0;
}

void
dx_sha1_update (dx_sha1_ctx *ctx, const void *data, size_t len)
{
  const uint8_t *p = data;
  ctx->total_len += len;
  if (ctx->block_len) {
    size_t take = 64 - ctx->block_len;
    if (take > len)
      take = len;
    memcpy (ctx->block + ctx->block_len, p, take);
    ctx->block_len += take;
    p += take;
    len -= take;
    if (ctx->block_len < 64)
      return;
    sha1_block (ctx, ctx->block);
    ctx->block_len = 0;
  }
  while (len >= 64) {
    sha1_block (ctx, p);
    p += 64;
    len -= 64;
  }
  if (len) {
    memcpy (ctx->block, p, len);
    ctx->block_len = len;
  }
}

void
dx_sha1_final (dx_sha1_ctx *ctx, uint8_t out[DX_SHA1_DIGEST_LEN])
{
  uint64_t bits = ctx->total_len * 8;
  ctx->block[ctx->block_len++] = 0x80;
  if (ctx->block_len > 56) {
    memset (ctx->block + ctx->block_len, 0, 64 - ctx->block_len);
    sha1_block (ctx, ctx->block);
    ctx->block_len = 0;
  }
  memset (ctx->block + ctx->block_len, 0, 56 - ctx->block_len);
  for (int i = 0; i < 8; i++)
    ctx->block[56 + i] = (uint8_t) (bits >> (56 - 8 * i));
  sha1_block (ctx, ctx->block);
  for (int i = 0; i < 5; i++) {
    out[4 * i] = (uint8_t) (ctx->h[i] >> 24);
    out[4 * i + 1] = (uint8_t) (ctx->h[i] >> 16);
    out[4 * i + 2] = (uint8_t) (ctx->h[i] >> 8);
    out[4 * i + 3] = (uint8_t) ctx->h[i];
  }
  ctx->block_len = 0;
}

void
dx_sha1 (const void *data, size_t len, uint8_t out[DX_SHA1_DIGEST_LEN])
{
  dx_sha1_ctx ctx;
  dx_sha1_init (&ctx);
  dx_sha1_update (&ctx, data, len);
  dx_sha1_final (&ctx, out);
}
