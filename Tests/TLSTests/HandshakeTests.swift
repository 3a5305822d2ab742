import COpenSSL
import Config
import XCTest
@testable import TLS

/// Full non-blocking handshakes and data between `TLSConnection.accept` and `TLSConnection.connect`.
final class HandshakeTests: XCTestCase {
    nonisolated(unsafe) private static var pki: TestPKI!
    /// Certificates site (localhost, 127.0.0.1, *.example.test), other (other.test), chain (chain.test).
    nonisolated(unsafe) private static var siteFirst: TLSServerContext!
    /// The same certificates with other.test first, the default.
    nonisolated(unsafe) private static var otherFirst: TLSServerContext!

    override class func setUp() {
        super.setUp()
        pki = try! TestPKI()
        let site = CertificateConfig(certificatePath: pki.path("site.crt"), keyPath: pki.path("site.key"))
        let other = CertificateConfig(certificatePath: pki.path("other.crt"), keyPath: pki.path("other.key"))
        let chain = CertificateConfig(certificatePath: pki.path("chain.pem"), keyPath: pki.path("chain.key"))
        siteFirst = try! TLSServerContext(certificates: [site, other, chain])
        otherFirst = try! TLSServerContext(certificates: [other, site, chain])
    }

    override class func tearDown() {
        siteFirst = nil
        otherFirst = nil
        pki.remove()
        super.tearDown()
    }

    /// A verifying client for `host`, trusting the test root unless told otherwise.
    private func client(_ host: String, ca: String = "ca.crt", sni: String? = nil, verify: Bool = true) throws -> TLSClientContext {
        try TLSClientContext(server: ServerConfig(host: host, port: 443, address: "\(host):443", tls: true,
                                                  tlsVerify: verify, tlsCA: Self.pki.path(ca), tlsSNI: sni))
    }

    private func handshake(_ server: TLSServerContext, _ client: TLSClientContext) -> (server: TLSStep, client: TLSStep) {
        let pair = Loopback(server: server, client: client)
        defer { pair.close() }
        return pair.handshake()
    }

    private func assertHandshake(_ server: TLSServerContext, _ client: TLSClientContext,
                                 file: StaticString = #filePath, line: UInt = #line) {
        let result = handshake(server, client)
        XCTAssertEqual(result.server, .done, "server", file: file, line: line)
        XCTAssertEqual(result.client, .done, "client", file: file, line: line)
    }

    func testHandshakeAndDataBothWays() throws {
        let pair = Loopback(server: Self.siteFirst, client: try client("localhost"))
        defer { pair.close() }
        let steps = pair.handshake()
        XCTAssertEqual(steps.server, .done)
        XCTAssertEqual(steps.client, .done)
        XCTAssertEqual(pair.server.version, "TLSv1.3")
        XCTAssertEqual(pair.client.version, "TLSv1.3")
        XCTAssertEqual(pair.server.negotiatedProtocol, "http/1.1")
        XCTAssertEqual(pair.client.negotiatedProtocol, "http/1.1")

        let request = Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        XCTAssertEqual(pair.transfer(request, fromServer: false), request)
        // Larger than the socket buffers: partial writes, would-block and buffered records.
        let body = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        XCTAssertEqual(pair.transfer(body, fromServer: true), body)
        XCTAssertEqual(pair.transfer(request, fromServer: false), request)
    }

    func testCloseNotifyAndPlainEOFReadAsEndOfFile() throws {
        var byte: UInt8 = 0
        let notified = Loopback(server: Self.siteFirst, client: try client("localhost"))
        defer { notified.close() }
        XCTAssertEqual(notified.handshake().client, .done)
        notified.client.shutdown()
        XCTAssertEqual(notified.server.read(&byte, 1), .endOfFile)

        let dropped = Loopback(server: Self.siteFirst, client: try client("localhost"))
        defer { dropped.close() }
        XCTAssertEqual(dropped.handshake().client, .done)
        XCTAssertEqual(dropped.server.read(&byte, 1), .wouldBlock)
        XCTAssertFalse(dropped.server.wantsWrite)
        shutdown(dropped.clientFD, Int32(SHUT_WR))
        XCTAssertEqual(dropped.server.read(&byte, 1), .endOfFile)
    }

    func testVerificationAgainstAnIPAddress() throws {
        assertHandshake(Self.siteFirst, try client("127.0.0.1"))
        assertHandshake(Self.siteFirst, try client("localhost", sni: "127.0.0.1"))
        XCTAssertNil(try client("127.0.0.1").serverName, "no SNI for an IP literal")
        XCTAssertEqual(handshake(Self.siteFirst, try client("127.0.0.2")).client, .failed)
    }

    func testVerificationFailsAgainstTheWrongCA() throws {
        let result = handshake(Self.siteFirst, try client("localhost", ca: "other-ca.crt"))
        XCTAssertEqual(result.client, .failed)
        XCTAssertEqual(result.server, .failed, "the client's alert ends the server's handshake")
    }

    func testVerificationFailsForAnotherName() throws {
        // other.test is not a name of the default certificate, which an unknown SNI gets.
        let result = handshake(Self.siteFirst, try client("localhost", sni: "nomatch.test"))
        XCTAssertEqual(result.client, .failed)
    }

