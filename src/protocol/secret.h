/* Comparing a secret (the server --password, docs/protocol.md §9) in time
 * that does not depend on where the two strings first differ. */
#ifndef DX_PROTOCOL_SECRET_H
#define DX_PROTOCOL_SECRET_H

#include <stdbool.h>

/* given == want, reading every byte of want whatever given holds (the
 * time depends only on the lengths, and want's is the server's own). */
bool dx_secret_equal (const char *given, const char *want);

#endif
