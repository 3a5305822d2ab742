import XCTest
@testable import Balancer

final class StickyTests: XCTestCase {
    func lookup(_ map: StickyMap, _ text: String) -> Int? {
        var text = text
        return text.withUTF8 { map.server(forCookie: UnsafeRawBufferPointer($0)) }
    }

    func testTokenIsStableAcrossProcessesAndReleases() {
        // From an independent implementation of the documented hash: a changed value here breaks
        // every sticky cookie in the field.
        XCTAssertEqual(StickyToken(backend: "app", address: "10.0.0.5:8080").text, "f53467f00e97d432")
    }

    func testTokenDependsOnBackendAndAddress() {
        let a = StickyToken(backend: "app", address: "10.0.0.5:8080")
        XCTAssertEqual(a, StickyToken(backend: "app", address: "10.0.0.5:8080"))
        XCTAssertNotEqual(a, StickyToken(backend: "api", address: "10.0.0.5:8080"))
        XCTAssertNotEqual(a, StickyToken(backend: "app", address: "10.0.0.5:8081"))
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        XCTAssertNotEqual(StickyToken(backend: "ab", address: "c"), StickyToken(backend: "a", address: "bc"))
    }

    func testTokensOfManyServersAreDistinctAndOpaque() {
        let addresses = (0..<2000).map { "10.\($0 / 256).\($0 % 256).1:8080" }
        let texts = addresses.map { StickyToken(backend: "app", address: $0).text }
        XCTAssertEqual(Set(texts).count, addresses.count)
        for text in texts {
            XCTAssertEqual(text.utf8.count, 16)
            XCTAssertTrue(text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        }
    }

    func testMapFindsEveryServerByItsToken() {
        let addresses = (0..<300).map { "[2001:db8::\($0)]:443" }
        let map = StickyMap(backend: "web", addresses: addresses)
        for i in addresses.indices {
            XCTAssertEqual(map.token(of: i), StickyToken(backend: "web", address: addresses[i]))
            XCTAssertEqual(lookup(map, map.token(of: i).text), i)
        }
        // The same servers in another order: each token still names its own server.
        let reversed = StickyMap(backend: "web", addresses: addresses.reversed())
        XCTAssertEqual(lookup(reversed, map.token(of: 0).text), addresses.count - 1)
    }

    func testUnknownAndMalformedTokensFindNothing() {
        let map = StickyMap(backend: "app", addresses: ["10.0.0.1:80", "10.0.0.2:80"])
        let other = StickyToken(backend: "other", address: "10.0.0.1:80").text
        for bad in [other, "", "f53467f00e97d43", "f53467f00e97d4320", "F53467F00E97D432", "f53467f00e97d43g", "10.0.0.1:80"] {
            XCTAssertNil(lookup(map, bad), bad)
        }
        XCTAssertNil(StickyMap(backend: "app", addresses: []).server(for: StickyToken(backend: "app", address: "x")))
    }

    func testSameAddressTwiceNamesTheFirst() {
        let map = StickyMap(backend: "app", addresses: ["a:1", "b:1", "a:1"])
        XCTAssertEqual(map.server(for: map.token(of: 2)), 0)
    }

    func testWriteNeedsSixteenBytes() {
        let token = StickyToken(backend: "app", address: "10.0.0.5:8080")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
        defer { buffer.deallocate() }
        XCTAssertEqual(token.write(into: buffer), 16)
        XCTAssertEqual(String(decoding: buffer, as: UTF8.self), "f53467f00e97d432")
        XCTAssertNil(token.write(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<15])))
        XCTAssertEqual(StickyToken(text: UnsafeRawBufferPointer(buffer)), token)
    }
}
