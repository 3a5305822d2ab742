import COpenSSL
import Config

/// Loads one `certificate CERT KEY` pair into a new server context with the policy applied.
enum ServerCertificate {
    static func makeContext(_ config: CertificateConfig) throws(TLSError) -> OpaquePointer {
        let certificate = config.certificatePath
        let key = config.keyPath
        try TLSError.checkReadable(certificate)
        try TLSError.checkReadable(key)
        let ctx = try TLSPolicy.makeContext(TLS_server_method())
        do throws(TLSError) {
            // The leaf first, then any intermediates of the same file, all sent to clients.
            guard SSL_CTX_use_certificate_chain_file(ctx, certificate) == 1 else {
                throw TLSError.openSSL("invalid certificate \(certificate)")
            }
            let privateKey = try loadPrivateKey(key)
            defer { EVP_PKEY_free(privateKey) }
            // use_PrivateKey refuses a key of the certificate's type that does not match it; the
            // check catches a key of another type (an EC key for an RSA certificate).
            guard SSL_CTX_use_PrivateKey(ctx, privateKey) == 1, SSL_CTX_check_private_key(ctx) == 1 else {
                ERR_clear_error()
                throw TLSError("\(key) does not match \(certificate)")
            }
        } catch {
            SSL_CTX_free(ctx)
            throw error
        }
        return ctx
    }

    private static func loadPrivateKey(_ path: String) throws(TLSError) -> OpaquePointer {
        guard let file = BIO_new_file(path, "r") else { throw TLSError.openSSL("cannot read \(path)") }
        defer { BIO_free(file) }
        guard let key = PEM_read_bio_PrivateKey(file, nil, refusePassphrase, nil) else {
            // OpenSSL's reasons here ("unsupported", "bad decrypt") do not help an operator.
            ERR_clear_error()
            throw TLSError("invalid private key \(path): not an unencrypted PEM key")
        }
        return key
    }
}

/// A passphrase callback that supplies none: an encrypted key fails to load instead of OpenSSL
/// prompting on the terminal.
private let refusePassphrase: @convention(c) (
    UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?
) -> Int32 = { _, _, _, _ in -1 }
