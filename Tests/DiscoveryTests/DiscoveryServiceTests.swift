import XCTest
@testable import Discovery

/// The whole module as the master runs it: the service's plan decides when to ask the responder,
/// with a clock the test moves.
final class DiscoveryServiceTests: XCTestCase {
    private final class TestClock {
        var now: Int64 = 1_000_000
    }

    private var responder: DNSResponder!
    private var driver: EpollDriver!
    private var clock: TestClock!
    private var service: DiscoveryService!
    private var updates: [WatchUpdate] = []

    override func setUpWithError() throws {
        responder = try DNSResponder()
        driver = try EpollDriver(responder: responder)
        clock = TestClock()
        let (driver, clock) = (driver!, clock!)
        let resolver = try Resolver(server: responder.address, options: ResolverOptions(timeoutMs: 200, tries: 1)) {
            driver.apply($0)
        }
        service = DiscoveryService(resolver: resolver, clock: { clock.now }) { [unowned self] in self.updates.append($0) }
    }

    override func tearDown() {
        service = nil
        driver = nil
        responder = nil
    }

    /// Ticks and polls until the next update arrives.
    private func nextUpdate(file: StaticString = #filePath, line: UInt = #line) -> WatchUpdate? {
        let count = updates.count
        service.tick()
        XCTAssertTrue(driver.run(service, until: { updates.count > count }), "no update", file: file, line: line)
        return updates.last
    }

    func testAddressesFollowTheRecordsAndFailuresKeepTheLastAnswer() throws {
        let app = Watch(name: "app.test", kind: .addresses(port: 80))
        responder.records = [.a("app.test", "10.0.0.1", ttl: 30), .a("app.test", "10.0.0.2", ttl: 30),
                             .aaaa("app.test", "fd00::1", ttl: 60)]
        service.setWatches([app])
        XCTAssertEqual(service.nextWakeMs, 0)

        let first = try XCTUnwrap(nextUpdate())
        XCTAssertNil(first.failure)
        XCTAssertEqual(first.diff.added.map(\.address), ["10.0.0.1:80", "10.0.0.2:80", "[fd00::1]:80"])
        XCTAssertEqual(first.status.nextQueryAt, clock.now + 30_000)
        XCTAssertEqual(service.nextWakeMs, 30_000)

        // Nothing is asked before the TTL runs out.
        responder.remove("app.test", type: WireRecord.typeA)
        responder.records.append(.a("app.test", "10.0.0.1", ttl: 30))
        let asked = responder.queries.count
        clock.now += 29_999
        service.tick()
        driver.run(service, until: { false }, limitMs: 50)
        XCTAssertEqual(responder.queries.count, asked)

        // A record removed: the list shrinks.
        clock.now += 1
        let shrunk = try XCTUnwrap(nextUpdate())
        XCTAssertEqual(shrunk.diff.removed.map(\.address), ["10.0.0.2:80"])
        XCTAssertEqual(shrunk.diff.kept.map(\.address), ["10.0.0.1:80", "[fd00::1]:80"])
        XCTAssertTrue(shrunk.diff.added.isEmpty)

        // NXDOMAIN, then a timeout: the last answer stays, each failure counts, retries come sooner.
        responder.rcodes["app.test"] = DNSResponder.nxdomain
        clock.now = shrunk.status.nextQueryAt
        let missing = try XCTUnwrap(nextUpdate())
        XCTAssertEqual(missing.failure, .nxdomain)
        XCTAssertTrue(missing.diff.isEmpty)
        XCTAssertEqual(missing.status.servers.map(\.address), ["10.0.0.1:80", "[fd00::1]:80"])
        XCTAssertEqual(missing.status.failuresTotal, 1)
        XCTAssertEqual(missing.status.nextQueryAt, clock.now + 1000)

        responder.rcodes = [:]
        responder.silent.insert("app.test")
        clock.now += 1000
        let slow = try XCTUnwrap(nextUpdate())
        XCTAssertEqual(slow.failure, .timeout)
        XCTAssertEqual(slow.status.servers.map(\.address), ["10.0.0.1:80", "[fd00::1]:80"])
        XCTAssertEqual(slow.status.failuresTotal, 2)
        XCTAssertEqual(slow.status.lastError, .timeout)
        XCTAssertEqual(slow.status.nextQueryAt, clock.now + 2000)

        // Back: the answer applies and the backoff resets.
        responder.silent = []
        responder.records.append(.a("app.test", "10.0.0.3", ttl: 10))
        clock.now += 2000
        let back = try XCTUnwrap(nextUpdate())
        XCTAssertNil(back.failure)
        XCTAssertEqual(back.diff.added.map(\.address), ["10.0.0.3:80"])
        XCTAssertEqual(back.status.consecutiveFailures, 0)
        XCTAssertEqual(back.status.failuresTotal, 2)
        XCTAssertEqual(back.status.nextQueryAt, clock.now + 10_000)
        XCTAssertEqual(service.status(of: app), back.status)
    }

    func testSRVServersFollowTheRecordsWithValidOverridingTheTTL() throws {
        let svc = Watch(name: "_http._tcp.svc.test", kind: .srv(max: nil))
        responder.records = [
            .srv("_http._tcp.svc.test", priority: 0, weight: 5, port: 8080, target: "n1.test", ttl: 600),
            .srv("_http._tcp.svc.test", priority: 0, weight: 3, port: 8080, target: "n2.test", ttl: 600),
            .a("n1.test", "10.0.0.1", ttl: 600), .a("n2.test", "10.0.0.2", ttl: 600),
        ]
        service.policy = DiscoveryPolicy(validMs: 5000)
        service.setWatches([svc])
        let first = try XCTUnwrap(nextUpdate())
        XCTAssertEqual(first.diff.added.map { "\($0.address)/\($0.weight)" }, ["10.0.0.1:8080/5", "10.0.0.2:8080/3"])
        XCTAssertEqual(first.status.ttl, 600)
        XCTAssertEqual(first.status.nextQueryAt, clock.now + 5000)

        responder.remove("_http._tcp.svc.test")
        responder.records.append(.srv("_http._tcp.svc.test", priority: 0, weight: 9, port: 8080, target: "n1.test", ttl: 600))
        clock.now += 5000
        let next = try XCTUnwrap(nextUpdate())
        XCTAssertEqual(next.diff.removed.map(\.address), ["10.0.0.2:8080"])
        XCTAssertEqual(next.diff.changed.map { "\($0.address)/\($0.weight)" }, ["10.0.0.1:8080/9"])
    }

    func testOneNameWatchedTwiceIsAskedOnce() throws {
        responder.records = [.a("app.test", "10.0.0.1", ttl: 30)]
        service.setWatches([Watch(name: "app.test", kind: .addresses(port: 80)), Watch(name: "APP.test.", kind: .addresses(port: 80))])
        _ = nextUpdate()
        driver.run(service, until: { false }, limitMs: 50)
        XCTAssertEqual(updates.count, 1)
        XCTAssertEqual(responder.queries.count, 2, "one A and one AAAA query")
    }
}
