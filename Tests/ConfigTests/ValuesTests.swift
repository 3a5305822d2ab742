import XCTest
@testable import Config

final class ValuesTests: XCTestCase {
    func testDurations() {
        XCTAssertEqual(Values.duration("500ms"), 500)
        XCTAssertEqual(Values.duration("2s"), 2000)
        XCTAssertEqual(Values.duration("30"), 30_000, "a bare integer is seconds")
        XCTAssertEqual(Values.duration("5m"), 300_000)
        XCTAssertEqual(Values.duration("1h"), 3_600_000)
        XCTAssertEqual(Values.duration("0"), 0)
        for bad in ["", "2x", "s", "1.5s", "-1s", "+1s", "1 s", "1sm", "1S", "99999999999999999999h"] {
            XCTAssertNil(Values.duration(bad), bad)
        }
    }

    func testSizes() {
        XCTAssertEqual(Values.size("512"), 512)
        XCTAssertEqual(Values.size("16k"), 16_384)
        XCTAssertEqual(Values.size("16K"), 16_384)
        XCTAssertEqual(Values.size("1m"), 1_048_576)
        XCTAssertEqual(Values.size("2G"), 2_147_483_648)
        for bad in ["", "12q", "k", "1kb", "-1", "1.5k", "99999999999999999999g"] {
            XCTAssertNil(Values.size(bad), bad)
        }
    }

    func testNumbers() {
        XCTAssertEqual(Values.number("042"), 42)
        for bad in ["", "+1", "-1", "1e3", " 1", "99999999999999999999"] {
            XCTAssertNil(Values.number(bad), bad)
        }
    }

    func testListenAddresses() {
        XCTAssertEqual(Values.listenAddress("127.0.0.1:8080", tls: false),
                       ListenAddress(host: "127.0.0.1", port: 8080, isIPv6: false, tls: false))
        XCTAssertEqual(Values.listenAddress("*:80", tls: true),
                       ListenAddress(host: "0.0.0.0", port: 80, isIPv6: false, tls: true))
        let v6 = Values.listenAddress("[0:0::1]:443", tls: false)
        XCTAssertEqual(v6, ListenAddress(host: "::1", port: 443, isIPv6: true, tls: false))
        XCTAssertEqual(v6?.description, "[::1]:443")
        XCTAssertEqual(Values.listenAddress("[::]:8080", tls: false)?.host, "::")
        XCTAssertEqual(Values.listenAddress("10.0.0.1:65535", tls: false)?.description, "10.0.0.1:65535")
        for bad in ["1.2.3.4:99999", "1.2.3.4:0", "1.2.3.4", "1.2.3.4:", ":80", "localhost:80", "1.2.3:80",
                    "256.1.1.1:80", "::1:80", "[::1]80", "[::1]", "[1.2.3.4]:80", "[zz]:80", "8080"] {
            XCTAssertNil(Values.listenAddress(bad, tls: false), bad)
        }
    }

    func testServerAddresses() {
        XCTAssertTrue(Values.serverAddress("127.0.0.1:9001")! == ("127.0.0.1", 9001))
        XCTAssertTrue(Values.serverAddress("app3.internal:9000")! == ("app3.internal", 9000))
        XCTAssertTrue(Values.serverAddress("my_service-1:80")! == ("my_service-1", 80))
        XCTAssertTrue(Values.serverAddress("[::1]:9001")! == ("::1", 9001))
        for bad in ["app:0", "app:65536", "app", "app:", ":80", "-app:80", "a..b:80", "a b:80", "1.2.3.999:80",
                    "::1:80", "[app]:80", "app:http"] {
            XCTAssertNil(Values.serverAddress(bad), bad)
        }
    }
}
