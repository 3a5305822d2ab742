import XCTest
@testable import Balancer

/// A plain server table for tests.
struct TestServers: ServerSet {
    var weights: [Int]
    var backups: [Bool]
    var up: [Bool]
    var active: [Int]
    /// Effective weights of ramping servers (nil: not ramping, the protocol's default applies).
    var ramping: [Int?]
    /// Ends of passive marks (nil: no mark, or down for another reason).
    var marks: [Int64?]

    init(weights: [Int], backups: [Bool]? = nil) {
        self.weights = weights
        self.backups = backups ?? Array(repeating: false, count: weights.count)
        up = Array(repeating: true, count: weights.count)
        active = Array(repeating: 0, count: weights.count)
        ramping = Array(repeating: nil, count: weights.count)
        marks = Array(repeating: nil, count: weights.count)
    }

    var count: Int { weights.count }
    func weight(_ i: Int) -> Int { weights[i] }
    func effectiveWeight(_ i: Int) -> Int { ramping[i] ?? weights[i] * SlowStart.scale }
    func isBackup(_ i: Int) -> Bool { backups[i] }
    func isUp(_ i: Int) -> Bool { up[i] }
    func activeRequests(_ i: Int) -> Int { active[i] }
    func passiveMarkEnd(_ i: Int) -> Int64? { marks[i] }
}

final class LoneServerTests: XCTestCase {
    func testEarliestPassiveMarkIsTriedWhenNothingIsUp() {
        var servers = TestServers(weights: [1, 1, 1])
        servers.up = [false, false, false]
        servers.marks = [5_000, 3_000, nil]   // server 2 is down by an active check
        XCTAssertEqual(Selector.earliestMarked(servers, tried: TriedSet()), 1)
        var tried = TriedSet()
        tried.insert(1)
        XCTAssertEqual(Selector.earliestMarked(servers, tried: tried), 0, "then the next one")
        tried.insert(0)
        XCTAssertNil(Selector.earliestMarked(servers, tried: tried), "a server down by a check is not tried")
    }

    func testNoFallbackWhileAServerIsUp() {
        var servers = TestServers(weights: [1, 1])
        servers.up = [false, true]
        servers.marks = [1_000, nil]
        XCTAssertNil(Selector.earliestMarked(servers, tried: TriedSet()))
    }
}

final class RoundRobinTests: XCTestCase {
    func testWeightedDistributionIsExactAndInterleaved() {
        let servers = TestServers(weights: [3, 1])
        var selector = Selector(.roundRobin, serverCount: 2)
        var picks: [Int] = []
        for _ in 0..<400 { picks.append(selector.pick(from: servers, tried: TriedSet())!) }
        XCTAssertEqual(picks.filter { $0 == 0 }.count, 300)
        XCTAssertEqual(picks.filter { $0 == 1 }.count, 100)
        // Every window of 4 consecutive picks holds exactly one pick of the light server.
        for start in stride(from: 0, to: 400, by: 4) {
            XCTAssertEqual(picks[start..<start + 4].filter { $0 == 1 }.count, 1)
        }
        XCTAssertEqual(Array(picks.prefix(4)), [0, 0, 1, 0])
    }

    func testEqualWeightsAlternate() {
        let servers = TestServers(weights: [1, 1, 1])
        var selector = Selector(.roundRobin, serverCount: 3)
        let picks = (0..<6).map { _ in selector.pick(from: servers, tried: TriedSet())! }
        XCTAssertEqual(picks, [0, 1, 2, 0, 1, 2])
    }

    func testDownServersAreSkipped() {
        var servers = TestServers(weights: [1, 1, 1])
        servers.up[1] = false
        var selector = Selector(.roundRobin, serverCount: 3)
        let picks = (0..<10).map { _ in selector.pick(from: servers, tried: TriedSet())! }
        XCTAssertFalse(picks.contains(1))
        XCTAssertEqual(picks.filter { $0 == 0 }.count, 5)
    }

    func testTriedServersAreSkippedAndExhaustionGivesNil() {
        let servers = TestServers(weights: [1, 1])
        var selector = Selector(.roundRobin, serverCount: 2)
        var tried = TriedSet()
        let first = selector.pick(from: servers, tried: tried)!
        tried.insert(first)
        let second = selector.pick(from: servers, tried: tried)!
        XCTAssertNotEqual(first, second)
        tried.insert(second)
        XCTAssertNil(selector.pick(from: servers, tried: tried))
    }
}

final class BackupTests: XCTestCase {
    func testBackupsServeOnlyWhenNoPrimaryIsUp() {
        var servers = TestServers(weights: [1, 1, 1], backups: [false, false, true])
        var selector = Selector(.roundRobin, serverCount: 3)
        for _ in 0..<20 { XCTAssertNotEqual(selector.pick(from: servers, tried: TriedSet()), 2) }
        servers.up[0] = false
        for _ in 0..<20 { XCTAssertEqual(selector.pick(from: servers, tried: TriedSet()), 1) }
        servers.up[1] = false
        for _ in 0..<5 { XCTAssertEqual(selector.pick(from: servers, tried: TriedSet()), 2) }
        servers.up[2] = false
        XCTAssertNil(selector.pick(from: servers, tried: TriedSet()))
        XCTAssertFalse(Selector.anyUp(servers))
    }