    func testVerifyOffAcceptsAnyCertificate() throws {
        assertHandshake(Self.siteFirst, try client("nomatch.test", ca: "other-ca.crt", verify: false))
    }

    func testSNISelectsTheCertificate() throws {
        // Each succeeds only when the certificate bearing the verified name is served.
        assertHandshake(Self.siteFirst, try client("other.test"))
        assertHandshake(Self.otherFirst, try client("localhost"))
        assertHandshake(Self.otherFirst, try client("www.example.test"))
        assertHandshake(Self.otherFirst, try client("x", sni: "WWW.Example.Test"))
        // The chain leaf is signed by an intermediate the client does not have: it must be sent.
        assertHandshake(Self.otherFirst, try client("chain.test"))
    }

    func testUnknownOrMissingSNIGetsTheDefaultCertificate() throws {
        let verifyingOther = try client("other.test")
        for sni in ["unknown.test", "a.b.example.test"] {
            let pair = Loopback(server: Self.otherFirst) { fd in
                let connection = TLSConnection.connect(fd: fd, context: verifyingOther)
                _ = connection.map { sl_set_tlsext_host_name($0.ssl, sni) }
                return connection
            }
            defer { pair.close() }
            XCTAssertEqual(pair.handshake().client, .done, sni)
        }
        // No SNI at all (an IP literal): site, the default, carries the IP.
        assertHandshake(Self.siteFirst, try client("127.0.0.1"))
        XCTAssertEqual(handshake(Self.otherFirst, try client("127.0.0.1")).client, .failed)
    }

    func testTLS12WithECDHEAndDHE() {
        for ciphers in ["ECDHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384"] {
            let pair = Loopback(server: Self.siteFirst) { rawClient($0, maxVersion: TLS1_2_VERSION, ciphers: ciphers) }
            defer { pair.close() }
            XCTAssertEqual(pair.handshake().server, .done, ciphers)
            XCTAssertEqual(pair.server.version, "TLSv1.2")
            XCTAssertEqual(String(cString: SSL_CIPHER_get_name(SSL_get_current_cipher(pair.server.ssl))), ciphers)
        }
    }

    func testTLS11IsRefused() {
        let pair = Loopback(server: Self.siteFirst) { rawClient($0, maxVersion: TLS1_1_VERSION, ciphers: "DEFAULT:@SECLEVEL=0") }
        defer { pair.close() }
        let result = pair.handshake()
        XCTAssertEqual(result.server, .failed)
        XCTAssertEqual(result.client, .failed)
    }

    func testLegacyTLS12CiphersAreRefused() {
        let pair = Loopback(server: Self.siteFirst) { rawClient($0, maxVersion: TLS1_2_VERSION, ciphers: "AES128-SHA:ECDHE-RSA-AES128-SHA") }
        defer { pair.close() }
        XCTAssertEqual(pair.handshake().server, .failed)
    }

    func testClientWithoutALPNIsServed() {
        let pair = Loopback(server: Self.siteFirst) { rawClient($0) }
        defer { pair.close() }
        XCTAssertEqual(pair.handshake().server, .done)
        XCTAssertNil(pair.server.negotiatedProtocol)
    }

    func testALPNPicksHTTP11AmongOthers() {
        let pair = Loopback(server: Self.siteFirst) { rawClient($0, alpn: ["h2", "http/1.1"]) }
        defer { pair.close() }
        XCTAssertEqual(pair.handshake().client, .done)
        XCTAssertEqual(pair.client.negotiatedProtocol, "http/1.1")
    }

    func testH2OnlyClientFailsCleanly() {
        let pair = Loopback(server: Self.siteFirst) { rawClient($0, alpn: ["h2"]) }
        defer { pair.close() }
        let result = pair.handshake()
        XCTAssertEqual(result.server, .failed)
        XCTAssertEqual(result.client, .failed, "the client gets an alert, not silence")
        // SSL_AD_NO_APPLICATION_PROTOCOL is 120; OpenSSL reports a received alert as reason 1000 + alert.
        XCTAssertEqual(ERR_GET_REASON(ERR_peek_last_error()), 1000 + 120)
    }
}

/// An OpenSSL client without sluice's policy, for what TLSClientContext would never offer.
func rawClient(_ fd: Int32, maxVersion: Int32 = TLS1_3_VERSION, ciphers: String? = nil, alpn: [String] = []) -> TLSConnection? {
    guard let ctx = SSL_CTX_new(TLS_client_method()) else { return nil }
    defer { SSL_CTX_free(ctx) }
    _ = sl_ctx_set_min_proto_version(ctx, 0)
    _ = sl_ctx_set_max_proto_version(ctx, maxVersion)
    if let ciphers { _ = SSL_CTX_set_cipher_list(ctx, ciphers) }
    let wire = alpn.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
    if !wire.isEmpty { _ = SSL_CTX_set_alpn_protos(ctx, wire, UInt32(wire.count)) }
    guard let ssl = SSL_new(ctx) else { return nil }
    SSL_set_fd(ssl, fd)
    SSL_set_connect_state(ssl)
    return TLSConnection(ssl: ssl)
}
