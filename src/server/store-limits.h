/* The history store's limits, on their own so that the store's parts
 * (dedup.c) need not include the whole store API. */
#ifndef DX_SERVER_STORE_LIMITS_H
#define DX_SERVER_STORE_LIMITS_H

/* Largest number of messages one read returns; larger limits are clamped. */
#define DX_STORE_READ_MAX 1000
/* cid dedup window: a sender's last this-many cid-carrying messages per room. */
#define DX_STORE_DEDUP_WINDOW 1000
/* Longest room name, nick, cid, token (bytes) the store accepts. */
#define DX_STORE_NAME_MAX 64
#define DX_STORE_TOKEN_MAX 128
/* Longest text (bytes) the store accepts (docs/protocol.md §2: 4096). */
#define DX_STORE_TEXT_MAX 4096

#endif