    func testLeastConnectionsAlsoHonoursBackups() {
        var servers = TestServers(weights: [1, 1], backups: [false, true])
        servers.active = [10, 0]
        var selector = Selector(.leastConnections, serverCount: 2)
        XCTAssertEqual(selector.pick(from: servers, tried: TriedSet()), 0)
    }
}

final class LeastConnectionsTests: XCTestCase {
    func testPicksFewestActiveRequests() {
        var servers = TestServers(weights: [1, 1, 1])
        servers.active = [5, 2, 7]
        var selector = Selector(.leastConnections, serverCount: 3)
        XCTAssertEqual(selector.pick(from: servers, tried: TriedSet()), 1)
    }

    func testLoadIsRelativeToWeight() {
        var servers = TestServers(weights: [4, 1])
        servers.active = [3, 1]  // 0.75 vs 1.0
        var selector = Selector(.leastConnections, serverCount: 2)
        XCTAssertEqual(selector.pick(from: servers, tried: TriedSet()), 0)
        servers.active = [5, 1]  // 1.25 vs 1.0
        XCTAssertEqual(selector.pick(from: servers, tried: TriedSet()), 1)
    }

    func testTiesRotate() {
        let servers = TestServers(weights: [1, 1, 1])
        var selector = Selector(.leastConnections, serverCount: 3)
        let picks = (0..<6).map { _ in selector.pick(from: servers, tried: TriedSet())! }
        XCTAssertEqual(picks, [0, 1, 2, 0, 1, 2])
    }

    func testSimulatedSlowServerGetsFewerRequests() {
        // Server 1 holds each request 5 ticks, server 0 one tick; one new request per tick.
        var servers = TestServers(weights: [1, 1])
        var selector = Selector(.leastConnections, serverCount: 2)
        var finishing: [(tick: Int, server: Int)] = []
        var counts = [0, 0]
        for tick in 0..<1000 {
            finishing.removeAll { entry in
                if entry.tick <= tick { servers.active[entry.server] -= 1; return true }
                return false
            }
            let s = selector.pick(from: servers, tried: TriedSet())!
            counts[s] += 1
            servers.active[s] += 1
            finishing.append((tick + (s == 0 ? 1 : 5), s))
        }
        XCTAssertGreaterThan(counts[0], counts[1] * 2)
    }
}

final class PassiveHealthTests: XCTestCase {
    func testMaxFailsWithinWindowTakesServerDownForFailTimeout() {
        let health = PassiveHealth(maxFails: 3, failTimeoutMs: 10_000)
        var state = PassiveHealth.State()
        XCTAssertFalse(health.recordFailure(&state, now: 1_000))
        XCTAssertFalse(health.recordFailure(&state, now: 2_000))
        XCTAssertTrue(health.recordFailure(&state, now: 3_000))
        XCTAssertFalse(PassiveHealth.isUp(state, now: 12_999))
        XCTAssertTrue(PassiveHealth.isUp(state, now: 13_000))
    }

    func testFailuresOutsideTheWindowDoNotAccumulate() {
        let health = PassiveHealth(maxFails: 2, failTimeoutMs: 1_000)
        var state = PassiveHealth.State()
        XCTAssertFalse(health.recordFailure(&state, now: 0))
        XCTAssertFalse(health.recordFailure(&state, now: 5_000))
        XCTAssertTrue(PassiveHealth.isUp(state, now: 5_001))
    }

    func testZeroMaxFailsNeverMarksDown() {
        let health = PassiveHealth(maxFails: 0, failTimeoutMs: 1_000)
        var state = PassiveHealth.State()
        for t in 0..<10 { XCTAssertFalse(health.recordFailure(&state, now: Int64(t))) }
        XCTAssertTrue(PassiveHealth.isUp(state, now: 10))
    }

    func testSuccessResetsCount() {
        let health = PassiveHealth(maxFails: 2, failTimeoutMs: 10_000)
        var state = PassiveHealth.State()
        _ = health.recordFailure(&state, now: 0)
        PassiveHealth.recordSuccess(&state)
        XCTAssertFalse(health.recordFailure(&state, now: 1))
        XCTAssertTrue(PassiveHealth.isUp(state, now: 2))
    }

    func testStatePacksIntoOneWord() {
        for state in [PassiveHealth.State(), PassiveHealth.State(failures: 3, windowStart: 123_456_789),
                      PassiveHealth.State(downUntil: 987_654_321_000), PassiveHealth.State(failures: 70_000, windowStart: 5)] {
            let back = PassiveHealth.State(packed: state.packed)
            XCTAssertEqual(back.downUntil, state.downUntil)
            XCTAssertEqual(back.windowStart, state.downUntil > 0 ? 0 : state.windowStart)
            XCTAssertEqual(back.failures, min(state.failures, 0xFFFF))
        }
        XCTAssertEqual(PassiveHealth.State().packed, 0, "a zeroed shared word is a healthy server")
    }

    func testMarkSurvivesPackingAndExpires() {
        let health = PassiveHealth(maxFails: 1, failTimeoutMs: 1_000)
        var state = PassiveHealth.State(packed: 0)
        XCTAssertTrue(health.recordFailure(&state, now: 10_000))
        state = PassiveHealth.State(packed: state.packed)
        XCTAssertFalse(PassiveHealth.isUp(state, now: 10_999))
        XCTAssertTrue(PassiveHealth.isUp(state, now: 11_000))
        PassiveHealth.recordSuccess(&state)
        XCTAssertTrue(PassiveHealth.isUp(state, now: 10_500), "a good answer lifts the mark")
    }
}
