import XCTest
@testable import Discovery

final class DiscoveryPolicyTests: XCTestCase {
    func testIntervalIsTheTTLWithinFloorAndCeiling() {
        let policy = DiscoveryPolicy(floorMs: 1000, ceilingMs: 300_000)
        XCTAssertEqual(policy.interval(ttl: 30), 30_000)
        XCTAssertEqual(policy.interval(ttl: 0), 1000)
        XCTAssertEqual(policy.interval(ttl: 86_400), 300_000)
        XCTAssertEqual(policy.interval(ttl: UInt32.max), 300_000)
    }

    func testValidReplacesTheTTL() {
        let policy = DiscoveryPolicy(validMs: 10_000)
        XCTAssertEqual(policy.interval(ttl: 0), 10_000)
        XCTAssertEqual(policy.interval(ttl: 3600), 10_000)
        XCTAssertEqual(DiscoveryPolicy(validMs: 10).interval(ttl: 60), 1000)
    }

    func testRetryBacksOffToItsMaximum() {
        let policy = DiscoveryPolicy(retryMinMs: 1000, retryMaxMs: 5000)
        XCTAssertEqual((1...6).map { policy.retryDelay(consecutiveFailures: $0) }, [1000, 2000, 4000, 5000, 5000, 5000])
        XCTAssertEqual(policy.retryDelay(consecutiveFailures: 1000), 5000)
    }
}

final class DiscoveryPlanTests: XCTestCase {
    private let app = Watch(name: "App.Example.", kind: .addresses(port: 80))
    private let svc = Watch(name: "_http._tcp.svc.example", kind: .srv(max: 3))

    private func answer(_ ips: [String], ttl: UInt32) -> Result<ServerAnswer, DNSFailure> {
        .success(ServerAnswer(servers: ips.map { v4($0) }, ttl: ttl))
    }

    func testNamesAreNormalized() {
        XCTAssertEqual(app, Watch(name: "app.example", kind: .addresses(port: 80)))
        XCTAssertNotEqual(app, Watch(name: "app.example", kind: .addresses(port: 81)))
        XCTAssertEqual(app.description, "app.example:80 resolve")
        XCTAssertEqual(svc.description, "srv _http._tcp.svc.example max=3")
    }

    func testNewWatchesAreDueAtOnceAndHandedOutOnce() {
        var plan = DiscoveryPlan()
        plan.add(app, now: 100)
        plan.add(svc, now: 100)
        plan.add(app, now: 500)
        XCTAssertEqual(plan.watches, [app, svc])
        XCTAssertEqual(plan.nextQueryAt, 100)
        XCTAssertEqual(plan.takeDue(now: 99), [])
        XCTAssertEqual(plan.takeDue(now: 100), [app, svc])
        XCTAssertEqual(plan.takeDue(now: 10_000), [], "in flight")
        XCTAssertNil(plan.nextQueryAt)
        XCTAssertEqual(plan.status(of: app)?.inFlight, true)
    }

    func testAnAnswerSchedulesTheNextLookupAtTheTTL() {
        var plan = DiscoveryPlan()
        plan.add(app, now: 0)
        _ = plan.takeDue(now: 0)
        let update = plan.record(app, answer(["10.0.0.2", "10.0.0.1"], ttl: 30), now: 50)!
        XCTAssertNil(update.failure)
        XCTAssertEqual(update.diff.added.map(\.address), ["10.0.0.1:80", "10.0.0.2:80"])
        XCTAssertEqual(update.status.servers.map(\.address), ["10.0.0.1:80", "10.0.0.2:80"])
        XCTAssertEqual(update.status.nextQueryAt, 30_050)
        XCTAssertEqual(update.status.ttl, 30)
        XCTAssertEqual(update.status.lastAnswerAt, 50)
        XCTAssertEqual(plan.nextQueryAt, 30_050)
        XCTAssertEqual(plan.takeDue(now: 30_049), [])
        XCTAssertEqual(plan.takeDue(now: 30_050), [app])
    }

