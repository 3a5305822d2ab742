import XCTest
@testable import Balancer

/// A backend for hash tests: addresses, weights and live state, and its selector.
struct HashBackend {
    let addresses: [String]
    var servers: TestServers
    var selector: Selector

    init(_ addresses: [String], weights: [Int]? = nil, backups: [Bool]? = nil, balanceFactor: Int? = nil) {
        let weights = weights ?? Array(repeating: 1, count: addresses.count)
        let backups = backups ?? Array(repeating: false, count: addresses.count)
        self.addresses = addresses
        servers = TestServers(weights: weights, backups: backups)
        let table = ConsistentHash(servers: addresses.indices.map {
            ConsistentHash.Server(address: addresses[$0], weight: weights[$0], backup: backups[$0])
        }, balanceFactor: balanceFactor)
        selector = Selector(.hash(table), serverCount: addresses.count)
    }

    mutating func pick(_ key: String, tried: TriedSet = TriedSet()) -> Int? {
        var key = key
        return selector.pick(from: servers, tried: tried, keyHash: StableHash.hash(key))
    }

    /// The address each key goes to.
    mutating func map(_ keys: [String]) -> [String] { keys.map { addresses[pick($0)!] } }
}

let fiveServers = (1...5).map { "10.0.0.\($0):8080" }
let keys = (0..<10_000).map { "client-\($0)" }

func counts(_ picks: [String]) -> [String: Int] { picks.reduce(into: [:]) { $0[$1, default: 0] += 1 } }

final class ConsistentHashDistributionTests: XCTestCase {
    func testStableHashIsTheDocumentedFunction() {
        // Values from an independent implementation of 64-bit FNV-1a + SplitMix64's finaliser.
        XCTAssertEqual(StableHash.hash(""), 0xc381_7c01_6ba4_ff30)
        XCTAssertEqual(StableHash.hash("10.0.0.5:8080"), 0xe775_2720_137f_fc74)
        XCTAssertEqual(StableHash.hash("a", seed: 0x736b_6970_736b_6970), 0xb53d_556c_e182_674a)
    }

    func testEqualWeightsShareKeysEvenly() {
        var backend = HashBackend(fiveServers)
        let c = counts(backend.map(keys))
        for address in fiveServers {
            XCTAssertEqual(Double(c[address] ?? 0), 2000, accuracy: 200, address)
        }
    }

    func testMixedWeightsShareKeysByWeight() {
        let addresses = ["10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80"]
        var backend = HashBackend(addresses, weights: [1, 2, 3])
        let c = counts(backend.map(keys))
        for (address, weight) in zip(addresses, [1, 2, 3]) {
            let share = 10_000.0 * Double(weight) / 6
            XCTAssertEqual(Double(c[address] ?? 0), share, accuracy: share / 10, address)
        }
    }

    func testWideWeightRangesShareKeysByWeight() {
        let weights = [1, 2, 3, 5, 10]
        let addresses = weights.indices.map { "[2001:db8::\($0)]:443" }
        var backend = HashBackend(addresses, weights: weights)
        let many = (0..<42_000).map { "user-\($0)" }
        let c = counts(backend.map(many))
        for (address, w) in zip(addresses, weights) {
            let share = 42_000.0 * Double(w) / 21
            XCTAssertEqual(Double(c[address] ?? 0), share, accuracy: share / 10, "weight \(w)")
        }
    }

    func testALightServerStillGetsItsShare() {
        let addresses = ["s0:1", "s1:1", "s2:1", "s3:1"]
        var backend = HashBackend(addresses, weights: [1, 256, 256, 256])
        let c = counts(backend.map(keys))
        XCTAssertGreaterThan(c["s0:1"] ?? 0, 0)
        XCTAssertLessThan(c["s0:1"] ?? 0, 40)
    }
}

final class ConsistentHashAgreementTests: XCTestCase {
    func testOrderOfTheListDoesNotMatter() {
        let weights = [1, 2, 3, 1, 2]
        var a = HashBackend(fiveServers, weights: weights)
        let order = [3, 0, 4, 2, 1]
        var b = HashBackend(order.map { fiveServers[$0] }, weights: order.map { weights[$0] })
        XCTAssertEqual(a.map(keys), b.map(keys))
    }

    func testAFreshTableGivesTheSameMapping() {
        var a = HashBackend(fiveServers, weights: [2, 1, 1, 1, 3])
        var b = HashBackend(fiveServers, weights: [2, 1, 1, 1, 3])
        XCTAssertEqual(a.map(keys), b.map(keys))
    }

