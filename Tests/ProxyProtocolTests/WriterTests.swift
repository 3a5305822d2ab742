import XCTest
@testable import ProxyProtocol

final class WriterTests: XCTestCase {
    func v1(_ s: ProxyAddress, _ d: ProxyAddress, capacity: Int = ProxyHeaderWriter.maxV1Length) -> String? {
        written(capacity: capacity) { ProxyHeaderWriter.writeV1(source: s, destination: d, into: $0) }
            .map { String(decoding: $0, as: UTF8.self) }
    }

    func v2Bytes(_ s: ProxyAddress, _ d: ProxyAddress, capacity: Int = ProxyHeaderWriter.maxV2Length) -> [UInt8]? {
        written(capacity: capacity) { ProxyHeaderWriter.writeV2(source: s, destination: d, into: $0) }
    }

    let client4 = v4(192, 0, 2, 10, port: 56324)
    let listener4 = v4(198, 51, 100, 1, port: 443)
    let client6 = v6(0x2001_0db8_0000_0000, 0x10, port: 1)
    let listener6 = v6(0x2001_0db8_0000_0000, 0x1, port: 8443)

    func testV1TCP4() {
        XCTAssertEqual(v1(client4, listener4), "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n")
    }

    func testV1TCP6() {
        XCTAssertEqual(v1(client6, listener6), "PROXY TCP6 2001:db8::10 2001:db8::1 1 8443\r\n")
    }

    func testMixedFamiliesGoAsIPv6AndMappedAsIPv4() {
        XCTAssertEqual(v1(client4, listener6), "PROXY TCP6 ::ffff:c000:20a 2001:db8::1 56324 8443\r\n")
        let mapped = ProxyAddress(ipv6High: 0, low: client4.mapped128.low, port: client4.port)
        XCTAssertEqual(v1(mapped, listener4), "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n")
        XCTAssertEqual(v2Bytes(mapped, listener4), v2Bytes(client4, listener4))
    }

    func testV1LongestLineFitsExactly() {
        let all = v6(.max, .max, port: 65535)
        let line = v1(all, all, capacity: ProxyHeaderWriter.maxV1Length)
        XCTAssertEqual(line?.utf8.count, ProxyHeaderWriter.maxV1Length)
        XCTAssertNil(v1(all, all, capacity: ProxyHeaderWriter.maxV1Length - 1))
        XCTAssertNil(v1(client4, listener4, capacity: 10))
    }

    func testV2TCP4Bytes() {
        XCTAssertEqual(v2Bytes(v4(172, 19, 0, 1, port: 42578), v4(172, 19, 0, 3, port: 80)),
                       v2(0x21, 0x11, [172, 19, 0, 1, 172, 19, 0, 3, 0xa6, 0x52, 0x00, 0x50]))
        XCTAssertEqual(v2Bytes(client4, listener4, capacity: 28)?.count, 28)
        XCTAssertNil(v2Bytes(client4, listener4, capacity: 27))
    }

    func testV2TCP6Bytes() {
        let bytes = v2Bytes(client6, listener6)
        XCTAssertEqual(bytes?.count, 52)
        XCTAssertEqual(bytes.map { Array($0[12..<16]) }, [0x21, 0x21, 0x00, 0x24])
        XCTAssertNil(v2Bytes(client6, listener6, capacity: 51))
    }

    func testWrittenHeadersParseBackToTheSameAddresses() {
        let pairs = [(client4, listener4), (client6, listener6), (client4, listener6),
                     (v4(0, 0, 0, 0, port: 0), v4(255, 255, 255, 255, port: 65535)), (v6(0, 0, port: 0), v6(0, 1, port: 1))]
        for (s, d) in pairs {
            let one = Array(v1(s, d)!.utf8)
            let two = v2Bytes(s, d)!
            for header in [one, two] {
                guard case .header(let n, let ps?, let pd?) = parse(header + [0x47]) else { return XCTFail("\(s) \(d)") }
                XCTAssertEqual(n, header.count)
                XCTAssertTrue(ps.mapped128 == s.mapped128 && ps.port == s.port)
                XCTAssertTrue(pd.mapped128 == d.mapped128 && pd.port == d.port)
            }
        }
    }
}
