import Foundation
import XCTest
import Stats

final class JSONRendererTests: XCTestCase {
    private func parse(_ s: StatsSnapshot) throws -> [String: Any] {
        let text = StatsRenderer.json(s)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    private func keys(_ object: Any?) -> Set<String> {
        Set((object as? [String: Any])?.keys.map { $0 } ?? [])
    }

    func testEveryKeyOfTheSpecDocument() throws {
        let doc = try parse(Fixture.snapshot)
        XCTAssertEqual(keys(doc), ["version", "pid", "uptime_seconds", "generation", "reloads", "workers", "frontends", "backends",
                                   "discovery"])
        XCTAssertEqual((doc["discovery"] as? [Any])?.count, 0)
        XCTAssertEqual(doc["version"] as? String, "0.1.0")
        XCTAssertEqual(doc["pid"] as? Int, 4242)
        XCTAssertEqual(doc["uptime_seconds"] as? Double, 81.5)
        XCTAssertEqual(doc["generation"] as? Int, 3)

        let reloads = try XCTUnwrap(doc["reloads"] as? [String: Any])
        XCTAssertEqual(keys(reloads), ["succeeded", "failed", "last_error"])
        XCTAssertEqual(reloads["succeeded"] as? Int, 2)
        XCTAssertEqual(reloads["failed"] as? Int, 1)
        XCTAssertEqual(reloads["last_error"] as? String, "proxy.conf:7:5: unknown directive \"blance\"")

        let workers = try XCTUnwrap(doc["workers"] as? [[String: Any]])
        XCTAssertEqual(workers.count, 2)
        XCTAssertEqual(keys(workers[0]), ["pid", "generation", "connections_active", "requests_total", "restarts"])
        XCTAssertEqual(workers[0]["pid"] as? Int, 4250)
        XCTAssertEqual(workers[0]["generation"] as? Int, 3)
        XCTAssertEqual(workers[0]["connections_active"] as? Int, 12)
        XCTAssertEqual(workers[0]["requests_total"] as? Int, 4567)
        XCTAssertEqual(workers[1]["restarts"] as? Int, 2)

        let frontends = try XCTUnwrap(doc["frontends"] as? [[String: Any]])
        XCTAssertEqual(frontends.count, 1)
        let web = frontends[0]
        XCTAssertEqual(keys(web), ["name", "connections_active", "connections_total", "requests_total",
                                   "bytes_in", "bytes_out", "responses", "requests_by_protocol", "http2"])
        XCTAssertEqual(web["requests_by_protocol"] as? [String: Int], ["HTTP/1.0": 0, "HTTP/1.1": 0, "HTTP/2.0": 0])
        XCTAssertEqual(web["http2"] as? [String: Int], ["connections_active": 0, "connections_total": 0, "streams_total": 0])
        XCTAssertEqual(web["name"] as? String, "web")
        XCTAssertEqual(web["connections_active"] as? Int, 12)
        XCTAssertEqual(web["connections_total"] as? Int, 300)
        XCTAssertEqual(web["requests_total"] as? Int, 4567)
        XCTAssertEqual(web["bytes_in"] as? Int, 1_200_000)
        XCTAssertEqual(web["bytes_out"] as? Int, 9_800_000)
        XCTAssertEqual(web["responses"] as? [String: Int], ["1xx": 0, "2xx": 4500, "3xx": 0, "4xx": 60, "5xx": 7])

        let backends = try XCTUnwrap(doc["backends"] as? [[String: Any]])
        XCTAssertEqual(backends.count, 1)
        XCTAssertEqual(keys(backends[0]), ["name", "balance", "servers"])
        XCTAssertEqual(backends[0]["name"] as? String, "app")
        XCTAssertEqual(backends[0]["balance"] as? String, "least_conn")

        let servers = try XCTUnwrap(backends[0]["servers"] as? [[String: Any]])
        XCTAssertEqual(servers.count, 2)
        let up = servers[0]
        XCTAssertEqual(keys(up), ["address", "weight", "backup", "state", "admin_state", "admin_changed", "active_requests",
                                  "requests_total", "failures_total", "responses", "response_time_seconds"])
        XCTAssertEqual(up["admin_state"] as? String, "enable")
        XCTAssertTrue(up["admin_changed"] is NSNull)
        XCTAssertEqual(up["address"] as? String, "127.0.0.1:9001")
        XCTAssertEqual(up["weight"] as? Int, 3)
        XCTAssertEqual(up["backup"] as? Bool, false)
        XCTAssertEqual(up["state"] as? String, "up")
        XCTAssertEqual(up["active_requests"] as? Int, 3)
        XCTAssertEqual(up["requests_total"] as? Int, 2300)
        XCTAssertEqual(up["failures_total"] as? Int, 1)
        XCTAssertEqual(up["responses"] as? [String: Int], ["1xx": 0, "2xx": 2290, "3xx": 0, "4xx": 9, "5xx": 1])
        let times = try XCTUnwrap(up["response_time_seconds"] as? [String: Any])
        XCTAssertEqual(keys(times), ["p50", "p99"])
        XCTAssertEqual(try XCTUnwrap(times["p50"] as? Double), 0.00175, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(times["p99"] as? Double), 0.002485, accuracy: 1e-12)

        let down = servers[1]
        XCTAssertEqual(down["address"] as? String, "[::1]:9002")
        XCTAssertEqual(down["backup"] as? Bool, true)
        XCTAssertEqual(down["state"] as? String, "down")
        let noTimes = try XCTUnwrap(down["response_time_seconds"] as? [String: Any])
        XCTAssertTrue(noTimes["p50"] is NSNull, "no data is null")
        XCTAssertTrue(noTimes["p99"] is NSNull)
    }

    func testNullsAndEmptyLists() throws {
        var s = Fixture.snapshot
        s.lastReloadError = nil
        s.workers = []
        s.frontends = []
        s.backends = []
        s.uptimeSeconds = 2
        let doc = try parse(s)
        XCTAssertTrue((doc["reloads"] as? [String: Any])?["last_error"] is NSNull)
        XCTAssertEqual((doc["workers"] as? [Any])?.count, 0)
        XCTAssertEqual((doc["frontends"] as? [Any])?.count, 0)
        XCTAssertEqual((doc["backends"] as? [Any])?.count, 0)
        XCTAssertTrue(StatsRenderer.json(s).contains("\"uptime_seconds\": 2,"), "whole seconds print without .0")
    }

    func testStringsAreEscaped() throws {
        let doc = try parse(Fixture.awkwardSnapshot)
        let frontend = try XCTUnwrap((doc["frontends"] as? [[String: Any]])?.first)
        XCTAssertEqual(frontend["name"] as? String, Fixture.awkwardName)
        let backend = try XCTUnwrap((doc["backends"] as? [[String: Any]])?.first)
        XCTAssertEqual(backend["name"] as? String, Fixture.awkwardName)
        XCTAssertEqual((backend["servers"] as? [[String: Any]])?.first?["address"] as? String, Fixture.awkwardName)
        XCTAssertEqual((doc["reloads"] as? [String: Any])?["last_error"] as? String, "bad <thing>\u{1}")
        XCTAssertTrue(StatsRenderer.json(Fixture.awkwardSnapshot).contains(#""bad <thing>\u0001""#))
    }
}

final class DiscoveryRenderingTests: XCTestCase {
    func testWatchedNamesInEveryView() throws {
        var s = Fixture.snapshot
        s.discovery = [DiscoverySnapshot(name: "srv _http._tcp.app.test", servers: 3, failuresTotal: 2, lastError: "SERVFAIL")]
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(StatsRenderer.json(s).utf8)) as? [String: Any])
        let names = try XCTUnwrap(doc["discovery"] as? [[String: Any]])
        XCTAssertEqual(names.first?["name"] as? String, "srv _http._tcp.app.test")
        XCTAssertEqual(names.first?["servers"] as? Int, 3)
        XCTAssertEqual(names.first?["failures_total"] as? Int, 2)
        XCTAssertEqual(names.first?["last_error"] as? String, "SERVFAIL")
        let metrics = StatsRenderer.prometheus(s)
        XCTAssertTrue(metrics.contains("sluice_discovery_servers{name=\"srv _http._tcp.app.test\"} 3\n"), metrics)
        XCTAssertTrue(metrics.contains("sluice_discovery_failures_total{name=\"srv _http._tcp.app.test\"} 2\n"), metrics)
        XCTAssertTrue(StatsRenderer.html(s).contains("DNS discovery"))
    }
}
