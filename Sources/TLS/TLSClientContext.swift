import COpenSSL
import Config
import Glibc

/// The TLS side of one upstream `server ... tls [verify=on|off] [ca=PATH] [sni=NAME]`.
/// The peer is verified by default, against `ca` or the system's trust store, and its certificate
/// must name `sni`, else the server's host: a DNS name, or an IP address when it is an IP literal.
/// SNI carries that name unless it is an IP literal (RFC 6066 allows only host names).
public final class TLSClientContext: @unchecked Sendable {
    let context: OpaquePointer
    /// The name sent as SNI (never an IP literal), a C string owned for the context's life so that
    /// connecting allocates nothing.
    let serverName: UnsafeMutablePointer<CChar>?

    public init(server: ServerConfig) throws(TLSError) {
        let peerName = server.tlsSNI ?? server.host
        let isIP = Self.isIPLiteral(peerName)
        if server.tlsVerify, let ca = server.tlsCA { try TLSError.checkReadable(ca) }
        let ctx = try TLSPolicy.makeContext(TLS_client_method())
        do throws(TLSError) {
            guard SSL_CTX_set_alpn_protos(ctx, ALPN.http11, UInt32(ALPN.http11.count)) == 0 else {
                throw TLSError.openSSL("cannot offer ALPN")
            }
            if server.tlsVerify { try Self.requireVerification(ctx, ca: server.tlsCA, peerName: peerName, isIP: isIP) }
        } catch {
            SSL_CTX_free(ctx)
            throw error
        }
        context = ctx
        serverName = isIP ? nil : strdup(peerName)
    }

    deinit {
        SSL_CTX_free(context)
        free(serverName)
    }

    private static func requireVerification(_ ctx: OpaquePointer, ca: String?, peerName: String,
                                            isIP: Bool) throws(TLSError) {
        if let ca {
            guard SSL_CTX_load_verify_locations(ctx, ca, nil) == 1 else {
                throw TLSError.openSSL("invalid CA file \(ca)")
            }
        } else if SSL_CTX_set_default_verify_paths(ctx) != 1 {
            throw TLSError.openSSL("cannot load the system's trusted certificates")
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        let parameters = SSL_CTX_get0_param(ctx)
        X509_VERIFY_PARAM_set_hostflags(parameters, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        let set = isIP ? X509_VERIFY_PARAM_set1_ip_asc(parameters, peerName)
                       : X509_VERIFY_PARAM_set1_host(parameters, peerName, 0)
        guard set == 1 else { throw TLSError.openSSL("invalid TLS peer name \(peerName)") }
    }

    static func isIPLiteral(_ host: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
    }
}
