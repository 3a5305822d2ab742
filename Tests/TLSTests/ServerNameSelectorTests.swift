import XCTest
@testable import TLS

extension ServerNameSelector {
    func index(for serverName: String) -> Int {
        var name = serverName
        return name.withUTF8 { index(for: $0) }
    }
}

final class ServerNameSelectorTests: XCTestCase {
    private let selector = ServerNameSelector(names: [
        ["default.test"],
        ["*.example.test", "localhost"],
        ["api.example.test"],
        ["*.EXAMPLE.test", "Other.Test"],
    ])

    func testExactNameSelectsItsCertificate() {
        XCTAssertEqual(selector.index(for: "localhost"), 1)
        XCTAssertEqual(selector.index(for: "default.test"), 0)
        XCTAssertEqual(selector.index(for: "other.test"), 3)
    }

    func testExactNameWinsOverAnEarlierWildcard() {
        XCTAssertEqual(selector.index(for: "api.example.test"), 2)
    }

    func testWildcardMatchesExactlyOneLabel() {
        XCTAssertEqual(selector.index(for: "www.example.test"), 1)
        XCTAssertEqual(selector.index(for: "a.b.example.test"), 0)
        XCTAssertEqual(selector.index(for: "example.test"), 0)
        XCTAssertEqual(selector.index(for: ".example.test"), 0)
    }

    func testNamesCompareWithoutCase() {
        XCTAssertEqual(selector.index(for: "LOCALHOST"), 1)
        XCTAssertEqual(selector.index(for: "WWW.Example.TEST"), 1)
        XCTAssertEqual(selector.index(for: "OTHER.test"), 3)
    }

    func testUnknownOrEmptyNameSelectsTheDefault() {
        XCTAssertEqual(selector.index(for: "unknown.test"), 0)
        XCTAssertEqual(selector.index(for: ""), 0)
        XCTAssertEqual(selector.index(for: "localhost."), 0)
    }

    func testPartialWildcardIsOnlyALiteralName() {
        let partial = ServerNameSelector(names: [["a.test"], ["w*.example.test"]])
        XCTAssertEqual(partial.index(for: "www.example.test"), 0)
    }
}

final class ALPNTests: XCTestCase {
    private func offset(_ list: [UInt8]) -> Int? {
        list.withUnsafeBufferPointer { ALPN.offset(of: ALPN.http11, in: $0) }
    }

    private func choice(_ list: [UInt8], http2: Bool) -> String? {
        list.withUnsafeBufferPointer { buffer in
            ALPN.choose(from: buffer, http2: http2).map { String(decoding: list[$0.0..<$0.0 + Int($0.1)], as: UTF8.self) }
        }
    }

    private func wire(_ names: String...) -> [UInt8] {
        names.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
    }

    func testFindsHTTP11AnywhereInTheList() {
        XCTAssertEqual(offset(wire("http/1.1")), 1)
        XCTAssertEqual(offset(wire("h2", "http/1.1")), 4)
    }

    func testRefusesListsWithoutHTTP11() {
        XCTAssertNil(offset(wire("h2")))
        XCTAssertNil(offset(wire("http/1.0", "spdy/3")))
        XCTAssertNil(offset([]))
    }

    func testRefusesMalformedLists() {
        XCTAssertNil(offset([9] + Array("http/1.1".utf8)))
        XCTAssertNil(offset([0] + wire("http/1.1")))
    }

    /// The server's preference: h2 when the frontend speaks it, whatever the client's order.
    func testChoosesH2FirstWhenEnabled() {
        XCTAssertEqual(choice(wire("http/1.1", "h2"), http2: true), "h2")
        XCTAssertEqual(choice(wire("http/1.1", "h2"), http2: false), "http/1.1")
        XCTAssertEqual(choice(wire("h2"), http2: true), "h2")
        XCTAssertNil(choice(wire("h2"), http2: false), "an h2-only client of an http2-off frontend is refused")
        XCTAssertNil(choice(wire("h2c", "spdy/3"), http2: true))
    }
}
