import COpenSSL
import Config

extension TLSServerContext {
    /// Checks every certificate/key pair and every upstream `ca=` file of a configuration (for
    /// `sluice -t`, start and reload): one "FILE:LINE:COL: message" per problem, located at the
    /// `certificate` or `server` directive.
    public static func check(_ config: ProxyConfig, file: String) -> [String] {
        var messages: [String] = []
        for frontend in config.frontends {
            for certificate in frontend.certificates {
                do {
                    SSL_CTX_free(try ServerCertificate.makeContext(certificate))
                } catch {
                    messages.append("\(file):\(certificate.line):\(certificate.column): \(error)")
                }
            }
        }
        for backend in config.backends {
            for server in backend.servers where server.tls {
                do {
                    _ = try TLSClientContext(server: server)
                } catch {
                    messages.append("\(file):\(server.line):\(server.column): \(error)")
                }
            }
        }
        return messages
    }
}
