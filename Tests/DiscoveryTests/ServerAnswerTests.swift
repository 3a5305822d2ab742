import XCTest
@testable import Discovery

private func record(_ ip: String, ttl: UInt32 = 60) -> AddressRecord { AddressRecord(ip: DNSWire.ip(ip), ttl: ttl) }

final class ServerAnswerTests: XCTestCase {
    func testAddressesTakeThePortAndTheSmallestTTL() {
        let answer = ServerAnswer(addresses: AddressAnswer(records: [record("fd00::2", ttl: 30), record("10.0.0.1", ttl: 45),
                                                                     record("10.0.0.1", ttl: 50)]), port: 8080)
        XCTAssertEqual(answer.servers.map(\.address), ["10.0.0.1:8080", "[fd00::2]:8080"])
        XCTAssertEqual(answer.servers.map(\.weight), [1, 1])
        XCTAssertEqual(answer.ttl, 30)
    }

    private let srv = SRVAnswer(records: [
        SRVRecord(target: "a", port: 9000, weight: 10, priority: 1, addresses: [record("10.0.0.1", ttl: 40)]),
        SRVRecord(target: "b", port: 9000, weight: 30, priority: 1, addresses: [record("10.0.0.2"), record("fd00::2")]),
        SRVRecord(target: "c", port: 9001, weight: 5, priority: 2, addresses: [record("10.0.0.3")]),
        // The same address as "a" at a worse priority: "a"'s entry stays.
        SRVRecord(target: "a-alias", port: 9000, weight: 99, priority: 3, addresses: [record("10.0.0.1")]),
    ], ttl: 120)

    func testSRVWeightsPortsPrioritiesAndBackups() {
        let answer = ServerAnswer(srv: srv, max: nil)
        XCTAssertEqual(answer.servers, [
            v4("10.0.0.1", 9000, weight: 10, priority: 1),
            v4("10.0.0.2", 9000, weight: 30, priority: 1),
            v4("10.0.0.3", 9001, weight: 5, priority: 2, backup: true),
            DiscoveredServer(ip: DNSWire.ip("fd00::2"), port: 9000, weight: 30, priority: 1),
        ])
        XCTAssertEqual(answer.ttl, 40)
    }

    func testSRVMaxKeepsThePreferredServers() {
        let answer = ServerAnswer(srv: srv, max: 2)
        // Priority 1 first, then the largest weight (30: 10.0.0.2 and fd00::2), then the address order.
        XCTAssertEqual(answer.servers.map(\.address), ["10.0.0.2:9000", "[fd00::2]:9000"])
        XCTAssertEqual(ServerAnswer(srv: srv, max: 4).servers.map(\.address),
                       ["10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9001", "[fd00::2]:9000"])
    }

    func testSRVTTLIsTheRecordSetsWhenAddressesLiveLonger() {
        let answer = SRVAnswer(records: [SRVRecord(target: "a", port: 1, weight: 1, priority: 0,
                                                   addresses: [record("10.0.0.1", ttl: 600)])], ttl: 15)
        XCTAssertEqual(ServerAnswer(srv: answer, max: nil).ttl, 15)
    }
}
