import COpenSSL

/// The protocol policy shared by client and server contexts: TLS 1.2 and 1.3 only, Mozilla
/// "intermediate" (v5.7) ciphers for 1.2, OpenSSL's default TLS 1.3 suites.
enum TLSPolicy {
    static let tls12Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
        + "ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
        + "DHE-RSA-CHACHA20-POLY1305"
    static let groups = "X25519:prime256v1:secp384r1"

    /// A new context of `method` with the policy applied. Starts with an empty error queue, so
    /// that errors reported while setting the context up are its own.
    static func makeContext(_ method: OpaquePointer?) throws(TLSError) -> OpaquePointer {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(method) else { throw TLSError.openSSL("cannot create a TLS context") }
        guard sl_ctx_set_min_proto_version(ctx, TLS1_2_VERSION) == 1,
              sl_ctx_set_max_proto_version(ctx, TLS1_3_VERSION) == 1,
              SSL_CTX_set_cipher_list(ctx, tls12Ciphers) == 1,
              sl_ctx_set1_groups_list(ctx, groups) == 1 else {
            SSL_CTX_free(ctx)
            throw TLSError.openSSL("cannot apply the TLS policy")
        }
        // Without close_notify a peer's EOF reads as a plain EOF: HTTP framing, not TLS, detects
        // truncated messages, and many clients just close.
        SSL_CTX_set_options(ctx, SL_OP_NO_COMPRESSION | SL_OP_NO_RENEGOTIATION | SL_OP_IGNORE_UNEXPECTED_EOF)
        SSL_CTX_clear_options(ctx, SL_OP_CIPHER_SERVER_PREFERENCE)
        // Partial writes suit the non-blocking pump; released buffers keep idle connections small.
        sl_ctx_set_mode(ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                                 | SSL_MODE_RELEASE_BUFFERS))
        return ctx
    }
}
