import EventLoop
import XCTest
@testable import Discovery

/// The resolver against `DNSResponder` on 127.0.0.1, both polled through one epoll set.
final class ResolverTests: XCTestCase {
    private var responder: DNSResponder!
    private var driver: EpollDriver!
    private var resolver: Resolver!

    override func setUpWithError() throws {
        responder = try DNSResponder()
        driver = try EpollDriver(responder: responder)
        let driver = driver!
        resolver = try Resolver(server: responder.address, options: ResolverOptions(timeoutMs: 200, tries: 1)) {
            driver.apply($0)
        }
    }

    override func tearDown() {
        resolver.close()
        resolver = nil
        driver = nil
        responder = nil
    }

    private func addresses(_ name: String) -> Result<AddressAnswer, DNSFailure>? {
        var outcome: Result<AddressAnswer, DNSFailure>?
        resolver.lookupAddresses(name) { outcome = $0 }
        XCTAssertTrue(driver.run(resolver, until: { outcome != nil }), "no outcome for \(name)")
        return outcome
    }

    private func srv(_ name: String) -> Result<SRVAnswer, DNSFailure>? {
        var outcome: Result<SRVAnswer, DNSFailure>?
        resolver.lookupSRV(name) { outcome = $0 }
        XCTAssertTrue(driver.run(resolver, until: { outcome != nil }), "no outcome for \(name)")
        return outcome
    }

    func testAAndAAAAAreMergedWithTheirTTLs() throws {
        responder.records = [
            .a("app.test", "10.0.0.2", ttl: 30), .a("app.test", "10.0.0.1", ttl: 40),
            .aaaa("app.test", "fd00::1", ttl: 20), .a("other.test", "10.9.9.9", ttl: 5),
        ]
        let answer = try XCTUnwrap(addresses("App.Test")).get()
        XCTAssertEqual(answer.records.count, 3)
        let servers = ServerAnswer(addresses: answer, port: 8080)
        XCTAssertEqual(servers.servers.map(\.address), ["10.0.0.1:8080", "10.0.0.2:8080", "[fd00::1]:8080"])
        XCTAssertEqual(servers.ttl, 20)
        XCTAssertEqual(Set(responder.queries.map(\.type)), [WireRecord.typeA, WireRecord.typeAAAA])
    }

    func testOneFamilyAloneIsAnAnswer() throws {
        responder.records = [.aaaa("six.test", "fd00::6", ttl: 9)]
        XCTAssertEqual(try XCTUnwrap(addresses("six.test")).get().records, [AddressRecord(ip: DNSWire.ip("fd00::6"), ttl: 9)])
    }

    func testFailuresAreReportedAsSuch() {
        responder.records = [.srv("empty.test", priority: 0, weight: 1, port: 1, target: "x.test", ttl: 5)]
        XCTAssertEqual(addresses("missing.test"), .failure(.nxdomain))
        XCTAssertEqual(addresses("empty.test"), .failure(.noData))
        responder.rcodes["broken.test"] = DNSResponder.serverFailure
        XCTAssertEqual(addresses("broken.test"), .failure(.serverFailure))
        responder.rcodes["closed.test"] = DNSResponder.refused
        XCTAssertEqual(addresses("closed.test"), .failure(.refused))
        responder.silent.insert("slow.test")
        let started = EventLoop.Clock.nowMs()
        XCTAssertEqual(addresses("slow.test"), .failure(.timeout))
        XCTAssertLessThan(EventLoop.Clock.nowMs() - started, 2000)
        XCTAssertEqual(srv("missing.test"), .failure(.nxdomain))
    }

