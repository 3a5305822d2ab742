import XCTest
@testable import ProxyProtocol

final class V2ParserTests: XCTestCase {
    /// TCP over IPv4, 172.19.0.1:42578 -> 172.19.0.3:80 (as HAProxy sends it), then a request.
    let tcp4 = v2(0x21, 0x11, [172, 19, 0, 1, 172, 19, 0, 3, 0xa6, 0x52, 0x00, 0x50])

    func testTCP4() {
        XCTAssertEqual(parse(tcp4 + Array("GET / HTTP/1.1\r\n".utf8)),
                       .header(28, v4(172, 19, 0, 1, port: 42578), v4(172, 19, 0, 3, port: 80)))
        assertEveryPrefixNeedsMore(tcp4)
    }

    func testTCP6() {
        let source: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]
        let destination: [UInt8] = Array(repeating: 0, count: 15) + [1]
        let header = v2(0x21, 0x21, source + destination + [0x01, 0xbb, 0xff, 0xff])
        XCTAssertEqual(header.count, 52)
        XCTAssertEqual(parse(header), .header(52, v6(0x2001_0db8_0000_0000, 1, port: 443), v6(0, 1, port: 65535)))
        assertEveryPrefixNeedsMore(header)
    }

    func testTLVsAreSkippedButMustFitExactly() {
        let address: [UInt8] = [10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2]
        let tlvs: [UInt8] = [0x01, 0x00, 0x02, 0x68, 0x32,   // ALPN "h2"
                             0x04, 0x00, 0x00,               // NOOP, empty
                             0xEA, 0x00, 0x03, 1, 2, 3]      // custom (AWS-style)
        let good = v2(0x21, 0x11, address + tlvs)
        XCTAssertEqual(parse(good), .header(good.count, v4(10, 0, 0, 1, port: 1), v4(10, 0, 0, 2, port: 2)))
        XCTAssertTrue(parse(v2(0x21, 0x11, address + [0x01, 0x00, 0x05, 0x68])).isInvalid, "TLV value overruns")
        XCTAssertTrue(parse(v2(0x21, 0x11, address + [0x01])).isInvalid, "one stray byte")
        XCTAssertTrue(parse(v2(0x21, 0x11, address + [0x01, 0x00])).isInvalid, "two stray bytes")
        // The TLV must end within the header's length even when more bytes follow it.
        XCTAssertTrue(parse(v2(0x21, 0x11, address + [0x01, 0x00, 0x02, 0x68], length: 16) + [0x32]).isInvalid)
    }

    func testLocalUsesTheConnectionsOwnEndpoints() {
        XCTAssertEqual(parse(v2(0x20, 0x00, [])), .header(16, nil, nil))
        // The block is skipped whatever it holds, family included.
        XCTAssertEqual(parse(v2(0x20, 0x11, [1, 2, 3])), .header(19, nil, nil))
    }

    func testUnspecAndUnsupportedFamiliesFallBackToTheConnection() {
        XCTAssertEqual(parse(v2(0x21, 0x00, [])), .header(16, nil, nil), "UNSPEC")
        XCTAssertEqual(parse(v2(0x21, 0x10, [1, 2])), .header(18, nil, nil), "AF_INET, UNSPEC transport")
        XCTAssertEqual(parse(v2(0x21, 0x31, Array(repeating: 0x2f, count: 216))), .header(232, nil, nil), "AF_UNIX stream")
        XCTAssertEqual(parse(v2(0x21, 0x12, Array(repeating: 1, count: 12))), .header(28, nil, nil), "UDP over IPv4")
        XCTAssertEqual(parse(v2(0x21, 0x22, Array(repeating: 1, count: 36))), .header(52, nil, nil), "UDP over IPv6")
    }

    func testAddressBlockMustHoldTheFamily() {
        XCTAssertTrue(parse(v2(0x21, 0x11, Array(repeating: 1, count: 11))).isInvalid)
        XCTAssertTrue(parse(v2(0x21, 0x21, Array(repeating: 1, count: 35))).isInvalid)
        XCTAssertTrue(parse(v2(0x21, 0x31, Array(repeating: 1, count: 215))).isInvalid)
        XCTAssertTrue(parse(v2(0x21, 0x12, Array(repeating: 1, count: 4))).isInvalid)
    }

    func testVersionCommandFamilyAndTransportAreChecked() {
        for verCmd: UInt8 in [0x11, 0x31, 0x01, 0xF1, 0x22, 0x2F] {
            XCTAssertTrue(parse(v2(verCmd, 0x11, Array(repeating: 0, count: 12))).isInvalid, "ver/cmd \(verCmd)")
            // Known from the 13th byte on, without waiting for the rest.
            XCTAssertTrue(parse(v2Signature + [verCmd]).isInvalid)
        }
        for famProto: UInt8 in [0x41, 0xF1, 0x13, 0x1F, 0x03] {
            XCTAssertTrue(parse(v2(0x21, famProto, Array(repeating: 0, count: 12))).isInvalid, "fam/proto \(famProto)")
            XCTAssertTrue(parse(v2Signature + [0x21, famProto]).isInvalid)
        }
    }

    func testLengthIsBounded() {
        let limit = ProxyHeaderParser.maxV2Length - 16
        let most = v2(0x21, 0x11, [10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2, 0xEA] + [UInt8(((limit - 15) >> 8)), UInt8((limit - 15) & 0xff)]
                      + Array(repeating: 0, count: limit - 15))
        XCTAssertEqual(most.count, ProxyHeaderParser.maxV2Length)
        XCTAssertEqual(parse(most), .header(ProxyHeaderParser.maxV2Length, v4(10, 0, 0, 1, port: 1), v4(10, 0, 0, 2, port: 2)))
        // Too long is known from the fixed part alone.
        XCTAssertTrue(parse(Array(v2(0x21, 0x11, [], length: limit + 1))).isInvalid)
        XCTAssertTrue(parse(Array(v2(0x21, 0x11, [], length: 0xffff))).isInvalid)
    }

    func testSignatureIsCheckedByteByByte() {
        for i in 1..<12 {
            var bytes = tcp4
            bytes[i] ^= 0x40
            XCTAssertTrue(parse(Array(bytes[0...i])).isInvalid, "byte \(i)")
        }
    }
}
