@testable import DataPath
import HTTP1
import XCTest

final class RequestKeysTests: XCTestCase {
    private func cookie(_ name: String, in head: String) throws -> String? {
        try withRequest("GET / HTTP/1.1\r\nHost: h\r\n" + head + "\r\n") { _, headers, raw in
            RequestKeys.cookie(Array(name.utf8), headers: headers, source: raw)?.text
        }
    }

    func testCookieValueAmongOthers() throws {
        XCTAssertEqual(try cookie("SRV", in: "Cookie: a=1; SRV=abc123; b=2\r\n"), "abc123")
        XCTAssertEqual(try cookie("SRV", in: "Cookie: SRV=abc123\r\n"), "abc123")
        XCTAssertEqual(try cookie("SRV", in: "Cookie: a=1;SRV=x\r\n"), "x")
        XCTAssertEqual(try cookie("SRV", in: "Cookie: SRV=\r\n"), "")
    }

    func testCookieInALaterField() throws {
        XCTAssertEqual(try cookie("SRV", in: "Cookie: a=1\r\ncookie: SRV=two\r\n"), "two")
    }

    func testCookieNamesAreExactAndCaseSensitive() throws {
        XCTAssertNil(try cookie("SRV", in: "Cookie: SRVX=1; XSRV=2; srv=3\r\n"))
        XCTAssertNil(try cookie("SRV", in: "Cookie: a=SRV=1\r\n"))
        XCTAssertNil(try cookie("SRV", in: "X-Cookie: SRV=1\r\n"))
        XCTAssertNil(try cookie("SRV", in: ""))
    }

    func testFieldLookupIgnoresCase() throws {
        let value = try withRequest("GET / HTTP/1.1\r\nHost: h\r\nx-user-id: 42\r\n\r\n") { _, headers, raw in
            RequestKeys.field(Array("x-user-id".utf8), headers: headers, source: raw)?.text
        }
        XCTAssertEqual(value, "42")
        let upper = try withRequest("GET / HTTP/1.1\r\nHost: h\r\nX-User-Id: 7\r\n\r\n") { _, headers, raw in
            RequestKeys.field(Array("x-user-id".utf8), headers: headers, source: raw)?.text
        }
        XCTAssertEqual(upper, "7")
    }
}
