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

    func testWorkerSlotsAreReusedAndZeroedWhenRetired() throws {
        let r = try region(workers: 2)
        let first = try XCTUnwrap(r.workerSlot())
        let second = try XCTUnwrap(r.workerSlot())
        XCTAssertNotEqual(first, second)
        XCTAssertNil(r.workerSlot())

        let w = r.area(first).worker
        w.pid = 1234
        w.generation = 5
        w.connectionOpened()
        w.requestServed()
        r.retireWorker(first)
        XCTAssertEqual(r.workerSlot(), first)
        XCTAssertEqual(w.pid, 0)
        XCTAssertEqual(w.generation, 0)
        XCTAssertEqual(w.read().connectionsActive, 0)
        XCTAssertEqual(w.read().requestsTotal, 0)
    }

    func testFrontendCounters() throws {
        let r = try region()
        let slot = try XCTUnwrap(r.frontendSlot(named: "web"))
        let worker = try XCTUnwrap(r.workerSlot())
        let f = r.area(worker).frontend(slot)
        f.connectionOpened()
        f.connectionOpened()
        f.connectionClosed()
        f.requestStarted(.http11)
        f.bytesIn(100)
        f.bytesOut(2500)
        for status in [101, 200, 204, 302, 404, 502, 503, 42, 999] { f.response(status: status) }
        f.http2Opened()
        f.http2Stream()
        let expected = FrontendValues(connectionsActive: 1, connectionsTotal: 2, requestsTotal: 1,
                                      bytesIn: 100, bytesOut: 2500, responses: [2, 2, 1, 1, 3],
                                      http2ConnectionsActive: 1, http2ConnectionsTotal: 1, http2StreamsTotal: 1,
                                      requestsByProtocol: [0, 1, 0])
        XCTAssertEqual(f.read(), expected)
        XCTAssertEqual(r.frontendValues(slot), expected)
    }

    func testServerCountersAndSharedState() throws {
        let r = try region()
        let slot = try XCTUnwrap(r.serverSlot(backend: "app", address: "127.0.0.1:9001"))
        let worker = try XCTUnwrap(r.workerSlot())
        let s = r.area(worker).server(slot)
        let shared = r.shared(server: slot)
        s.requestStarted(); shared.requestStarted()
        s.requestStarted(); shared.requestStarted()
        s.requestFinished(); shared.requestFinished()
        s.failure()
        s.response(status: 200, seconds: 0.002)
        s.response(status: 500, seconds: 20)
        shared.checkDown = true

        let v = r.serverValues(slot)
        XCTAssertEqual(v.activeRequests, 1)
        XCTAssertEqual(v.requestsTotal, 2)
        XCTAssertEqual(v.failuresTotal, 1)
        XCTAssertEqual(v.responses, [0, 1, 0, 0, 1])
        XCTAssertEqual(v.histogram.counts, Fixture.counts([2: 1, 14: 1]))
        XCTAssertEqual(v.histogram.count, 2)
        XCTAssertEqual(v.histogram.sum, 20.002, accuracy: 1e-9)
        XCTAssertTrue(shared.checkDown)
        shared.checkDown = false
        XCTAssertFalse(shared.checkDown)
    }

    func testPassiveWordChangesByCompareAndSwap() throws {
        let shared = try region().shared(server: 0)
        XCTAssertEqual(shared.passive, 0)
        let (old, new) = shared.updatePassive { $0 + 5 }
        XCTAssertEqual(old, 0)
        XCTAssertEqual(new, 5)
        XCTAssertEqual(shared.passive, 5)
        let unchanged = shared.updatePassive { $0 }
        XCTAssertEqual(unchanged.old, 5)
        XCTAssertEqual(unchanged.new, 5)
    }

    /// Totals are the live workers' counts plus what retired workers counted; a retired worker's
    /// gauges (open connections, requests in flight) leave with it.
    func testRetiringAWorkerKeepsItsCountsAndDropsItsGauges() throws {
        let r = try region()
        let fe = try XCTUnwrap(r.frontendSlot(named: "web"))
        let be = try XCTUnwrap(r.backendSlot(named: "app"))
        let srv = try XCTUnwrap(r.serverSlot(backend: "app", address: "a:1"))
        let a = try XCTUnwrap(r.workerSlot())
        let b = try XCTUnwrap(r.workerSlot())
        for slot in [a, b] {
            let area = r.area(slot)
            area.frontend(fe).connectionOpened()
            area.frontend(fe).requestStarted(.http11)
            area.frontend(fe).response(status: 200)
            area.server(srv).requestStarted()
            r.shared(server: srv).requestStarted()
            area.server(srv).response(status: 200, seconds: 0.001)
            area.backend(be).response(seconds: 0.001)
        }
        XCTAssertEqual(r.frontendValues(fe).connectionsActive, 2)
        XCTAssertEqual(r.serverValues(srv).activeRequests, 2)

        r.retireWorker(a)
        let f = r.frontendValues(fe)
        XCTAssertEqual(f.connectionsActive, 1, "the dead worker's connection is gone")
        XCTAssertEqual(f.connectionsTotal, 2)
        XCTAssertEqual(f.requestsTotal, 2)
        XCTAssertEqual(f.responses[1], 2)
        let s = r.serverValues(srv)
        XCTAssertEqual(s.activeRequests, 1, "its request in flight is given back")
        XCTAssertEqual(s.requestsTotal, 2)
        XCTAssertEqual(r.backendHistogram(be).count, 2)

        // The slot's next worker starts from zero; the totals do not move.
        let c = try XCTUnwrap(r.workerSlot())
        XCTAssertEqual(c, a)
        XCTAssertEqual(r.area(c).frontend(fe).read(), FrontendValues())
        XCTAssertEqual(r.frontendValues(fe), f)
    }

    /// Writes a distinct figure through every counter of every slot of every area, then reads
    /// them all back: any overlap between records, kinds or areas would show as a wrong figure.
    func testRecordsDoNotOverlap() throws {
        let r = try region(frontends: 3, backends: 3, servers: 3, workers: 3)
        for w in 0..<3 {
            let area = r.area(w)
            area.worker.pid = Int32(100 + w)
            area.worker.requestServed()
            for i in 0..<3 {
                area.frontend(i).bytesIn(10 * w + i)
                area.frontend(i).response(status: 500)
                area.backend(i).response(seconds: Double(w + i + 1))
                area.server(i).requestStarted()
                area.server(i).response(status: 100, seconds: 20)
            }
        }
        for i in 0..<3 { r.shared(server: i).checkDown = i == 1 }
        for w in 0..<3 {
            let area = r.area(w)
            XCTAssertEqual(area.worker.pid, Int32(100 + w))
            XCTAssertEqual(area.worker.read().requestsTotal, 1)
            XCTAssertEqual(area.worker.read().connectionsActive, 0)
            for i in 0..<3 {
                XCTAssertEqual(area.frontend(i).read(), FrontendValues(bytesIn: 10 * w + i, responses: [0, 0, 0, 0, 1]))
                XCTAssertEqual(area.backend(i).read().count, 1)
                XCTAssertEqual(area.backend(i).read().sum, Double(w + i + 1))
                let s = area.server(i).read()
                XCTAssertEqual(s.requestsTotal, 1)
                XCTAssertEqual(s.responses, [1, 0, 0, 0, 0])
                XCTAssertEqual(s.histogram.counts, Fixture.counts([14: 1]))
            }
        }
        for i in 0..<3 {
            XCTAssertEqual(r.shared(server: i).checkDown, i == 1)
            XCTAssertEqual(r.shared(server: i).inFlight, 0)
        }
    }

    func testErrorDescription() {
        XCTAssertEqual(String(describing: StatsError.mapFailed(bytes: 4096, errno: ENOMEM)),
                       "stats: cannot map 4096 bytes of shared memory: Cannot allocate memory")
    }
}
