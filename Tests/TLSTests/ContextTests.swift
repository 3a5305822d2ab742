import COpenSSL
import Config
import XCTest
@testable import TLS

final class ContextTests: XCTestCase {
    nonisolated(unsafe) private static var pki: TestPKI!

    override class func setUp() {
        super.setUp()
        pki = try! TestPKI()
    }

    override class func tearDown() {
        pki.remove()
        super.tearDown()
    }

    private func path(_ name: String) -> String { Self.pki.path(name) }

    private func certificate(_ crt: String, _ key: String) -> CertificateConfig {
        CertificateConfig(certificatePath: path(crt), keyPath: path(key))
    }

    private func error(_ certificates: [CertificateConfig]) -> String? {
        do {
            _ = try TLSServerContext(certificates: certificates)
            return nil
        } catch {
            return error.description
        }
    }

    func testContextWithSeveralCertificates() throws {
        let context = try TLSServerContext(certificates: [
            certificate("site.crt", "site.key"), certificate("other.crt", "other.key"),
            certificate("chain.pem", "chain.key"),
        ])
        XCTAssertEqual(context.contexts.count, 3)
        XCTAssertEqual(context.selector.index(for: "chain.test"), 2)
        XCTAssertEqual(context.selector.index(for: "x.example.test"), 0)
    }

    func testMissingFilesAreNamed() {
        XCTAssertEqual(error([certificate("missing.crt", "site.key")]),
                       "cannot read \(path("missing.crt")): No such file or directory")
        XCTAssertEqual(error([certificate("site.crt", "missing.key")]),
                       "cannot read \(path("missing.key")): No such file or directory")
    }

    func testInvalidFilesAreNamed() {
        XCTAssertEqual(error([certificate("garbage.crt", "site.key")]),
                       "invalid certificate \(path("garbage.crt")): no start line")
        XCTAssertEqual(error([certificate("site.crt", "garbage.crt")]),
                       "invalid private key \(path("garbage.crt")): not an unencrypted PEM key")
    }

    func testEncryptedKeyFailsWithoutPrompting() {
        XCTAssertEqual(error([certificate("other.crt", "encrypted.key")]),
                       "invalid private key \(path("encrypted.key")): not an unencrypted PEM key")
    }

    func testKeyThatDoesNotMatchItsCertificate() {
        // Same key type (RSA), then another type (an EC key for an RSA certificate).
        XCTAssertEqual(error([certificate("site.crt", "stray.key")]),
                       "\(path("stray.key")) does not match \(path("site.crt"))")
        XCTAssertEqual(error([certificate("site.crt", "other.key")]),
                       "\(path("other.key")) does not match \(path("site.crt"))")
    }

    func testABadLaterCertificateFailsTheWhole() {
        XCTAssertEqual(error([certificate("site.crt", "site.key"), certificate("other.crt", "site.key")]),
                       "\(path("site.key")) does not match \(path("other.crt"))")
    }

    func testNoCertificate() {
        XCTAssertEqual(error([]), "a TLS listener needs a certificate")
    }

    func testCertificateNamesFallBackToTheCommonName() throws {
        XCTAssertEqual(try names("site.crt"), ["localhost", "*.example.test"])
        XCTAssertEqual(try names("cn-only.crt"), ["cn-only.test"])
    }

    private func names(_ file: String) throws -> [String] {
        let bio = try XCTUnwrap(BIO_new_file(path(file), "r"))
        defer { BIO_free(bio) }
        let certificate = try XCTUnwrap(PEM_read_bio_X509(bio, nil, nil, nil))
        defer { X509_free(certificate) }
        return CertificateNames.dnsNames(of: certificate)
    }

    func testClientContextErrors() {
        func error(_ server: ServerConfig) -> String? {
            do {
                _ = try TLSClientContext(server: server)
                return nil
            } catch {
                return error.description
            }
        }
        let base = ServerConfig(host: "localhost", port: 443, address: "localhost:443", tls: true)
        XCTAssertNil(error(base))
        var server = base
        server.tlsCA = path("missing.pem")
        XCTAssertEqual(error(server), "cannot read \(path("missing.pem")): No such file or directory")
        server.tlsCA = path("garbage.crt")
        XCTAssertEqual(error(server)?.hasPrefix("invalid CA file \(path("garbage.crt"))"), true)
        server.tlsVerify = false
        XCTAssertNil(error(server), "a CA is not used without verification")
    }

    func testCheckLocatesEachProblem() throws {
        let text = """
            frontend web {
                listen 127.0.0.1:8443 tls;
                certificate site.crt site.key;
                  certificate other.crt stray.key;
                certificate missing.crt other.key;
                backend app;
            }
            backend app {
                server 127.0.0.1:9443 tls ca=ca.crt;
                server 127.0.0.1:9444 tls ca=missing.pem;
            }

            """
        let config = try ConfigLoader.parse(text: text, file: "proxy.conf", baseDirectory: Self.pki.directory).get()
        XCTAssertEqual(TLSServerContext.check(config, file: "proxy.conf"), [
            "proxy.conf:4:7: \(path("stray.key")) does not match \(path("other.crt"))",
            "proxy.conf:5:5: cannot read \(path("missing.crt")): No such file or directory",
            "proxy.conf:10:5: cannot read \(path("missing.pem")): No such file or directory",
        ])
    }
}
