import XCTest
@testable import Discovery

func v4(_ text: String, _ port: UInt16 = 80, weight: Int = 1, priority: Int = 0, backup: Bool = false) -> DiscoveredServer {
    DiscoveredServer(ip: DNSWire.ip(text), port: port, weight: weight, priority: priority, backup: backup)
}

final class ServerListDiffTests: XCTestCase {
    func testAddressTextAndOrder() {
        let six = DiscoveredServer(ip: DNSWire.ip("fd00::1"), port: 443)
        XCTAssertEqual(v4("10.0.0.9").address, "10.0.0.9:80")
        XCTAssertEqual(six.address, "[fd00::1]:443")
        let answer = ServerAnswer(servers: [six, v4("10.0.0.10"), v4("10.0.0.9", 81), v4("10.0.0.9")], ttl: 5)
        XCTAssertEqual(answer.servers.map(\.address), ["10.0.0.9:80", "10.0.0.9:81", "10.0.0.10:80", "[fd00::1]:443"])
    }

    func testAddedRemovedKeptChanged() {
        let old = [v4("10.0.0.1", weight: 1), v4("10.0.0.2", weight: 5), v4("10.0.0.3")]
        let new = [v4("10.0.0.4"), v4("10.0.0.2", weight: 7), v4("10.0.0.3")]
        let diff = ServerListDiff(old: old, new: new)
        XCTAssertEqual(diff.added.map(\.address), ["10.0.0.4:80"])
        XCTAssertEqual(diff.removed, [v4("10.0.0.1", weight: 1)])
        XCTAssertEqual(diff.kept.map(\.address), ["10.0.0.2:80", "10.0.0.3:80"])
        XCTAssertEqual(diff.changed, [v4("10.0.0.2", weight: 7)])
        XCTAssertFalse(diff.isEmpty)
    }

    func testSameListIsEmptyWhateverTheOrder() {
        let list = [v4("10.0.0.2"), v4("10.0.0.1")]
        let diff = ServerListDiff(old: list, new: list.reversed())
        XCTAssertTrue(diff.isEmpty)
        XCTAssertEqual(diff.kept.map(\.address), ["10.0.0.1:80", "10.0.0.2:80"])
    }

    func testPortIsPartOfTheIdentity() {
        let diff = ServerListDiff(old: [v4("10.0.0.1", 80)], new: [v4("10.0.0.1", 81)])
        XCTAssertEqual(diff.added.map(\.address), ["10.0.0.1:81"])
        XCTAssertEqual(diff.removed.map(\.address), ["10.0.0.1:80"])
    }

    func testFromAndToNothing() {
        let list = [v4("10.0.0.1")]
        XCTAssertEqual(ServerListDiff(old: [], new: list).added, list)
        XCTAssertEqual(ServerListDiff(old: list, new: []).removed, list)
        XCTAssertTrue(ServerListDiff(old: [], new: []).isEmpty)
    }
}
