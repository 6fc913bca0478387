#include "tls/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TLS 1.2 suites: forward secret AEAD only (Mozilla "intermediate" without
 * DHE); TLS 1.3 keeps OpenSSL's default AEAD suites. */
#define DX_TLS12_CIPHERS                                                                           \
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                     \
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                     \
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
/* Plaintext queued before the handshake ends is bounded (a server that
 * writes first writes a line or two). */
#define DX_TLS_EARLY_MAX (256u * 1024u)

struct dx_tls_ctx {
  SSL_CTX *ssl; /* the current pair; connections hold their own reference */
  dx_tls_stats stats;
};

struct dx_tls {
  dx_tls_ctx *ctx;
  SSL *ssl;
  BIO *in, *out; /* memory BIOs: in = from the peer, out = to the peer */
  bool established;
  bool failed;
  char *early; /* plaintext written before the handshake finished */
  size_t early_len;
};

static void
openssl_reason (char *err, size_t errlen, const char *what, const char *file)
{
  unsigned long e = ERR_get_error ();
  char why[160] = "unknown error";
  if (e)
    ERR_error_string_n (e, why, sizeof why);
  ERR_clear_error ();
  snprintf (err, errlen, "%s %s: %s", what, file, why);
}

static int
select_alpn (SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
             unsigned int inlen, void *arg)
{
  (void) ssl;
  (void) arg;
  static const unsigned char http11[] = "\x08http/1.1";
  unsigned char *sel = NULL;
  if (SSL_select_next_proto (&sel, outlen, http11, sizeof http11 - 1, in, inlen)
      == OPENSSL_NPN_NEGOTIATED) {
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
  }
  /* A client that offers only other protocols goes on without ALPN. */
  return SSL_TLSEXT_ERR_NOACK;
}

