import Glibc
import XCTest
@testable import ProxyProtocol

/// Address text, read and written, checked against glibc's inet_pton / inet_ntop.
final class AddressTextTests: XCTestCase {
    func readIPv4(_ s: String) -> UInt32? {
        let b = Array(s.utf8)
        return b.withUnsafeBytes { TextInput.ipv4($0, 0, b.count) }
    }

    func readIPv6(_ s: String) -> (UInt64, UInt64)? {
        let b = Array(s.utf8)
        return b.withUnsafeBytes { TextInput.ipv6($0, 0, b.count) }
    }

    func ptonIPv4(_ s: String) -> UInt32? {
        var a = in_addr()
        return inet_pton(AF_INET, s, &a) == 1 ? UInt32(bigEndian: a.s_addr) : nil
    }

    func ptonIPv6(_ s: String) -> (UInt64, UInt64)? {
        var a = in6_addr()
        guard inet_pton(AF_INET6, s, &a) == 1 else { return nil }
        return withUnsafeBytes(of: &a) { ($0.loadUnaligned(as: UInt64.self).bigEndian, $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self).bigEndian) }
    }

    func written(_ a: ProxyAddress) -> String {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
        defer { buffer.deallocate() }
        return String(decoding: buffer[0..<a.writeIP(into: buffer)!], as: UTF8.self)
    }

    static let ipv4Cases = [
        "0.0.0.0", "1.2.3.4", "255.255.255.255", "10.0.0.10", "192.168.100.200",
        "01.2.3.4", "1.02.3.4", "1.2.3.00", "256.1.1.1", "1.2.3.256", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4.",
        ".1.2.3.4", "1.2.3.-4", "1.2.3.4 ", " 1.2.3.4", "1.2.3.a", "1.2.3.1000", "0x1.2.3.4", "", "::1", "1.2.3.4/8",
    ]

    static let ipv6Cases = [
        "::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1::8", "ABCD:ef01::", "fFfF::",
        "2001:db8::1", "0:0:0:0:0:0:0:0", "0000:0000::0000", "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4",
        "64:ff9b::192.0.2.33", "1::2:3:4:5:6:7",
        ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", ":1::", ":1", "1:", "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8", "::1.2.3.04", "::1.2.3", "1:2:3:4:5:6:7:1.2.3.4", "g::", "::ffff:1.2.3.4:5", "::ffff:1.2.3.4.",
        "::1a.2.3.4", "::1.2.3.4::", "1.2.3.4", "", ":", "::1 ", "[::1]", "fe80::1%eth0", "::ffff:256.1.1.1", "1:2:3:4:5::1.2.3.4",
        "1:2:3:4:5:6::1.2.3.4", "::0:1.2.3.4",
    ]

    func testIPv4AgreesWithInetPton() {
        for s in AddressTextTests.ipv4Cases {
            XCTAssertEqual(readIPv4(s), ptonIPv4(s), s)
        }
        XCTAssertEqual(readIPv4("10.20.30.40"), 0x0a14_1e28)
    }

    func testIPv6AgreesWithInetPton() {
        for s in AddressTextTests.ipv6Cases {
            let mine = readIPv6(s)
            let theirs = ptonIPv6(s)
            XCTAssertEqual(mine?.0, theirs?.0, s)
            XCTAssertEqual(mine?.1, theirs?.1, s)
            XCTAssertEqual(mine == nil, theirs == nil, s)
        }
        XCTAssertEqual(readIPv6("1:2:3:4:5:6:7:8")?.0, 0x0001_0002_0003_0004)
        XCTAssertEqual(readIPv6("1:2:3:4:5:6:7:8")?.1, 0x0005_0006_0007_0008)
        XCTAssertEqual(readIPv6("::ffff:1.2.3.4")?.1, 0x0000_ffff_0102_0304)
    }

    func testGeneratedIPv6TextAgreesWithInetPton() {
        // Every way to write a few addresses, valid or not: groups with and without leading zeros,
        // "::" at each place, dotted tails.
        var random = SeededRandom(state: 1)
        let pieces = ["0", "1", "ab", "0ab", "00ab", "ffff", "FFFF", "10000", ":", "::", ".", "1.2.3.4", "255.0.0.1", "01.1.1.1"]
        for _ in 0..<20_000 {
            var s = ""
            for _ in 0..<Int.random(in: 1...12, using: &random) { s += pieces.randomElement(using: &random)! }
            let mine = readIPv6(s)
            let theirs = ptonIPv6(s)
            XCTAssertEqual(mine == nil, theirs == nil, s)
            if let m = mine, let t = theirs { XCTAssertTrue(m == t, s) }
        }
    }

    func testWriteIPv4AndMapped() {
        XCTAssertEqual(written(v4(192, 0, 2, 1, port: 0)), "192.0.2.1")
        XCTAssertEqual(written(v4(0, 0, 0, 0, port: 0)), "0.0.0.0")
        XCTAssertEqual(written(v4(255, 255, 255, 255, port: 0)), "255.255.255.255")
        // IPv4-mapped IPv6 reads as the IPv4 peer it is, as SocketAddress.formatHost shows it.
        XCTAssertEqual(written(v6(0, 0x0000_ffff_c000_0201, port: 0)), "192.0.2.1")
    }

    func testWriteIPv6IsRFC5952() {
        let cases: [(UInt64, UInt64, String)] = [
            (0, 0, "::"),
            (0, 1, "::1"),
            (0x0001_0000_0000_0000, 0, "1::"),
            (0x2001_0db8_0000_0000, 1, "2001:db8::1"),
            (0x2001_0db8_0000_0001, 0x0001_0001_0001_0001, "2001:db8:0:1:1:1:1:1"),  // one zero group stays "0"
            (0x2001_0000_0000_0001, 0x0000_0000_0000_0001, "2001:0:0:1::1"),         // the longest run
            (0x2001_0db8_0000_0000, 0x0001_0000_0000_0001, "2001:db8::1:0:0:1"),     // the first of equal runs
            (0xfe80_0000_0000_0000, 0x0204_61ff_fe9d_f156, "fe80::204:61ff:fe9d:f156"),
            (0xabcd_ef01_2345_6789, 0xabcd_ef01_2345_6789, "abcd:ef01:2345:6789:abcd:ef01:2345:6789"),
            (0, 0x0000_0000_0102_0304, "::102:304"),                                 // no dotted tail, unlike glibc
        ]
        for (high, low, expected) in cases {
            XCTAssertEqual(written(v6(high, low, port: 0)), expected)
        }
    }

    func testWrittenIPv6AgreesWithInetNtop() {
        var random = SeededRandom(state: 1)
        for _ in 0..<20_000 {
            // Mostly zero groups, so that runs of zeros are common.
            var g = [UInt64](repeating: 0, count: 8)
            for i in 0..<8 where Bool.random(using: &random) { g[i] = UInt64.random(in: 0...0xffff, using: &random) }
            let high = g[0] << 48 | g[1] << 32 | g[2] << 16 | g[3]
            let low = g[4] << 48 | g[5] << 32 | g[6] << 16 | g[7]
            // glibc writes ::a.b.c.d for the first 96 bits zero, and the mapped range is shown as IPv4.
            if high == 0 && (low >> 32 == 0 || low >> 32 == 0xffff) { continue }
            var a = in6_addr()
            withUnsafeMutableBytes(of: &a) {
                $0.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
                $0.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            var out = [CChar](repeating: 0, count: 64)
            XCTAssertNotNil(inet_ntop(AF_INET6, &a, &out, 64))
            let ntop = out.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            XCTAssertEqual(written(v6(high, low, port: 0)), ntop)
        }
    }

    func testWriteNeedsRoom() {
        let a = v6(.max, .max, port: 0)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 39, alignment: 1)
        defer { buffer.deallocate() }
        XCTAssertEqual(a.writeIP(into: buffer), 39)
        XCTAssertNil(a.writeIP(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<38])))
        XCTAssertNil(v4(1, 2, 3, 4, port: 0).writeIP(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<6])))
        XCTAssertEqual(v4(1, 2, 3, 4, port: 0).writeIP(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<7])), 7)
    }

    func testMappedForms() {
        let mapped = ProxyAddress(mapped: 0, low: 0x0000_ffff_0a00_0001, port: 80)
        XCTAssertEqual(mapped, v4(10, 0, 0, 1, port: 80))
        XCTAssertEqual(mapped.family, .ipv4)
        XCTAssertEqual(v4(10, 0, 0, 1, port: 80).mapped128.low, 0x0000_ffff_0a00_0001)
        XCTAssertEqual(v4(10, 0, 0, 1, port: 80).mapped128.high, 0)
        XCTAssertEqual(ProxyAddress(mapped: 0x2001_0db8_0000_0000, low: 1, port: 1).family, .ipv6)
    }
}
