import COpenSSL
import Config
import XCTest
@testable import TLS

/// Stateless ticket resumption: tickets are sealed with keys of the server context, so every
/// worker forked with a context resumes sessions, and a new context (a reload) does not.
final class ResumptionTests: XCTestCase {
    nonisolated(unsafe) private static var pki: TestPKI!

    override class func setUp() {
        super.setUp()
        pki = try! TestPKI()
    }

    override class func tearDown() {
        pki.remove()
        super.tearDown()
    }

    private func serverContext() throws -> TLSServerContext {
        let path = Self.pki.path
        return try TLSServerContext(certificates: [
            CertificateConfig(certificatePath: path("other.crt"), keyPath: path("other.key")),
            CertificateConfig(certificatePath: path("site.crt"), keyPath: path("site.key")),
        ])
    }

    private func clientContext(_ host: String) throws -> TLSClientContext {
        try TLSClientContext(server: ServerConfig(host: host, port: 443, address: "\(host):443", tls: true,
                                                  tlsCA: Self.pki.path("ca.crt")))
    }

    /// Handshakes, reads a little from the server (which delivers TLS 1.3 tickets) and returns
    /// whether both ends resumed, and the client's session (the caller frees it).
    private func connect(_ server: TLSServerContext, session: OpaquePointer?,
                         client makeClient: @escaping (Int32) -> TLSConnection?) -> (resumed: Bool, session: OpaquePointer?) {
        let pair = Loopback(server: server) { fd in
            let connection = makeClient(fd)
            if let connection, let session { SSL_set_session(connection.ssl, session) }
            return connection
        }
        defer { pair.close() }
        let steps = pair.handshake()
        XCTAssertEqual(steps.server, .done)
        XCTAssertEqual(steps.client, .done)
        XCTAssertNotNil(pair.transfer(Array("hello".utf8), fromServer: true))
        let resumed = SSL_session_reused(pair.server.ssl) == 1
        XCTAssertEqual(SSL_session_reused(pair.client.ssl) == 1, resumed)
        // Freed without close_notify, OpenSSL would mark the session not resumable.
        pair.client.shutdown()
        return (resumed, SSL_get1_session(pair.client.ssl))
    }

    private func assertResumes(_ makeClient: @escaping (Int32) -> TLSConnection?,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let server = try serverContext()
        let first = connect(server, session: nil, client: makeClient)
        XCTAssertFalse(first.resumed, file: file, line: line)
        let session = try XCTUnwrap(first.session, file: file, line: line)
        defer { SSL_SESSION_free(session) }
        XCTAssertEqual(SSL_SESSION_is_resumable(session), 1, file: file, line: line)

        let second = connect(server, session: session, client: makeClient)
        XCTAssertTrue(second.resumed, "same context: resumed", file: file, line: line)
        second.session.map { SSL_SESSION_free($0) }

        let reloaded = connect(try serverContext(), session: session, client: makeClient)
        XCTAssertFalse(reloaded.resumed, "new context, new ticket keys: full handshake", file: file, line: line)
        reloaded.session.map { SSL_SESSION_free($0) }
    }

    func testTLS13ResumesWithTheDefaultCertificate() throws {
        let client = try clientContext("other.test")
        try assertResumes { TLSConnection.connect(fd: $0, context: client) }
    }

    func testTLS13ResumesWithAnSNISelectedCertificate() throws {
        let client = try clientContext("www.example.test")
        try assertResumes { TLSConnection.connect(fd: $0, context: client) }
    }

    func testTLS12ResumesWithTickets() throws {
        try assertResumes { rawClient($0, maxVersion: TLS1_2_VERSION) }
    }
}
