/* Reading a JSON document in the client tests: every scalar by its path
 * ("modes.0.mode", "deliveries.lobby.gaps"), strings decoded, numbers and
 * literals as written ("12", "900.0", "null"). */
#pragma once

#include <glib.h>

/* NULL if `text` is not one valid JSON document. */
GHashTable *dx_test_json_flatten (const char *text);
