import Glibc
import XCTest
import Stats

/// The point of the region: what a forked worker counts, the master sees.
final class ForkTests: XCTestCase {
    func testChildUpdatesAreVisibleToParent() throws {
        let region = try StatsRegion()
        let frontend = region.frontend(try XCTUnwrap(region.frontendSlot(named: "web")))
        let backend = region.backend(try XCTUnwrap(region.backendSlot(named: "app")))
        let server = region.server(try XCTUnwrap(region.serverSlot(backend: "app", address: "127.0.0.1:9001")))
        let worker = region.worker(try XCTUnwrap(region.workerSlot()))
        frontend.requestStarted()

        let children = (0..<2).map { _ -> pid_t in
            let pid = fork()
            if pid == 0 {
                // Child: only counter updates, then leave without running any test machinery.
                for _ in 0..<1000 {
                    frontend.requestStarted()
                    frontend.response(status: 200)
                    server.requestStarted()
                    server.response(status: 200, seconds: 0.003)
                    server.requestFinished()
                    backend.response(seconds: 0.003)
                }
                worker.pid = getpid()
                server.downUntil = 42
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

        XCTAssertEqual(frontend.read().requestsTotal, 2001)
        XCTAssertEqual(frontend.read().responses[1], 2000)
        let s = server.read()
        XCTAssertEqual(s.requestsTotal, 2000)
        XCTAssertEqual(s.activeRequests, 0)
        XCTAssertEqual(s.histogram.counts[3], 2000)
        XCTAssertEqual(s.histogram.sum, 6, accuracy: 1e-9)
        XCTAssertEqual(s.downUntil, 42)
        XCTAssertEqual(backend.read().count, 2000)
        XCTAssertTrue(children.contains(worker.pid))
    }
}
