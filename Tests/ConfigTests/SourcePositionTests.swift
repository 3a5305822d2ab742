import XCTest
import Config

final class SourcePositionTests: XCTestCase {
    func testServerAndCertificateRememberWhereTheirDirectiveStands() throws {
        let config = try XCTUnwrap(parsed(minimalConfig(
            backendBody: "    server 127.0.0.1:9443 tls;",
            frontendBody: "    listen 127.0.0.1:8443 tls; certificate a.crt a.key;")))
        let server = config.backends[0].servers[1]
        XCTAssertEqual([server.line, server.column], [3, 5])
        let certificate = config.frontends[0].certificates[0]
        XCTAssertEqual([certificate.line, certificate.column], [7, 32])
    }

    func testPositionIsNotPartOfEquality() {
        XCTAssertEqual(SourcePosition(line: 1, column: 2), SourcePosition(line: 3, column: 4))
        XCTAssertEqual(ServerConfig(host: "a", port: 1, address: "a:1", line: 2, column: 5),
                       ServerConfig(host: "a", port: 1, address: "a:1", line: 9, column: 1))
        XCTAssertNotEqual(ServerConfig(host: "a", port: 1, address: "a:1", line: 2, column: 5),
                          ServerConfig(host: "a", port: 1, address: "a:1", weight: 2, line: 2, column: 5))
        XCTAssertEqual(CertificateConfig(certificatePath: "c", keyPath: "k", line: 1, column: 1),
                       CertificateConfig(certificatePath: "c", keyPath: "k", line: 8, column: 3))
        XCTAssertNotEqual(CertificateConfig(certificatePath: "c", keyPath: "k"),
                          CertificateConfig(certificatePath: "c", keyPath: "other"))
    }
}