    func testTheFloorAndValidApply() {
        var plan = DiscoveryPlan(policy: DiscoveryPolicy(floorMs: 2000))
        plan.add(app, now: 0)
        _ = plan.takeDue(now: 0)
        XCTAssertEqual(plan.record(app, answer(["10.0.0.1"], ttl: 0), now: 0)?.status.nextQueryAt, 2000)
        plan.policy.validMs = 7000
        _ = plan.takeDue(now: 2000)
        XCTAssertEqual(plan.record(app, answer(["10.0.0.1"], ttl: 300), now: 2000)?.status.nextQueryAt, 9000)
    }

    func testAFailureKeepsTheLastAnswerCountsAndRetriesSooner() {
        var plan = DiscoveryPlan()
        plan.add(app, now: 0)
        _ = plan.takeDue(now: 0)
        _ = plan.record(app, answer(["10.0.0.1", "10.0.0.2"], ttl: 60), now: 0)
        var now: Int64 = 60_000
        var delays: [Int64] = []
        for failure in [DNSFailure.nxdomain, .timeout, .serverFailure, .refused] {
            XCTAssertEqual(plan.takeDue(now: now), [app])
            let update = plan.record(app, .failure(failure), now: now)!
            XCTAssertEqual(update.failure, failure)
            XCTAssertTrue(update.diff.isEmpty)
            XCTAssertEqual(update.status.servers.map(\.address), ["10.0.0.1:80", "10.0.0.2:80"])
            XCTAssertEqual(update.status.lastError, failure)
            delays.append(update.status.nextQueryAt - now)
            now = update.status.nextQueryAt
        }
        XCTAssertEqual(delays, [1000, 2000, 4000, 5000])
        XCTAssertEqual(plan.status(of: app)?.failuresTotal, 4)
        XCTAssertEqual(plan.status(of: app)?.consecutiveFailures, 4)

        _ = plan.takeDue(now: now)
        let recovered = plan.record(app, answer(["10.0.0.2"], ttl: 60), now: now)!
        XCTAssertEqual(recovered.diff.removed.map(\.address), ["10.0.0.1:80"])
        XCTAssertEqual(recovered.status.failuresTotal, 4)
        XCTAssertEqual(recovered.status.consecutiveFailures, 0)
        XCTAssertEqual(recovered.status.lastError, .refused)
        XCTAssertEqual(recovered.status.nextQueryAt, now + 60_000)

        _ = plan.takeDue(now: now + 60_000)
        XCTAssertEqual(plan.record(app, .failure(.timeout), now: now + 60_000)?.status.nextQueryAt, now + 61_000,
                       "the backoff starts over after an answer")
    }

    func testAFailureBeforeAnyAnswerLeavesNoServers() {
        var plan = DiscoveryPlan()
        plan.add(svc, now: 0)
        _ = plan.takeDue(now: 0)
        let update = plan.record(svc, .failure(.nxdomain), now: 0)!
        XCTAssertEqual(update.status.servers, [])
        XCTAssertNil(update.status.ttl)
        XCTAssertEqual(update.status.failuresTotal, 1)
    }

    func testSetKeepsListedWatchesAndDropsTheRest() {
        var plan = DiscoveryPlan()
        plan.add(app, now: 0)
        _ = plan.takeDue(now: 0)
        _ = plan.record(app, answer(["10.0.0.1"], ttl: 60), now: 0)
        let other = Watch(name: "other.example", kind: .addresses(port: 80))
        plan.set([other, app], now: 1000)
        XCTAssertEqual(plan.watches, [app, other])
        XCTAssertEqual(plan.status(of: app)?.servers.map(\.address), ["10.0.0.1:80"])
        XCTAssertEqual(plan.status(of: app)?.nextQueryAt, 60_000)
        XCTAssertEqual(plan.takeDue(now: 1000), [other])
        plan.set([], now: 2000)
        XCTAssertEqual(plan.watches, [])
        XCTAssertNil(plan.record(other, answer(["10.0.0.9"], ttl: 1), now: 2000), "removed while in flight")
    }
}
