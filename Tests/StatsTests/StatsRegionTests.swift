import XCTest
@testable import Stats

final class StatsRegionTests: XCTestCase {
    private func region(frontends: Int = 4, backends: Int = 4, servers: Int = 8, workers: Int = 4) throws -> StatsRegion {
        var layout = StatsLayout()
        layout.maxFrontends = frontends
        layout.maxBackends = backends
        layout.maxServers = servers
        layout.maxWorkers = workers
        return try StatsRegion(layout: layout)
    }

    func testSlotsAreStableByName() throws {
        let r = try region()
        XCTAssertEqual(r.frontendSlot(named: "web"), 0)
        XCTAssertEqual(r.frontendSlot(named: "api"), 1)
        XCTAssertEqual(r.frontendSlot(named: "web"), 0)
        XCTAssertEqual(r.backendSlot(named: "app"), 0)
        XCTAssertEqual(r.backendSlot(named: "web"), 1, "backends are numbered apart from frontends")
        XCTAssertEqual(r.backendSlot(named: "app"), 0)
    }

    func testServersAreKnownByBackendAndAddress() throws {
        let r = try region()
        let a = r.serverSlot(backend: "app", address: "127.0.0.1:9001")
        let b = r.serverSlot(backend: "api", address: "127.0.0.1:9001")
        XCTAssertNotNil(a)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(r.serverSlot(backend: "app", address: "127.0.0.1:9001"), a)
    }

    func testFullRegistryKeepsKnownNames() throws {
        let r = try region(frontends: 2, servers: 1)
        XCTAssertEqual(r.frontendSlot(named: "a"), 0)
        XCTAssertEqual(r.frontendSlot(named: "b"), 1)
        XCTAssertNil(r.frontendSlot(named: "c"))
        XCTAssertEqual(r.frontendSlot(named: "b"), 1)
        XCTAssertEqual(r.serverSlot(backend: "x", address: "h:1"), 0)
        XCTAssertNil(r.serverSlot(backend: "x", address: "h:2"))
    }

    func testZeroSizedLayoutMapsAndRefusesSlots() throws {
        let r = try region(frontends: 0, backends: 0, servers: 0, workers: 0)
        XCTAssertNil(r.frontendSlot(named: "web"))
        XCTAssertNil(r.workerSlot())
    }

    func testWorkerSlotsAreReusedAndZeroed() throws {
        let r = try region(workers: 2)
        let first = try XCTUnwrap(r.workerSlot())
        let second = try XCTUnwrap(r.workerSlot())
        XCTAssertNotEqual(first, second)
        XCTAssertNil(r.workerSlot())

        let w = r.worker(first)
        w.pid = 1234
        w.generation = 5
        w.connectionOpened()
        w.requestServed()
        r.freeWorkerSlot(first)
        XCTAssertEqual(r.workerSlot(), first)
        XCTAssertEqual(w.pid, 0)
        XCTAssertEqual(w.generation, 0)
        XCTAssertEqual(w.read().connectionsActive, 0)
        XCTAssertEqual(w.read().requestsTotal, 0)
    }

    func testFrontendCounters() throws {
        let f = try region().frontend(0)
        f.connectionOpened()
        f.connectionOpened()
        f.connectionClosed()
        f.requestStarted()
        f.bytesIn(100)
        f.bytesOut(2500)
        for status in [101, 200, 204, 302, 404, 502, 503, 42, 999] { f.response(status: status) }
        XCTAssertEqual(f.read(), FrontendValues(connectionsActive: 1, connectionsTotal: 2, requestsTotal: 1,
                                                bytesIn: 100, bytesOut: 2500, responses: [2, 2, 1, 1, 3]))
    }

    func testServerCountersAndHealthState() throws {
        let s = try region().server(3)
        s.requestStarted()
        s.requestStarted()
        s.requestFinished()
        XCTAssertEqual(s.activeRequests, 1)
        s.failure()
        s.response(status: 200, seconds: 0.002)
        s.response(status: 500, seconds: 20)
        s.failCount = 2
        s.failWindowStart = 1_000_000_000_123
        s.downUntil = 1_000_000_010_123
        s.checkDown = true
        XCTAssertEqual(s.failCount, 2)
        XCTAssertEqual(s.failWindowStart, 1_000_000_000_123)

        let v = s.read()
        XCTAssertEqual(v.activeRequests, 1)
        XCTAssertEqual(v.requestsTotal, 2)
        XCTAssertEqual(v.failuresTotal, 1)
        XCTAssertEqual(v.responses, [0, 1, 0, 0, 1])
        XCTAssertEqual(v.histogram.counts, Fixture.counts([2: 1, 14: 1]))
        XCTAssertEqual(v.histogram.count, 2)
        XCTAssertEqual(v.histogram.sum, 20.002, accuracy: 1e-9)
        XCTAssertEqual(v.downUntil, 1_000_000_010_123)
        XCTAssertTrue(v.checkDown)
        s.checkDown = false
        XCTAssertFalse(s.read().checkDown)
    }

    /// Writes a distinct figure through every counter of every slot, then reads them all back:
    /// any overlap between records or kinds would show as a wrong figure.
    func testRecordsDoNotOverlap() throws {
        let r = try region(frontends: 3, backends: 3, servers: 3, workers: 3)
        for i in 0..<3 {
            r.frontend(i).bytesIn(10 + i)
            r.frontend(i).response(status: 500)
            r.backend(i).response(seconds: Double(i + 1))
            r.server(i).requestStarted()
            r.server(i).response(status: 100, seconds: 20)
            r.server(i).checkDown = true
            r.worker(i).pid = Int32(100 + i)
            r.worker(i).requestServed()
        }
        for i in 0..<3 {
            XCTAssertEqual(r.frontend(i).read(), FrontendValues(bytesIn: 10 + i, responses: [0, 0, 0, 0, 1]))
            XCTAssertEqual(r.backend(i).read().count, 1)
            XCTAssertEqual(r.backend(i).read().sum, Double(i + 1))
            let s = r.server(i).read()
            XCTAssertEqual(s.requestsTotal, 1)
            XCTAssertEqual(s.responses, [1, 0, 0, 0, 0])
            XCTAssertEqual(s.histogram.counts, Fixture.counts([14: 1]))
            XCTAssertEqual(r.worker(i).pid, Int32(100 + i))
            XCTAssertEqual(r.worker(i).read().requestsTotal, 1)
            XCTAssertEqual(r.worker(i).read().connectionsActive, 0)
        }
    }

    func testErrorDescription() {
        XCTAssertEqual(String(describing: StatsError.mapFailed(bytes: 4096, errno: ENOMEM)),
                       "stats: cannot map 4096 bytes of shared memory: Cannot allocate memory")
    }
}