    func testAClosedServerPortIsConnectionRefused() throws {
        // A port that was just bound and closed again.
        let address = try { try DNSResponder().address }()
        let closedPort = try Resolver(server: address, options: ResolverOptions(timeoutMs: 2000, tries: 1)) { [driver] in
            driver!.apply($0)
        }
        // One query (A+AAAA would send twice, and the kernel may hand the error to the second send).
        var outcome: Result<SRVAnswer, DNSFailure>?
        closedPort.lookupSRV("_x._tcp.test") { outcome = $0 }
        XCTAssertTrue(driver.run(closedPort, until: { outcome != nil }))
        XCTAssertEqual(outcome, .failure(.connectionRefused))
    }

    private func serviceRecords() -> [WireRecord] {
        [
            .srv("_http._tcp.svc.test", priority: 10, weight: 60, port: 8080, target: "n1.test", ttl: 30),
            .srv("_http._tcp.svc.test", priority: 10, weight: 20, port: 8081, target: "n2.test", ttl: 30),
            .srv("_http._tcp.svc.test", priority: 20, weight: 0, port: 9000, target: "n3.test", ttl: 30),
            .a("n1.test", "10.0.0.1", ttl: 25), .aaaa("n1.test", "fd00::1", ttl: 25),
            .a("n2.test", "10.0.0.2", ttl: 15), .a("n3.test", "10.0.0.3", ttl: 60),
        ]
    }

    private let expectedServers = [
        "10.0.0.1:8080 w60 p10", "10.0.0.2:8081 w20 p10", "10.0.0.3:9000 w0 p20 backup", "[fd00::1]:8080 w60 p10",
    ]

    private func describe(_ servers: [DiscoveredServer]) -> [String] {
        servers.map { "\($0.address) w\($0.weight) p\($0.priority)" + ($0.backup ? " backup" : "") }
    }

    func testSRVWithTargetsInTheAdditionalSection() throws {
        responder.records = serviceRecords()
        let answer = try XCTUnwrap(srv("_http._tcp.svc.test")).get()
        XCTAssertEqual(answer.ttl, 30)
        XCTAssertEqual(responder.queries.count, 1, "the additional section held every target")
        let servers = ServerAnswer(srv: answer, max: nil)
        XCTAssertEqual(describe(servers.servers), expectedServers)
        XCTAssertEqual(servers.ttl, 15)
    }

    func testSRVTargetsAreLookedUpWhenTheAdditionalSectionIsEmpty() throws {
        responder.records = serviceRecords()
        responder.additionalForSRV = false
        let answer = try XCTUnwrap(srv("_http._tcp.svc.test")).get()
        XCTAssertEqual(describe(ServerAnswer(srv: answer, max: nil).servers), expectedServers)
        XCTAssertEqual(Set(responder.queries.filter { $0.type != WireRecord.typeSRV }.map(\.name)), ["n1.test", "n2.test", "n3.test"])
        XCTAssertEqual(responder.queries.count, 7)
    }

    func testSRVTargetsWithoutAddressesAddNothing() throws {
        responder.records = serviceRecords() + [
            .srv("_http._tcp.svc.test", priority: 10, weight: 5, port: 1, target: "gone.test", ttl: 30),
            .srv("_http._tcp.svc.test", priority: 10, weight: 5, port: 1, target: ".", ttl: 30),
        ]
        responder.additionalForSRV = false
        let answer = try XCTUnwrap(srv("_http._tcp.svc.test")).get()
        XCTAssertEqual(describe(ServerAnswer(srv: answer, max: nil).servers), expectedServers)
        XCTAssertEqual(ServerAnswer(srv: answer, max: 2).servers.map(\.address), ["10.0.0.1:8080", "[fd00::1]:8080"])
    }

