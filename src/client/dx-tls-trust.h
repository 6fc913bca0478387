/* DxTlsTrust: the one place every TLS connection of the client (libsoup's
 * HTTP modes, WebSocket, SSE, raw TCP) decides about a certificate that
 * does not verify against the system's authorities (docs/protocol.md §9):
 * accepted when a CA given with --ca signs it, or when the person trusted
 * exactly this certificate for this server before (DxKnownHosts);
 * otherwise refused, and the refusal kept so that the window can explain
 * it and offer to trust it. A changed certificate is never trusted from
 * the window: its line must be removed from the file by hand, as with SSH. */
#pragma once

#include <libsoup/soup.h>

#include "dx-known-hosts.h"

G_BEGIN_DECLS

#define DX_TYPE_TLS_TRUST (dx_tls_trust_get_type ())
G_DECLARE_FINAL_TYPE (DxTlsTrust, dx_tls_trust, DX, TLS_TRUST, GObject)

/* The process's store (known hosts under g_get_user_config_dir ()/duplex),
 * so that every connection checks the same one. */
DxTlsTrust *dx_tls_trust_get_default (void);
DxKnownHosts *dx_tls_trust_get_known_hosts (DxTlsTrust *self);
/* --ca FILE: PEM certificates of authorities to accept besides the system's. */
gboolean dx_tls_trust_add_ca_file (DxTlsTrust *self, const char *path, GError **error);

/* Whether this build can speak TLS at all (glib-networking loaded; the
 * Windows build has no TLS backend). */
gboolean dx_tls_available (void);

/* The decision for a certificate that failed verification with errors. */
gboolean dx_tls_trust_accept (DxTlsTrust *self, const char *host_port, GSocketConnectable *identity,
                              GTlsCertificate *cert, GTlsCertificateFlags errors);
/* Check the TLS connections a GSocketClient makes (set_tls on it). */
void dx_tls_trust_watch_client (DxTlsTrust *self, GSocketClient *client);
/* Check every message of a libsoup session. */
void dx_tls_trust_watch_session (DxTlsTrust *self, SoupSession *session);

/* The last refusal: NULL host when there is none. */
const char *dx_tls_trust_get_refused_host (DxTlsTrust *self);
/* Whether it may be trusted from the window (FALSE for a changed one). */
gboolean dx_tls_trust_get_refused_can_trust (DxTlsTrust *self);
/* Who issued it, for which name, why it fails, its fingerprint: in words. */
char *dx_tls_trust_describe_refusal (DxTlsTrust *self);
/* Remember the refused certificate for its server (known hosts). */
gboolean dx_tls_trust_trust_refused (DxTlsTrust *self, GError **error);

G_END_DECLS
