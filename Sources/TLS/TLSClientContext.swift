import COpenSSL
import Config
import Glibc

/// The TLS side of one upstream `server ... tls [verify=on|off] [ca=PATH] [sni=NAME]`.
/// The peer is verified by default, against `ca` or the system's trust store, and its certificate
/// must name `sni`, else the server's host name, else (for an IP literal) its address.
public final class TLSClientContext: @unchecked Sendable {
    let context: OpaquePointer
    /// The name sent as SNI (never an IP literal), a C string owned for the context's life so that
    /// connecting allocates nothing.
    let serverName: UnsafeMutablePointer<CChar>?

    public init(server: ServerConfig) throws(TLSError) {
        let name = server.tlsSNI ?? (Self.isIPLiteral(server.host) ? nil : server.host)
        if server.tlsVerify, let ca = server.tlsCA { try TLSError.checkReadable(ca) }
        ERR_clear_error()
        let ctx = try TLSPolicy.makeContext(TLS_client_method())
        do throws(TLSError) {
            guard SSL_CTX_set_alpn_protos(ctx, ALPN.http11, UInt32(ALPN.http11.count)) == 0 else {
                throw TLSError.openSSL("cannot offer ALPN")
            }
            if server.tlsVerify { try Self.requireVerification(ctx, server: server, name: name) }
        } catch {
            SSL_CTX_free(ctx)
            throw error
        }
        context = ctx
        serverName = name.flatMap { Self.isIPLiteral($0) ? nil : strdup($0) }
    }

    deinit {
        SSL_CTX_free(context)
        free(serverName)
    }

    private static func requireVerification(_ ctx: OpaquePointer, server: ServerConfig, name: String?) throws(TLSError) {
        if let ca = server.tlsCA {
            guard SSL_CTX_load_verify_locations(ctx, ca, nil) == 1 else {
                throw TLSError.openSSL("invalid CA file \(ca)")
            }
        } else if SSL_CTX_set_default_verify_paths(ctx) != 1 {
            throw TLSError.openSSL("cannot load the system's trusted certificates")
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        let parameters = SSL_CTX_get0_param(ctx)
        X509_VERIFY_PARAM_set_hostflags(parameters, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        let set = if let name {
            X509_VERIFY_PARAM_set1_host(parameters, name, 0)
        } else {
            X509_VERIFY_PARAM_set1_ip_asc(parameters, server.host)
        }
        guard set == 1 else { throw TLSError.openSSL("cannot verify TLS peer name \(name ?? server.host)") }
    }

    static func isIPLiteral(_ host: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
    }
}
