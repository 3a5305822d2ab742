import XCTest
@testable import Balancer

final class SlowStartTests: XCTestCase {
    let d: Int64 = 30_000

    func testRampValues() {
        let full = 3 * SlowStart.scale
        XCTAssertEqual(SlowStart.effectiveWeight(weight: 3, elapsedMs: 0, durationMs: d), 1)
        XCTAssertEqual(SlowStart.effectiveWeight(weight: 3, elapsedMs: d / 4, durationMs: d), full / 4)
        XCTAssertEqual(SlowStart.effectiveWeight(weight: 3, elapsedMs: d / 2, durationMs: d), full / 2)
        XCTAssertEqual(SlowStart.effectiveWeight(weight: 3, elapsedMs: d - 1, durationMs: d), full * (30_000 - 1) / 30_000)
        XCTAssertEqual(SlowStart.effectiveWeight(weight: 3, elapsedMs: d, durationMs: d), full)
        XCTAssertEqual(SlowStart.effectiveWeight(weight: 3, elapsedMs: 10 * d, durationMs: d), full)
    }

    func testRampIsMonotoneAndPositive() {
        var previous = 0
        for t in stride(from: Int64(0), through: d + 1000, by: 250) {
            let w = SlowStart.effectiveWeight(weight: 1, elapsedMs: t, durationMs: d)
            XCTAssertGreaterThanOrEqual(w, max(1, previous))
            previous = w
        }
        XCTAssertEqual(previous, SlowStart.scale)
    }

    func testEdgeCases() {
        XCTAssertEqual(SlowStart.effectiveWeight(weight: 2, elapsedMs: -5_000, durationMs: d), 1, "clock step back")
        XCTAssertEqual(SlowStart.effectiveWeight(weight: 2, elapsedMs: 0, durationMs: 0), 2 * SlowStart.scale, "no slow start")
        XCTAssertEqual(SlowStart.effectiveWeight(weight: 0, elapsedMs: d / 2, durationMs: d), 0)
        // No overflow with a huge weight and a long ramp.
        XCTAssertEqual(SlowStart.effectiveWeight(weight: 1 << 40, elapsedMs: 1 << 40, durationMs: 1 << 41), (1 << 40) * SlowStart.scale / 2)
    }

    func testDefaultEffectiveWeightIsScaledWeight() {
        struct Plain: ServerSet {
            var count: Int { 1 }
            func weight(_ i: Int) -> Int { 7 }
            func isBackup(_ i: Int) -> Bool { false }
            func isUp(_ i: Int) -> Bool { true }
            func activeRequests(_ i: Int) -> Int { 0 }
            func passiveMarkEnd(_ i: Int) -> Int64? { nil }
        }
        XCTAssertEqual(Plain().effectiveWeight(0), 7 * SlowStart.scale)
    }

    func testRoundRobinGivesARampingServerItsShareInterleaved() {
        // Server 1 (weight 1) at a quarter of its ramp: 1 of every 5 picks against weight 1 at full.
        var servers = TestServers(weights: [1, 1])
        servers.ramping[1] = SlowStart.effectiveWeight(weight: 1, elapsedMs: d / 4, durationMs: d)
        var selector = Selector(.roundRobin, serverCount: 2)
        let picks = (0..<500).map { _ in selector.pick(from: servers, tried: TriedSet())! }
        XCTAssertEqual(picks.filter { $0 == 1 }.count, 100)
        for start in stride(from: 0, to: 500, by: 5) {
            XCTAssertEqual(picks[start..<start + 5].filter { $0 == 1 }.count, 1)
        }
    }

    func testRoundRobinJustUpServerStillGetsTraffic() {
        var servers = TestServers(weights: [1, 1])
        servers.ramping[1] = SlowStart.effectiveWeight(weight: 1, elapsedMs: 0, durationMs: d)
        var selector = Selector(.roundRobin, serverCount: 2)
        let picks = (0..<2002).map { _ in selector.pick(from: servers, tried: TriedSet())! }
        XCTAssertEqual(picks.filter { $0 == 1 }.count, 2)
    }

    func testLeastConnectionsCountsARampingServerAsFuller() {
        // Equal weights, server 1 at half its ramp: 2 in flight there weigh as 4 on server 0.
        var servers = TestServers(weights: [1, 1])
        servers.ramping[1] = SlowStart.scale / 2
        servers.active = [3, 2]
        var selector = Selector(.leastConnections, serverCount: 2)
        XCTAssertEqual(selector.pick(from: servers, tried: TriedSet()), 0)
        servers.active = [5, 2]
        XCTAssertEqual(selector.pick(from: servers, tried: TriedSet()), 1)
    }
}
