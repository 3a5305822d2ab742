import Glibc
import XCTest
import Stats

/// The point of the region: what forked workers count, each in its own area, the master sees;
/// and what they share (in-flight counts, health words) they update together without losses.
final class ForkTests: XCTestCase {
    func testChildUpdatesAreVisibleToParent() throws {
        let region = try StatsRegion()
        let fe = try XCTUnwrap(region.frontendSlot(named: "web"))
        let be = try XCTUnwrap(region.backendSlot(named: "app"))
        let srv = try XCTUnwrap(region.serverSlot(backend: "app", address: "127.0.0.1:9001"))
        let slots = [try XCTUnwrap(region.workerSlot()), try XCTUnwrap(region.workerSlot())]
        let shared = region.shared(server: srv)

        let children = slots.map { slot -> pid_t in
            let pid = fork()
            if pid == 0 {
                // Child: only counter updates, then leave without running any test machinery.
                let area = region.area(slot)
                for _ in 0..<1000 {
                    area.frontend(fe).requestStarted(.http2)
                    area.frontend(fe).response(status: 200)
                    area.server(srv).requestStarted()
                    shared.requestStarted()
                    area.server(srv).response(status: 200, seconds: 0.003)
                    area.server(srv).requestFinished()
                    shared.requestFinished()
                    area.backend(be).response(seconds: 0.003)
                    shared.updatePassive { $0 + 1 }
                }
                area.worker.pid = getpid()
                _exit(0)
            }
            return pid
        }
        for child in children {
            XCTAssertGreaterThan(child, 0, "fork failed")
            var status: Int32 = 0
            XCTAssertEqual(waitpid(child, &status, 0), child)
            XCTAssertEqual(status, 0, "child exited with status \(status)")
        }

        XCTAssertEqual(region.frontendValues(fe).requestsTotal, 2000)
        XCTAssertEqual(region.frontendValues(fe).responses[1], 2000)
        XCTAssertEqual(region.frontendValues(fe).requestsByProtocol, [0, 0, 2000])
        let s = region.serverValues(srv)
        XCTAssertEqual(s.requestsTotal, 2000)
        XCTAssertEqual(s.activeRequests, 0)
        XCTAssertEqual(s.histogram.counts[3], 2000)
        XCTAssertEqual(s.histogram.sum, 6, accuracy: 1e-9)
        XCTAssertEqual(region.backendHistogram(be).count, 2000)
        XCTAssertEqual(shared.passive, 2000, "no compare-and-swap update was lost")
        XCTAssertEqual(Set(slots.map { region.area($0).worker.pid }), Set(children))

        for slot in slots { region.retireWorker(slot) }
        XCTAssertEqual(region.frontendValues(fe).requestsTotal, 2000, "counts survive their workers")
        XCTAssertEqual(region.serverValues(srv).requestsTotal, 2000)
    }
}
