import HTTP1
import XCTest

/// One test per request rejection rule (SPEC section 3, RFC 9112).
final class RequestRejectionTests: XCTestCase {
    let host = "Host: a\r\n"

    func testBothContentLengthAndTransferEncoding() {
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400)
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400)
    }

    func testDifferingContentLengths() {
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400)
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Content-Length: 5, 6\r\n\r\n", 400)
    }

    func testContentLengthNotPlainDigits() {
        for value in ["+5", "-1", "5a", "0x10", "", "5,", ",5", "5 5", "1.0", "\"5\""] {
            assertRequestRejected("POST / HTTP/1.1\r\n\(host)Content-Length: \(value)\r\n\r\n", 400)
        }
    }

    func testContentLengthBeyond63Bits() {
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Content-Length: 9223372036854775808\r\n\r\n", 400)
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Content-Length: 99999999999999999999999\r\n\r\n", 400)
    }

    func testTransferEncodingInHTTP10() {
        assertRequestRejected("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400)
    }

    /// SPEC: codings other than chunked are unknown to the proxy (501), wherever chunked is.
    func testUnknownCodingsAre501WhereverChunkedIs() {
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: gzip\r\n\r\n", 501)
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked, gzip\r\n\r\n", 501)
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 501)
    }

    func testEmptyTransferEncoding() {
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: \r\n\r\n", 400)
    }

    func testChunkedTwice() {
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked, chunked\r\n\r\n", 400)
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400)
    }

    func testMalformedTransferEncoding() {
        for value in ["chunked;", "chunked;a=b", "gzip;q, chunked", "gz ip, chunked", "\"chunked\"", "chunked/1"] {
            assertRequestRejected("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: \(value)\r\n\r\n", 400)
        }
    }

    func testOtherCodingsBeforeChunkedAre501() {
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: gzip, chunked\r\n\r\n", 501)
        assertRequestRejected("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: gzip;level=\"9, x\"\r\nTransfer-Encoding: chunked\r\n\r\n", 501)
    }

    func testWhitespaceBeforeColon() {
        assertRequestRejected("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400)
        assertRequestRejected("GET / HTTP/1.1\r\n\(host)X-A\t: b\r\n\r\n", 400)
    }

    func testObsFold() {
        assertRequestRejected("GET / HTTP/1.1\r\n\(host)X-A: b\r\n c\r\n\r\n", 400)
        assertRequestRejected("GET / HTTP/1.1\r\n\(host)X-A: b\r\n\tc\r\n\r\n", 400)
        assertRequestRejected("GET / HTTP/1.1\r\n \(host)\r\n", 400)
    }

    func testBareCR() {
        assertRequestRejected("GET / HTTP/1.1\r\n\(host)X-A: b\rc\r\n\r\n", 400)
        assertRequestRejected("GET / HTTP/1.1\r\(host)\r\n\r\n", 400)
        assertRequestRejected("GET / HTTP/1.1\r\n\(host)\r\r\n\r\n", 400)
    }

    func testBareLF() {
        assertRequestRejected("GET / HTTP/1.1\n\(host)\r\n\r\n", 400)
        assertRequestRejected("GET / HTTP/1.1\r\n\(host)X-A: b\n\r\n\r\n", 400)
        assertRequestRejected("GET / HTTP/1.1\nHost: a\n\n", 400)
    }

    func testNul() {
        assertRequestRejected(Array("GET / HTTP/1.1\r\n\(host)X-A: a".utf8) + [0] + Array("b\r\n\r\n".utf8), 400)
        assertRequestRejected(Array("GET /".utf8) + [0] + Array(" HTTP/1.1\r\n\(host)\r\n".utf8), 400)
        assertRequestRejected(Array("GET / HTTP/1.1\r\n\(host)X-".utf8) + [0] + Array("A: b\r\n\r\n".utf8), 400)
    }

    func testControlBytes() {
        for byte: UInt8 in [0x01, 0x08, 0x0B, 0x0C, 0x1B, 0x1F, 0x7F] {
            assertRequestRejected(Array("GET / HTTP/1.1\r\n\(host)X-A: a".utf8) + [byte] + Array("b\r\n\r\n".utf8), 400)
            assertRequestRejected(Array("GET / HTTP/1.1\r\n\(host)X-".utf8) + [byte] + Array("A: b\r\n\r\n".utf8), 400)
        }
    }

    func testInvalidFieldNames() {
        for name in ["X(A)", "X/A", "X@A", "\"A\"", "X[A]", "X{A}", "X=A", "X?A"] {
            assertRequestRejected("GET / HTTP/1.1\r\n\(host)\(name): b\r\n\r\n", 400)
        }
        assertRequestRejected("GET / HTTP/1.1\r\n\(host): b\r\n\r\n", 400)
        assertRequestRejected("GET / HTTP/1.1\r\n\(host)NoColon\r\n\r\n", 400)
        assertRequestRejected(Array("GET / HTTP/1.1\r\n\(host)X".utf8) + [0xC3, 0xA9] + Array(": b\r\n\r\n".utf8), 400)
    }

    func testMissingHostInHTTP11() {
        assertRequestRejected("GET / HTTP/1.1\r\n\r\n", 400)
        assertRequestRejected("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", 400)
    }

    func testRepeatedHost() {
        assertRequestRejected("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400)
        assertRequestRejected("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400)
    }

    func testMalformedHost() {
        for value in ["a b", "a:b", "a:80:81", "[::1", "[]", "[::1]x", "a@b", "a/b", "a%2", "a%zz", "a\"b", "[::1]:x"] {
            assertRequestRejected("GET / HTTP/1.1\r\nHost: \(value)\r\n\r\n", 400)
        }
        assertRequestRejected("GET / HTTP/1.0\r\nHost: a b\r\n\r\n", 400)
    }

    func testUnsupportedVersionIs505() {
        assertRequestRejected("GET / HTTP/2.0\r\n\(host)\r\n", 505)
        assertRequestRejected("GET / HTTP/1.2\r\n\(host)\r\n", 505)
        assertRequestRejected("GET / HTTP/0.9\r\n\(host)\r\n", 505)
        assertRequestRejected("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505)
    }

    func testHTTP09RequestLineIs505() {
        assertRequestRejected("GET /\r\n\r\n", 505)
    }

    func testMalformedVersionIs400() {
        for version in ["HTTP/1.1x", "http/1.1", "HTTP/1", "HTTP/11", "HTTP/1.10", "HTTP /1.1", "HTTP/1,1", "HTTP/a.b", "HTTP/1.1 "] {
            assertRequestRejected("GET / \(version)\r\n\(host)\r\n", 400)
        }
    }

    func testMethodNotAToken() {
        assertRequestRejected("GE(T / HTTP/1.1\r\n\(host)\r\n", 400)
        assertRequestRejected(" GET / HTTP/1.1\r\n\(host)\r\n", 400)
        assertRequestRejected("/ HTTP/1.1\r\n\(host)\r\n", 400)
        assertRequestRejected(Array("G".utf8) + [0xC3, 0x89] + Array("T / HTTP/1.1\r\n\(host)\r\n".utf8), 400)
    }

    func testConnectIsRefused() {
        assertRequestRejected("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 400)
        assertRequestRejected("CONNECT / HTTP/1.1\r\n\(host)\r\n", 400)
    }

    func testAuthorityFormIsRefused() {
        assertRequestRejected("GET example.com:80 HTTP/1.1\r\n\(host)\r\n", 400)
        assertRequestRejected("GET example.com/x HTTP/1.1\r\n\(host)\r\n", 400)
    }

    func testAsteriskOnlyWithOptions() {
        assertRequestRejected("GET * HTTP/1.1\r\n\(host)\r\n", 400)
        assertRequestRejected("OPTIONS *x HTTP/1.1\r\n\(host)\r\n", 400)
    }

    func testTargetMustBeVisibleASCII() {
        assertRequestRejected(Array("GET /caf".utf8) + [0xC3, 0xA9] + Array(" HTTP/1.1\r\n\(host)\r\n".utf8), 400)
        assertRequestRejected("GET /a\tb HTTP/1.1\r\n\(host)\r\n", 400)
        assertRequestRejected(Array("GET /a".utf8) + [0x7F] + Array(" HTTP/1.1\r\n\(host)\r\n".utf8), 400)
    }

    func testExactlyOneSpaceBetweenRequestLineParts() {
        assertRequestRejected("GET  / HTTP/1.1\r\n\(host)\r\n", 400)
        assertRequestRejected("GET /  HTTP/1.1\r\n\(host)\r\n", 400)
        assertRequestRejected("GET\t/ HTTP/1.1\r\n\(host)\r\n", 400)
        assertRequestRejected("GET / HTTP/1.1 \r\n\(host)\r\n", 400)
    }

    func testUnsupportedExpectationIs417() {
        assertRequestRejected("PUT / HTTP/1.1\r\n\(host)Expect: 200-ok\r\nContent-Length: 1\r\n\r\n", 417)
        assertRequestRejected("PUT / HTTP/1.1\r\n\(host)Expect: 100-continue, foo\r\nContent-Length: 1\r\n\r\n", 417)
    }

    func testMoreHeadersThanTableCapacityIs431() {
        let fields = (0..<5).map { "X-\($0): v\r\n" }.joined()
        switch parseRequest("GET / HTTP/1.1\r\n\(host)\(fields)\r\n", capacity: 5) {
        case .success: XCTFail("accepted")
        case .failure(let e): XCTAssertEqual(e.status, 431)
        }
        XCTAssertNoThrow(try parseRequest("GET / HTTP/1.1\r\n\(host)\(fields)\r\n", capacity: 6).get())
    }

    func testErrorsCarryReasons() {
        guard case .failure(let e) = parseRequest("POST / HTTP/1.1\r\n\(host)Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n") else {
            return XCTFail("accepted")
        }
        XCTAssertEqual(e, HTTPError(status: 400, reason: "both content-length and transfer-encoding"))
        XCTAssertNotEqual(e, HTTPError(status: 400, reason: "both content-length and transfer-encodinx"))
        XCTAssertNotEqual(e, HTTPError(status: 502, reason: "both content-length and transfer-encoding"))
        XCTAssertEqual(e.description, "400 both content-length and transfer-encoding")
    }
}

/// Rules added after the black-box conformance table found requests other proxies have been
/// exploited with.
final class SmugglingHardeningTests: XCTestCase {
    func testFragmentInTargetIsRejected() {
        assertRequestRejected("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400)
        assertRequestRejected("GET /#/../admin HTTP/1.1\r\nHost: a\r\n\r\n", 400)
    }

    func testUserinfoInAbsoluteFormIsRejected() {
        assertRequestRejected("GET http://user@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400)
    }

    func testAbsoluteFormHostMustMatchHostField() {
        assertRequestRejected("GET http://admin.test/ HTTP/1.1\r\nHost: example.test\r\n\r\n", 400)
        assertRequestRejected("GET http://a:8080/x HTTP/1.1\r\nHost: a\r\n\r\n", 400)
    }

    func testTransferEncodingWithEmptyElementsIsRejected() {
        for value in [", chunked", "chunked,", " ,chunked"] {
            assertRequestRejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \(value)\r\n\r\n", 400)
        }
    }
}
