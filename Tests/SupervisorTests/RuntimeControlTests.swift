import Config
@testable import DataPath
import EventLoop
import Stats
import XCTest
@testable import Supervisor

final class RuntimeControlTests: XCTestCase {
    private var region: StatsRegion!
    private var server: UpstreamServer!

    override func setUpWithError() throws {
        region = try StatsRegion()
        let slot = try XCTUnwrap(region.serverSlot(backend: "app", address: "127.0.0.1:9001"))
        let config = ServerConfig(host: "127.0.0.1", port: 9001, address: "127.0.0.1:9001", weight: 3)
        server = UpstreamServer(config: config, address: SocketAddress(ip: "127.0.0.1", port: 9001)!, statsSlot: slot,
                                shared: region.shared(server: slot), tls: nil)
    }

    private func post(_ path: String, _ body: String, admin: Bool = true, method: String = "POST") -> RuntimeControl.Reply {
        RuntimeControl.answer(method: method, path: path, body: Array(body.utf8), admin: admin,
                              find: { backend, address in backend == "app" && address == "127.0.0.1:9001" ? self.server : nil },
                              apply: { server, _, change in
                                  switch change {
                                  case .state(let s): server.shared.adminState = s
                                  case .weight(let n): server.shared.adminWeight = n
                                  }
                              })
    }

    func testDrainDisableEnable() {
        XCTAssertEqual(post("/servers/app/127.0.0.1:9001/state", "drain\n").status, 200)
        XCTAssertEqual(server.shared.adminState, .drain)
        XCTAssertEqual(server.state(now: 0), "draining")
        XCTAssertTrue(server.isUp(now: 0))
        XCTAssertFalse(server.takesNewRequests(now: 0))
        let reply = post("/servers/app/127.0.0.1:9001/state", "disable")
        XCTAssertEqual(reply.status, 200)
        XCTAssertTrue(reply.body.contains("\"admin_state\": \"disable\""), reply.body)
        XCTAssertEqual(server.state(now: 0), "down")
        XCTAssertEqual(post("/servers/app/127.0.0.1:9001/state", " enable ").status, 200)
        XCTAssertEqual(server.state(now: 0), "up")
    }

    func testWeight() {
        XCTAssertEqual(server.weight, 3)
        XCTAssertEqual(post("/servers/app/127.0.0.1:9001/weight", "7").status, 200)
        XCTAssertEqual(server.weight, 7)
        XCTAssertEqual(post("/servers/app/127.0.0.1:9001/weight", "0").status, 400)
        XCTAssertEqual(post("/servers/app/127.0.0.1:9001/weight", "257").status, 400)
        XCTAssertEqual(post("/servers/app/127.0.0.1:9001/weight", "heavy").status, 400)
        XCTAssertEqual(server.weight, 7)
    }

    func testRefusals() {
        XCTAssertEqual(post("/servers/app/127.0.0.1:9001/state", "drain", admin: false).status, 403)
        XCTAssertEqual(post("/servers/app/127.0.0.1:9001/state", "drain", method: "GET").status, 405)
        XCTAssertEqual(post("/servers/app/127.0.0.1:9002/state", "drain").status, 404)
        XCTAssertEqual(post("/servers/web/127.0.0.1:9001/state", "drain").status, 404)
        XCTAssertEqual(post("/servers/app/127.0.0.1:9001/colour", "red").status, 404)
        let bad = post("/servers/app/127.0.0.1:9001/state", "pause")
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.body.contains("drain, disable or enable"), bad.body)
        XCTAssertEqual(server.shared.adminState, .normal)
    }

    func testPercentDecoding() {
        XCTAssertEqual(RuntimeControl.percentDecoded("%5B::1%5D:9001"), "[::1]:9001")
        XCTAssertEqual(RuntimeControl.percentDecoded("127.0.0.1:9001"), "127.0.0.1:9001")
        XCTAssertNil(RuntimeControl.percentDecoded("%5"))
        XCTAssertNil(RuntimeControl.percentDecoded("%zz"))
    }
}
