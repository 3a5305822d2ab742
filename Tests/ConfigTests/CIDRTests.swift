import XCTest
import Config

final class CIDRTests: XCTestCase {
    private let v4 = CIDR.mapped(ipv4: 0x0A01_0203)  // 10.1.2.3

    func testIPv4IsStoredMapped() throws {
        let cidr = try XCTUnwrap(CIDR(parsing: "10.0.0.0/8"))
        XCTAssertEqual(cidr.high, 0)
        XCTAssertEqual(cidr.low, 0x0000_ffff_0a00_0000)
        XCTAssertEqual(cidr.prefixLength, 104)
        XCTAssertTrue(cidr.contains(high: v4.high, low: v4.low))
        let other = CIDR.mapped(ipv4: 0x0B00_0001)  // 11.0.0.1
        XCTAssertFalse(cidr.contains(high: other.high, low: other.low))
    }

    func testHostBitsAreCleared() {
        XCTAssertEqual(CIDR(parsing: "10.1.2.3/8"), CIDR(parsing: "10.0.0.0/8"))
    }

    func testBareAddressIsASingleHost() throws {
        let v4Host = try XCTUnwrap(CIDR(parsing: "10.1.2.3"))
        XCTAssertEqual(v4Host.prefixLength, 128)
        XCTAssertTrue(v4Host.contains(high: v4.high, low: v4.low))
        let next = CIDR.mapped(ipv4: 0x0A01_0204)
        XCTAssertFalse(v4Host.contains(high: next.high, low: next.low))
        let v6Host = try XCTUnwrap(CIDR(parsing: "::1"))
        XCTAssertEqual(v6Host.prefixLength, 128)
        XCTAssertTrue(v6Host.contains(high: 0, low: 1))
        XCTAssertFalse(v6Host.contains(high: 0, low: 2))
    }

    func testIPv6() throws {
        let cidr = try XCTUnwrap(CIDR(parsing: "2001:db8::/32"))
        XCTAssertEqual(cidr.prefixLength, 32)
        XCTAssertTrue(cidr.contains(high: 0x2001_0db8_ffff_0000, low: 42))
        XCTAssertFalse(cidr.contains(high: 0x2001_0db9_0000_0000, low: 0))
        let wide = try XCTUnwrap(CIDR(parsing: "fe80::/10"))
        XCTAssertTrue(wide.contains(high: 0xfebf_0000_0000_0000, low: 0))
        XCTAssertFalse(wide.contains(high: 0xfec0_0000_0000_0000, low: 0))
        let lowHalf = try XCTUnwrap(CIDR(parsing: "::ffff:0:0/100"))
        XCTAssertTrue(lowHalf.contains(high: 0, low: 0x0000_ffff_0fff_ffff))
        XCTAssertFalse(lowHalf.contains(high: 0, low: 0x0000_ffff_1000_0000))
    }

    func testIPv4RangeMatchesOnlyMappedAddresses() throws {
        let all = try XCTUnwrap(CIDR(parsing: "0.0.0.0/0"))
        XCTAssertEqual(all.prefixLength, 96)
        XCTAssertTrue(all.contains(high: v4.high, low: v4.low))
        XCTAssertFalse(all.contains(high: 0x2001_0db8_0000_0000, low: 1))
        // The same range written in mapped IPv6 form is the same range.
        XCTAssertEqual(CIDR(parsing: "::ffff:10.0.0.0/104"), CIDR(parsing: "10.0.0.0/8"))
    }

    func testZeroPrefixMatchesEverything() throws {
        let all = try XCTUnwrap(CIDR(parsing: "::/0"))
        XCTAssertTrue(all.contains(high: .max, low: .max))
        XCTAssertTrue(all.contains(high: v4.high, low: v4.low))
    }

    func testInvalid() {
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0/8", "host/8", "10.0.0.0/8/8",
                    "1.2.3.4 /8", "[::1]/128"] {
            XCTAssertNil(CIDR(parsing: bad), bad)
        }
    }
}