    func testALargeAnswerComesOverTCP() throws {
        for i in 1...30 {
            responder.records.append(.srv("_big._tcp.test", priority: 0, weight: UInt16(i), port: 8000, target: "node\(i).test", ttl: 30))
            responder.records.append(.a("node\(i).test", "10.0.1.\(i)", ttl: 30))
        }
        let answer = try XCTUnwrap(srv("_big._tcp.test")).get()
        XCTAssertEqual(ServerAnswer(srv: answer, max: nil).servers.count, 30)
        XCTAssertEqual(responder.queries.map(\.tcp), [false, true], "truncated over UDP, asked again over TCP")
        let wroteViaEpollOut = driver.changes.contains {
            switch $0 {
            case .add(let s), .modify(let s): return s.writable
            case .remove: return false
            }
        }
        XCTAssertTrue(wroteViaEpollOut, "the TCP query waited for EPOLLOUT: \(driver.changes)")
        XCTAssertEqual(driver.registered, [])
    }

    func testASRVTargetThatTimesOutFailsTheLookup() {
        responder.records = serviceRecords()
        responder.additionalForSRV = false
        responder.silent.insert("n2.test")
        XCTAssertEqual(srv("_http._tcp.svc.test"), .failure(.timeout))
    }

    func testSRVWithoutAnyAddressIsNoData() {
        responder.records = [.srv("_x._tcp.test", priority: 0, weight: 1, port: 80, target: "nowhere.test", ttl: 5)]
        XCTAssertEqual(srv("_x._tcp.test"), .failure(.noData))
    }

    func testSocketsAreReportedAndGoneAfterTheLookups() {
        responder.records = [.a("app.test", "10.0.0.1", ttl: 5)]
        _ = addresses("app.test")
        XCTAssertFalse(driver.changes.isEmpty)
        guard case .add(let first) = driver.changes.first else { return XCTFail("first change: \(driver.changes)") }
        XCTAssertTrue(first.readable)
        // c-ares closes its sockets once no query is pending.
        XCTAssertEqual(driver.registered, [])
        XCTAssertEqual(resolver.descriptors, [])
        XCTAssertNil(resolver.nextTimeoutMs)
    }

    func testClosingDropsPendingLookupsAndReportsTheirSockets() {
        responder.silent.insert("slow.test")
        var called = false
        resolver.lookupAddresses("slow.test") { _ in called = true }
        XCTAssertFalse(resolver.descriptors.isEmpty)
        XCTAssertNotNil(resolver.nextTimeoutMs)
        resolver.close()
        XCTAssertFalse(called)
        XCTAssertEqual(driver.registered, [])
        XCTAssertEqual(resolver.descriptors, [])
        resolver.lookupAddresses("slow.test") { _ in called = true }
        XCTAssertFalse(called, "a closed resolver drops lookups")
    }

    func testAnIPv6Server() throws {
        let six: DNSResponder
        do { six = try DNSResponder(ipv6: true) } catch { throw XCTSkip("no IPv6 loopback here") }
        six.records = [.a("app.test", "10.0.0.1", ttl: 5)]
        let driver6 = try EpollDriver(responder: six)
        let resolver6 = try Resolver(server: six.address) { driver6.apply($0) }
        var outcome: Result<AddressAnswer, DNSFailure>?
        resolver6.lookupAddresses("app.test") { outcome = $0 }
        XCTAssertTrue(driver6.run(resolver6, until: { outcome != nil }))
        XCTAssertEqual(try outcome?.get().records, [AddressRecord(ip: [10, 0, 0, 1], ttl: 5)])
    }

    func testServerAddressesAreChecked() {
        XCTAssertEqual(Resolver.serverText("127.0.0.1:5353"), "127.0.0.1:5353")
        XCTAssertEqual(Resolver.serverText("[::1]:53"), "[::1]:53")
        for bad in ["127.0.0.1", "::1:53", "[::1]", "[::1]53", "dns.example:53", "127.0.0.1:0", "127.0.0.1:65536",
                    "127.0.0.1:53,127.0.0.2:53", "[127.0.0.1]:53", ""] {
            XCTAssertNil(Resolver.serverText(bad), bad)
            XCTAssertThrowsError(try Resolver(server: bad) { _ in }, bad)
        }
    }
}