    func testRemovingAServerMovesOnlyItsKeys() {
        var five = HashBackend(fiveServers)
        let removed = fiveServers[2]
        var four = HashBackend(fiveServers.filter { $0 != removed })
        let before = five.map(keys)
        let after = four.map(keys)
        var extra = 0
        for (b, a) in zip(before, after) where b != removed && b != a { extra += 1 }
        XCTAssertEqual(extra, 0, "\(extra) keys moved between remaining servers")
        XCTAssertFalse(after.contains(removed))
    }

    func testAddingAServerMovesAboutOneNth() {
        var five = HashBackend(fiveServers)
        let added = "10.0.0.6:8080"
        var six = HashBackend(fiveServers + [added])
        let before = five.map(keys)
        let after = six.map(keys)
        let moved = zip(before, after).filter { $0 != $1 }
        XCTAssertEqual(Double(moved.count) / Double(keys.count), 1.0 / 6, accuracy: 0.03)
        let elsewhere = moved.filter { $0.1 != added }.count
        XCTAssertEqual(elsewhere, 0, "\(elsewhere) keys moved between old servers")
    }

    func testChangingAWeightMovesKeysOnlyToOrFromThatServer() {
        var before = HashBackend(fiveServers)
        var after = HashBackend(fiveServers, weights: [1, 1, 3, 1, 1])
        let moved = zip(before.map(keys), after.map(keys)).filter { $0 != $1 }
        XCTAssertGreaterThan(moved.count, 0)
        XCTAssertTrue(moved.allSatisfy { $0.1 == fiveServers[2] }, "a key moved between other servers")
    }

    func testDownServerIsSkippedTheSameWayEverywhere() {
        var a = HashBackend(fiveServers)
        let before = a.map(keys)
        a.servers.up[1] = false
        let after = a.map(keys)
        for (b, x) in zip(before, after) {
            if b == fiveServers[1] { XCTAssertNotEqual(x, b) } else { XCTAssertEqual(x, b) }
        }
        // Its keys spread over all the others.
        let spread = counts(zip(before, after).filter { $0.0 == fiveServers[1] }.map(\.1))
        XCTAssertEqual(spread.count, 4)
        for (_, n) in spread { XCTAssertEqual(Double(n), 500, accuracy: 150) }
        // Another process, its list in another order, with the same server down: the same fallback.
        let order = [4, 1, 3, 0, 2]
        var b = HashBackend(order.map { fiveServers[$0] })
        b.servers.up[1] = false
        XCTAssertEqual(b.map(keys), after)
    }

    func testRetryWalksOnAsIfTheTriedServerWereDown() {
        var backend = HashBackend(fiveServers)
        for key in keys.prefix(500) {
            let first = backend.pick(key)!
            var tried = TriedSet()
            tried.insert(first)
            let second = backend.pick(key, tried: tried)!
            XCTAssertNotEqual(second, first)
            backend.servers.up[first] = false
            XCTAssertEqual(backend.pick(key), second)
            backend.servers.up[first] = true
        }
    }

    func testAllTriedOrDownGivesNil() {
        var backend = HashBackend(fiveServers)
        var tried = TriedSet()
        for i in 0..<4 { tried.insert(i) }
        XCTAssertEqual(backend.pick("k", tried: tried), 4)
        tried.insert(4)
        XCTAssertNil(backend.pick("k", tried: tried))
        backend.servers.up = Array(repeating: false, count: 5)
        XCTAssertNil(backend.pick("k"))
    }

    func testBackupsAreHashedWhenNoPrimaryIsUp() {
        let addresses = ["p1:80", "p2:80", "b1:80", "b2:80"]
        var backend = HashBackend(addresses, backups: [false, false, true, true])
        XCTAssertTrue(backend.map(keys).allSatisfy { $0.hasPrefix("p") })
        backend.servers.up[0] = false
        backend.servers.up[1] = false
        let onBackups = backend.map(keys)
        let c = counts(onBackups)
        XCTAssertEqual(Double(c["b1:80"] ?? 0), 5000, accuracy: 500)
        XCTAssertEqual(Double(c["b2:80"] ?? 0), 5000, accuracy: 500)
        // The backups' table depends on the backups only.
        var alone = HashBackend(["b2:80", "b1:80"])
        XCTAssertEqual(alone.map(keys), onBackups)
    }

