/* Presence on the other nodes (duplexd --redis, docs/protocol.md §7): per
 * room, which nicks each remote node has members with, and its online
 * count, as its presence messages and heartbeats said. A node not heard
 * from for ttl_ms is gone (it died, or lost Redis): its nicks leave.
 * Pure: no I/O, times are given; cluster.c feeds it and asks it. */
#ifndef DX_SERVER_PRESENCE_H
#define DX_SERVER_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dx_presence dx_presence;

/* nick's presence on the remote nodes changed: it is now in room on at
 * least one of them (joined), or on none any more. */
typedef void (*dx_presence_fn) (void *arg, const char *room, const char *nick, bool joined);

dx_presence *dx_presence_new (uint64_t ttl_ms, dx_presence_fn notify, void *arg);
void dx_presence_free (dx_presence *p);

/* node's first member with nick joined room, or its last one left; online
 * is node's online count of room now. Renews node's entry for room. */
void dx_presence_update (dx_presence *p, const char *node, const char *room, const char *nick,
                         bool joined, size_t online, uint64_t now);
/* node's whole state for room: nicks[0..n) (duplicates allowed), online.
 * An empty list with online 0 drops node's entry. */
void dx_presence_sync (dx_presence *p, const char *node, const char *room, const char *const *nicks,
                       size_t n, size_t online, uint64_t now);
/* Forgets the entries not renewed within ttl_ms of now. */
void dx_presence_expire (dx_presence *p, uint64_t now);
/* Forgets everything a node said (without telling: the epoch changed). */
void dx_presence_clear (dx_presence *p);

bool dx_presence_has (const dx_presence *p, const char *room, const char *nick);
/* Every room some remote node has an entry for; visit returns false to
 * stop (the presence must not change meanwhile). */
void dx_presence_each_room (const dx_presence *p, bool (*visit) (void *arg, const char *room),
                            void *arg);
size_t dx_presence_online (const dx_presence *p, const char *room);

#endif