static SSL_CTX *
load_pair (const char *cert_file, const char *key_file, char *err, size_t errlen)
{
  SSL_CTX *s = SSL_CTX_new (TLS_server_method ());
  if (s == NULL) {
    openssl_reason (err, errlen, "cannot create a TLS context for", cert_file);
    return NULL;
  }
  SSL_CTX_set_min_proto_version (s, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version (s, TLS1_3_VERSION);
  /* No renegotiation (a client-driven CPU sink), no compression (CRIME);
   * the server's cipher order, so a client cannot pick the weaker one. */
  SSL_CTX_set_options (s, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION
                              | SSL_OP_CIPHER_SERVER_PREFERENCE);
  /* Idle connections give their record buffers back (thousands of idle
   * sockets are the normal case). */
  SSL_CTX_set_mode (s, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb (s, select_alpn, NULL);
  /* Resumption: stateless tickets (TLS 1.2 and 1.3) and the server cache. */
  static const unsigned char sid_ctx[] = "duplexd";
  SSL_CTX_set_session_id_context (s, sid_ctx, sizeof sid_ctx - 1);
  SSL_CTX_set_session_cache_mode (s, SSL_SESS_CACHE_SERVER);
  if (SSL_CTX_set_cipher_list (s, DX_TLS12_CIPHERS) != 1) {
    openssl_reason (err, errlen, "cannot set the cipher list for", cert_file);
    SSL_CTX_free (s);
    return NULL;
  }
  if (SSL_CTX_use_certificate_chain_file (s, cert_file) != 1) {
    openssl_reason (err, errlen, "cannot load the certificate", cert_file);
    SSL_CTX_free (s);
    return NULL;
  }
  if (SSL_CTX_use_PrivateKey_file (s, key_file, SSL_FILETYPE_PEM) != 1) {
    unsigned long e = ERR_peek_last_error ();
    bool mismatch =
        ERR_GET_LIB (e) == ERR_LIB_X509 && ERR_GET_REASON (e) == X509_R_KEY_VALUES_MISMATCH;
    openssl_reason (
        err, errlen,
        mismatch ? "the key does not match the certificate: key" : "cannot load the key", key_file);
    SSL_CTX_free (s);
    return NULL;
  }
  if (SSL_CTX_check_private_key (s) != 1) {
    openssl_reason (err, errlen, "the key does not match the certificate", cert_file);
    SSL_CTX_free (s);
    return NULL;
  }
  return s;
}

dx_tls_ctx *
dx_tls_ctx_new (const char *cert_file, const char *key_file, char *err, size_t errlen)
{
  dx_tls_ctx *ctx = calloc (1, sizeof *ctx);
  if (ctx == NULL) {
    snprintf (err, errlen, "out of memory");
    return NULL;
  }
  ctx->ssl = load_pair (cert_file, key_file, err, errlen);
  if (ctx->ssl == NULL) {
    free (ctx);
    return NULL;
  }
  return ctx;
}

bool
dx_tls_ctx_reload (dx_tls_ctx *ctx, const char *cert_file, const char *key_file, char *err,
                   size_t errlen)
{
  SSL_CTX *s = load_pair (cert_file, key_file, err, errlen);
  if (s == NULL) {
    ctx->stats.reload_failures++;
    return false;
  }
  /* Open connections keep a reference to the old context. */
  SSL_CTX_free (ctx->ssl);
  ctx->ssl = s;
  ctx->stats.reloads++;
  return true;
}

void
dx_tls_ctx_free (dx_tls_ctx *ctx)
{
  if (ctx == NULL)
    return;
  SSL_CTX_free (ctx->ssl);
  free (ctx);
}

dx_tls_stats *
dx_tls_ctx_stats (dx_tls_ctx *ctx)
{
  return &ctx->stats;
}

dx_tls_ctx *
dx_tls_ctx_new_client (const char *ca_file, bool verify, char *err, size_t errlen)
{
  dx_tls_ctx *ctx = calloc (1, sizeof *ctx);
  SSL_CTX *s = ctx ? SSL_CTX_new (TLS_client_method ()) : NULL;
  if (s == NULL) {
    free (ctx);
    snprintf (err, errlen, "cannot create a TLS client context");
    ERR_clear_error ();
    return NULL;
  }
  ctx->ssl = s;
  SSL_CTX_set_min_proto_version (s, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version (s, TLS1_3_VERSION);
  SSL_CTX_set_mode (s, SSL_MODE_RELEASE_BUFFERS);
  static const unsigned char http11[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos (s, http11, sizeof http11 - 1);
  if (verify) {
    SSL_CTX_set_verify (s, SSL_VERIFY_PEER, NULL);
    int ok = ca_file ? SSL_CTX_load_verify_locations (s, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths (s);
    if (ok != 1) {
      openssl_reason (err, errlen, "cannot load the CA file", ca_file ? ca_file : "(system)");
      dx_tls_ctx_free (ctx);
      return NULL;
    }
  }
  return ctx;
}

static dx_tls *
new_conn (dx_tls_ctx *ctx)
{
  dx_tls *t = calloc (1, sizeof *t);
  if (t == NULL)
    return NULL;
  t->ctx = ctx;
  t->ssl = SSL_new (ctx->ssl);
  t->in = BIO_new (BIO_s_mem ());
  t->out = BIO_new (BIO_s_mem ());
  if (t->ssl == NULL || t->in == NULL || t->out == NULL) {
    BIO_free (t->in);
    BIO_free (t->out);
    SSL_free (t->ssl);
    free (t);
    ERR_clear_error ();
    return NULL;
  }
  /* An empty memory BIO means "no data yet", not end of file. */
  BIO_set_mem_eof_return (t->in, -1);
  SSL_set_bio (t->ssl, t->in, t->out); /* the SSL owns both now */
  return t;
}

dx_tls *
dx_tls_new (dx_tls_ctx *ctx)
{
  dx_tls *t = new_conn (ctx);
  if (t)
    SSL_set_accept_state (t->ssl);
  return t;
}

dx_tls *
dx_tls_new_client (dx_tls_ctx *ctx, const char *host)
{
  dx_tls *t = new_conn (ctx);
  if (t == NULL)
    return NULL;
  SSL_set_connect_state (t->ssl);
  /* SNI takes a name, never an address; verification takes either. */
  bool is_ip = strchr (host, ':') != NULL || strspn (host, "0123456789.") == strlen (host);
  if ((!is_ip && SSL_set_tlsext_host_name (t->ssl, host) != 1)
      || SSL_set1_host (t->ssl, host) != 1) {
    ERR_clear_error ();
    dx_tls_free (t);
    return NULL;
  }
  return t;
}

void
dx_tls_free (dx_tls *t)
{
  if (t == NULL)
    return;
  SSL_free (t->ssl);
  free (t->early);
  free (t);
}

bool
dx_tls_established (const dx_tls *t)
{
  return t->established;
}

static bool
fail (dx_tls *t)
{
  if (!t->failed) {
    t->failed = true;
    t->ctx->stats.failures++;
  }
  ERR_clear_error ();
  return false;
}

static bool
write_now (dx_tls *t, const void *data, size_t n)
{
  size_t done = 0;
  while (done < n) {
    size_t chunk = n - done > 1u << 30 ? 1u << 30 : n - done;
    int rc = SSL_write (t->ssl, (const char *) data + done, (int) chunk);
    if (rc <= 0)
      return fail (t);
    done += (size_t) rc;
  }
  return true;
}

bool
dx_tls_feed (dx_tls *t, const void *data, size_t n)
{
  if (t->failed)
    return false;
  if (n > 0 && BIO_write (t->in, data, (int) n) != (int) n)
    return fail (t);
  if (t->established)
    return true;
  int rc = SSL_do_handshake (t->ssl);
  if (rc == 1) {
    t->established = true;
    t->ctx->stats.handshakes++;
    if (SSL_session_reused (t->ssl))
      t->ctx->stats.resumed++;
    bool ok = true;
    if (t->early_len)
      ok = write_now (t, t->early, t->early_len);
    free (t->early);
    t->early = NULL;
    t->early_len = 0;
    return ok;
  }
  int e = SSL_get_error (t->ssl, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
    return true;
  return fail (t);
}

ptrdiff_t
dx_tls_read (dx_tls *t, void *buf, size_t cap)
{
  if (t->failed)
    return DX_TLS_ERROR;
  if (!t->established)
    return DX_TLS_AGAIN;
  int rc = SSL_read (t->ssl, buf, cap > 1u << 30 ? 1 << 30 : (int) cap);
  if (rc > 0)
    return rc;
  int e = SSL_get_error (t->ssl, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
    return DX_TLS_AGAIN;
  if (e == SSL_ERROR_ZERO_RETURN)
    return DX_TLS_CLOSED;
  fail (t);
  return DX_TLS_ERROR;
}

bool
dx_tls_write (dx_tls *t, const void *data, size_t n)
{
  if (t->failed)
    return false;
  if (t->established)
    return write_now (t, data, n);
  if (t->early_len + n > DX_TLS_EARLY_MAX)
    return false;
  char *p = realloc (t->early, t->early_len + n);
  if (p == NULL)
    return false;
  memcpy (p + t->early_len, data, n);
  t->early = p;
  t->early_len += n;
  return true;
}

void
dx_tls_close_notify (dx_tls *t)
{
  if (t->established && !t->failed)
    SSL_shutdown (t->ssl);
  ERR_clear_error ();
}

size_t
dx_tls_out_pending (const dx_tls *t)
{
  return BIO_ctrl_pending (t->out);
}

size_t
dx_tls_out_take (dx_tls *t, void *buf, size_t cap)
{
  int rc = BIO_read (t->out, buf, cap > 1u << 30 ? 1 << 30 : (int) cap);
  return rc > 0 ? (size_t) rc : 0;
}