    func testRequestWithoutKeyIsBalancedRoundRobin() {
        var backend = HashBackend(fiveServers)
        let picks = (0..<10).map { _ in backend.selector.pick(from: backend.servers, tried: TriedSet(), keyHash: nil)! }
        XCTAssertEqual(picks, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
    }
}

final class ConsistentHashSlowStartTests: XCTestCase {
    func testRampingServerTakesItsRampShareOfItsOwnKeys() {
        var backend = HashBackend(fiveServers)
        let full = backend.map(keys)
        backend.servers.ramping[0] = SlowStart.scale / 4
        let quarter = backend.map(keys)
        backend.servers.ramping[0] = SlowStart.scale / 2
        let half = backend.map(keys)
        let own = fiveServers[0]
        let ownKeys = full.filter { $0 == own }.count
        XCTAssertEqual(Double(quarter.filter { $0 == own }.count), Double(ownKeys) / 4, accuracy: Double(ownKeys) / 20)
        XCTAssertEqual(Double(half.filter { $0 == own }.count), Double(ownKeys) / 2, accuracy: Double(ownKeys) / 20)
        for i in keys.indices {
            // Keys only move off the ramping server, and as the ramp grows they only come back.
            if full[i] != own { XCTAssertEqual(quarter[i], full[i]) }
            if quarter[i] == own { XCTAssertEqual(half[i], own) }
            if half[i] == own { XCTAssertEqual(full[i], own) }
        }
    }

    func testServersRampingTogetherKeepTheirKeys() {
        var backend = HashBackend(fiveServers)
        let full = backend.map(keys)
        backend.servers.ramping = Array(repeating: SlowStart.scale / 10, count: 5)
        XCTAssertEqual(backend.map(keys), full)
    }

    func testLoneRampingServerTakesEveryKey() {
        var backend = HashBackend(fiveServers)
        backend.servers.up = [true, false, false, false, false]
        backend.servers.ramping[0] = 1
        XCTAssertTrue(backend.map(Array(keys.prefix(1000))).allSatisfy { $0 == fiveServers[0] })
    }
}

final class ConsistentHashBoundedLoadTests: XCTestCase {
    /// The cap, computed here from the definition: ceil(ceil((L + 1) * P / 100) * w / W).
    func cap(_ servers: TestServers, _ server: Int, factor: Int) -> Int {
        let up = servers.weights.indices.filter { servers.up[$0] }
        let load = up.reduce(0) { $0 + servers.active[$1] }
        let total = up.reduce(0) { $0 + servers.effectiveWeight($1) }
        let allowed = Int((Double((load + 1) * factor) / 100).rounded(.up))
        return Int((Double(allowed * servers.effectiveWeight(server)) / Double(total)).rounded(.up))
    }

    func run(weights: [Int], factor: Int, hotKeys: Int, requests: Int) {
        var backend = HashBackend(fiveServers, weights: weights, balanceFactor: factor)
        for r in 0..<requests {
            let s = backend.pick("hot-\(r % hotKeys)")!
            XCTAssertLessThan(backend.servers.active[s], cap(backend.servers, s, factor: factor), "request \(r)")
            backend.servers.active[s] += 1
        }
        let total = backend.servers.active.reduce(0, +)
        let totalWeight = weights.reduce(0, +)
        for (i, w) in weights.enumerated() {
            XCTAssertLessThanOrEqual(Double(backend.servers.active[i]),
                                     (Double(total * factor) / 100 * Double(w) / Double(totalWeight)).rounded(.up) + 1)
        }
    }

    func testOneHotKeyIsSpreadWithinTheCap() {
        run(weights: [1, 1, 1, 1, 1], factor: 125, hotKeys: 1, requests: 1000)
    }

    func testWeightedCapsWithFewHotKeys() {
        run(weights: [1, 2, 3, 1, 2], factor: 150, hotKeys: 3, requests: 2000)
    }

    func testWithoutLoadTheBoundChangesNothing() {
        var bounded = HashBackend(fiveServers, balanceFactor: 110)
        var plain = HashBackend(fiveServers)
        XCTAssertEqual(bounded.map(keys), plain.map(keys))
    }

    func testFinishedRequestsLetAKeyComeBack() {
        var backend = HashBackend(fiveServers, balanceFactor: 150)
        let home = backend.pick("k")!
        backend.servers.active[home] = 10
        XCTAssertNotEqual(backend.pick("k"), home)
        backend.servers.active[home] = 0
        XCTAssertEqual(backend.pick("k"), home)
    }
}
