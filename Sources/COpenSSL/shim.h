// OpenSSL for Swift: the headers sluice uses, plus `static inline` wrappers (prefix `sl_`) for the
// function-like macros and the SSL_OP_* constants (built with SSL_OP_BIT) that Swift cannot import.
#ifndef SLUICE_COPENSSL_SHIM_H
#define SLUICE_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>

static const uint64_t SL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
static const uint64_t SL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const uint64_t SL_OP_IGNORE_UNEXPECTED_EOF = SSL_OP_IGNORE_UNEXPECTED_EOF;
static const uint64_t SL_OP_CIPHER_SERVER_PREFERENCE = SSL_OP_CIPHER_SERVER_PREFERENCE;

static inline int sl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline int sl_ctx_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

static inline void sl_ctx_set_mode(SSL_CTX *ctx, long mode) {
    SSL_CTX_set_mode(ctx, mode);
}

static inline void sl_ctx_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    SSL_CTX_set_session_cache_mode(ctx, mode);
}

static inline int sl_ctx_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_groups_list(ctx, list);
}

static inline int sl_ctx_set_dh_auto(SSL_CTX *ctx, int on) {
    return (int)SSL_CTX_set_dh_auto(ctx, on);
}

static inline void sl_ctx_set_servername_callback(SSL_CTX *ctx, int (*callback)(SSL *, int *, void *),
                                                  void *arg) {
    SSL_CTX_set_tlsext_servername_callback(ctx, callback);
    SSL_CTX_set_tlsext_servername_arg(ctx, arg);
}

static inline int sl_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

#endif
