import XCTest
@testable import ProxyProtocol

final class V1ParserTests: XCTestCase {
    func testTCP4() {
        let line = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
        XCTAssertEqual(parse(line + "GET / HTTP/1.1\r\n"),
                       .header(line.utf8.count, v4(192, 168, 0, 1, port: 56324), v4(192, 168, 0, 11, port: 443)))
        assertEveryPrefixNeedsMore(Array(line.utf8))
    }

    func testTCP6() {
        let line = "PROXY TCP6 2001:db8::1 ::1 0 65535\r\n"
        XCTAssertEqual(parse(line), .header(line.utf8.count, v6(0x2001_0db8_0000_0000, 1, port: 0), v6(0, 1, port: 65535)))
    }

    func testLongestLines() {
        let ffff = Array(repeating: "ffff", count: 8).joined(separator: ":")
        let tcp6 = "PROXY TCP6 \(ffff) \(ffff) 65535 65535\r\n"
        XCTAssertEqual(tcp6.utf8.count, 104)
        let all = v6(.max, .max, port: 65535)
        XCTAssertEqual(parse(tcp6), .header(104, all, all))
        let unknown = "PROXY UNKNOWN \(ffff) \(ffff) 65535 65535\r\n"
        XCTAssertEqual(unknown.utf8.count, 107)
        XCTAssertEqual(parse(unknown), .header(107, nil, nil))
    }

    func testUnknown() {
        XCTAssertEqual(parse("PROXY UNKNOWN\r\n"), .header(15, nil, nil))
        XCTAssertEqual(parse("PROXY UNKNOWN whatever: is ignored\r\nGET"), .header(36, nil, nil))
        XCTAssertTrue(parse("PROXY UNKNOWNX\r\n").isInvalid)
        XCTAssertTrue(parse("PROXY UNKNOWN\u{1}\r\n").isInvalid, "still printable ASCII only")
    }

    func testLineMustEndWithCRLFWithin107Bytes() {
        let long = "PROXY UNKNOWN " + String(repeating: "x", count: 93)
        XCTAssertEqual(long.utf8.count, 107)
        XCTAssertTrue(parse(long).isInvalid, "107 bytes without CRLF")
        XCTAssertEqual(parse(String(long.dropLast())), .needMore, "106 bytes without CRLF")
        XCTAssertTrue(parse(String(long.dropLast()) + "\r\n").isInvalid, "CR at byte 107")
        XCTAssertTrue(parse(String(long.dropLast()) + "\r").isInvalid, "CR at byte 107: no room for the LF")
        XCTAssertEqual(parse(String(long.dropLast(2)) + "\r"), .needMore, "CR at byte 106, LF may still come")
        XCTAssertEqual(parse(String(long.dropLast(2)) + "\r\n"), .header(107, nil, nil))
    }

    func testLineBreaksMustBeCRLF() {
        XCTAssertTrue(parse("PROXY UNKNOWN\n").isInvalid)
        XCTAssertTrue(parse("PROXY UNKNOWN\rX").isInvalid)
        XCTAssertTrue(parse("PROXY UNKNOWN\r\r\n").isInvalid)
        XCTAssertTrue(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\r\n").isInvalid)
    }

    func testOnlyPrintableASCII() {
        for bad: UInt8 in [0x00, 0x09, 0x7F, 0x80, 0xFF] {
            XCTAssertTrue(parse(Array("PROXY UNKNOWN ".utf8) + [bad]).isInvalid, "byte \(bad)")
        }
    }

    func testExactlyOneSpaceBetweenFourFields() {
        for line in [
            "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
            "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
            "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
            "PROXY TCP4 1.2.3.4 5.6.7.8\r\n",
            "PROXY TCP4 \r\n",
            "PROXY TCP4\r\n",
            "PROXY \r\n",
            "PROXY\r\n",
        ] {
            XCTAssertTrue(parse(line).isInvalid, line)
        }
    }

    func testKeywordsAreExact() {
        for line in ["proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
                     "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
                     "PROXY unknown\r\n", "PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n"] {
            XCTAssertTrue(parse(line).isInvalid, line)
        }
    }

    func testAddressesMatchTheFamily() {
        XCTAssertTrue(parse("PROXY TCP4 ::1 ::1 1 2\r\n").isInvalid)
        XCTAssertTrue(parse("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n").isInvalid)
        XCTAssertTrue(parse("PROXY TCP4 1.2.3.4 ::1 1 2\r\n").isInvalid)
    }

    func testPorts() {
        func port(_ p: String) -> Outcome { parse("PROXY TCP4 1.2.3.4 5.6.7.8 \(p) 80\r\n") }
        for good in ["0", "1", "80", "65535"] {
            guard case .header(_, let s?, _) = port(good) else { return XCTFail(good) }
            XCTAssertEqual(String(s.port), good)
        }
        for bad in ["65536", "99999", "123456", "00", "01", "080", "-1", "+1", "1a", "0x1", "1.0"] {
            XCTAssertTrue(port(bad).isInvalid, bad)
        }
        XCTAssertTrue(parse("PROXY TCP4 1.2.3.4 5.6.7.8 80 065535\r\n").isInvalid)
    }

    func testPartialHeaderIsRejectedAsSoonAsABadByteArrives() {
        XCTAssertEqual(parse("PROX"), .needMore)
        XCTAssertTrue(parse("PROXX").isInvalid)
        XCTAssertTrue(parse("PROXY\r").isInvalid)
        XCTAssertTrue(parse("PROXY TCP4 1.2.3.4\n").isInvalid)
    }
}

final class DetectionTests: XCTestCase {
    func testOtherProtocolsAreInvalidAtOnce() {
        XCTAssertEqual(parse([UInt8]()), .needMore)
        XCTAssertTrue(parse("GET / HTTP/1.1\r\n").isInvalid)
        XCTAssertTrue(parse("G").isInvalid)
        XCTAssertTrue(parse([0x16, 0x03, 0x01]).isInvalid, "a TLS ClientHello")
        XCTAssertTrue(parse([0x0D, 0x0A, 0x0D, 0x0A, 0x01]).isInvalid, "v2 signature broken at byte 5")
        XCTAssertEqual(parse([0x0D, 0x0A, 0x0D]), .needMore)
    }
}
