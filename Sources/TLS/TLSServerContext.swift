import COpenSSL
import Config
import Glibc

/// The TLS side of one frontend: one SSL_CTX per certificate, chosen by SNI, the first being the
/// default. Created by the master before it forks, so all workers of a generation share the
/// session ticket keys; a reload creates new contexts, which rotates them.
/// Keep it alive as long as any connection accepted with it: the SNI callback refers to it.
public final class TLSServerContext: @unchecked Sendable {
    /// In configuration order; connections start on [0] and move to another one by SNI.
    let contexts: [OpaquePointer]
    let selector: ServerNameSelector

    /// `http2`: offer `h2` in ALPN (before `http/1.1`).
    public init(certificates: [CertificateConfig], http2: Bool = false) throws(TLSError) {
        guard !certificates.isEmpty else { throw TLSError("a TLS listener needs a certificate") }
        var contexts: [OpaquePointer] = []
        do throws(TLSError) {
            for certificate in certificates {
                let ctx = try ServerCertificate.makeContext(certificate)
                contexts.append(ctx)
                guard sl_ctx_set_dh_auto(ctx, 1) == 1 else {
                    throw TLSError.openSSL("cannot enable DHE for \(certificate.certificatePath)")
                }
                // Stateless tickets resume sessions; a per-worker server cache would only cost memory.
                sl_ctx_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_OFF))
                SSL_CTX_set_alpn_select_cb(ctx, http2 ? selectH2OrHTTP11 : selectHTTP11, nil)
            }
        } catch {
            contexts.forEach { SSL_CTX_free($0) }
            throw error
        }
        self.contexts = contexts
        selector = ServerNameSelector(names: contexts.map { CertificateNames.dnsNames(of: SSL_CTX_get0_certificate($0)) })
        sl_ctx_set_servername_callback(contexts[0], selectCertificate, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        contexts.forEach { SSL_CTX_free($0) }
    }
}

/// The SNI callback of the default context: moves the connection to the certificate's context.
private let selectCertificate: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?
) -> Int32 = { ssl, _, arg in
    guard let ssl, let arg, let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else {
        return SSL_TLSEXT_ERR_OK
    }
    let context = Unmanaged<TLSServerContext>.fromOpaque(arg).takeUnretainedValue()
    let index = name.withMemoryRebound(to: UInt8.self, capacity: 1) { bytes in
        context.selector.index(for: UnsafeBufferPointer(start: bytes, count: strlen(name)))
    }
    if index != 0 { SSL_set_SSL_CTX(ssl, context.contexts[index]) }
    return SSL_TLSEXT_ERR_OK
}
