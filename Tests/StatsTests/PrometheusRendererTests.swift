import XCTest
import Stats

final class PrometheusRendererTests: XCTestCase {
    private lazy var text = StatsRenderer.prometheus(Fixture.snapshot)
    private var lines: [Substring] { text.split(separator: "\n") }

    private func assertLines(_ expected: [String], file: StaticString = #filePath, line: UInt = #line) {
        let present = Set(lines.map(String.init))
        for l in expected where !present.contains(l) {
            XCTFail("missing line: \(l)", file: file, line: line)
        }
    }

    func testProcessWideMetrics() {
        assertLines([
            "# TYPE sluice_info gauge",
            #"sluice_info{version="0.1.0"} 1"#,
            "sluice_uptime_seconds 81.5",
            "sluice_generation 3",
            "# TYPE sluice_reloads_total counter",
            #"sluice_reloads_total{result="succeeded"} 2"#,
            #"sluice_reloads_total{result="failed"} 1"#,
            "sluice_workers 2",
            #"sluice_worker_connections_active{pid="4250"} 12"#,
            #"sluice_worker_requests_total{pid="4250"} 4567"#,
            #"sluice_worker_restarts_total{pid="4251"} 2"#,
        ])
    }

    func testFrontendMetrics() {
        assertLines([
            #"sluice_frontend_connections_active{frontend="web"} 12"#,
            #"sluice_frontend_connections_total{frontend="web"} 300"#,
            #"sluice_frontend_requests_total{frontend="web"} 4567"#,
            #"sluice_frontend_bytes_in_total{frontend="web"} 1200000"#,
            #"sluice_frontend_bytes_out_total{frontend="web"} 9800000"#,
            #"sluice_frontend_responses_total{frontend="web",code="1xx"} 0"#,
            #"sluice_frontend_responses_total{frontend="web",code="2xx"} 4500"#,
            #"sluice_frontend_responses_total{frontend="web",code="5xx"} 7"#,
        ])
    }

    func testServerMetrics() {
        assertLines([
            "# TYPE sluice_backend_server_up gauge",
            #"sluice_backend_server_up{backend="app",server="127.0.0.1:9001"} 1"#,
            #"sluice_backend_server_up{backend="app",server="[::1]:9002"} 0"#,
            #"sluice_backend_server_active_requests{backend="app",server="127.0.0.1:9001"} 3"#,
            #"sluice_backend_server_requests_total{backend="app",server="127.0.0.1:9001"} 2300"#,
            #"sluice_backend_server_failures_total{backend="app",server="127.0.0.1:9001"} 1"#,
            #"sluice_backend_server_responses_total{backend="app",server="127.0.0.1:9001",code="2xx"} 2290"#,
            #"sluice_backend_server_responses_total{backend="app",server="[::1]:9002",code="5xx"} 0"#,
        ])
    }

    func testHistogramIsCumulative() {
        let expected = ["# TYPE sluice_backend_response_seconds histogram"]
            + zip(Histogram.bounds.map { $0 == 1 || $0 == 5 || $0 == 10 ? String(Int($0)) : String($0) } + ["+Inf"],
                  [3, 10, 10, 10, 10, 10, 10, 12, 12, 12, 12, 12, 12, 12, 13]).map {
                #"sluice_backend_response_seconds_bucket{backend="app",le="\#($0)"} \#($1)"#
            }
            + [#"sluice_backend_response_seconds_sum{backend="app"} 12.5"#,
               #"sluice_backend_response_seconds_count{backend="app"} 13"#]
        let start = lines.firstIndex(of: Substring(expected[0]))
        XCTAssertNotNil(start)
        // Contiguous and in order, as the format requires of a histogram.
        XCTAssertEqual(lines[(start ?? 0)...].prefix(expected.count).map(String.init), expected)
        XCTAssertTrue(text.contains(#"le="0.0005""#) && text.contains(#"le="2.5""#) && text.contains(#"le="1""#))
    }

    /// Each family: one HELP, one TYPE, then only its own samples until the next family.
    func testFamiliesAreWellFormed() {
        var family: String?
        var seen = Set<String>()
        for line in lines {
            if line.hasPrefix("# HELP ") {
                let name = String(line.split(separator: " ")[2])
                XCTAssertTrue(seen.insert(name).inserted, "family \(name) twice")
                family = name
            } else if line.hasPrefix("# TYPE ") {
                XCTAssertEqual(String(line.split(separator: " ")[2]), family)
            } else {
                let name = line.prefix { $0 != "{" && $0 != " " }
                XCTAssertTrue(name.hasPrefix(family ?? "?"), "\(line) outside its family \(family ?? "-")")
                XCTAssertTrue(name.hasPrefix("sluice_"))
                XCTAssertNotNil(Double(line.split(separator: " ").last ?? ""), "value of \(line)")
            }
        }
        XCTAssertTrue(text.hasSuffix("\n"))
    }

    func testLabelValuesAreEscaped() {
        let text = StatsRenderer.prometheus(Fixture.awkwardSnapshot)
        XCTAssertTrue(text.contains(#"sluice_frontend_requests_total{frontend="we\"b\\<i>\n&'"} 4567"#), text)
        XCTAssertTrue(text.contains(#"sluice_backend_server_up{backend="we\"b\\<i>\n&'",server="we\"b\\<i>\n&'"} 1"#))
    }

    func testEmptySnapshotStillDeclaresFamilies() {
        var s = Fixture.snapshot
        s.workers = []
        s.frontends = []
        s.backends = []
        let text = StatsRenderer.prometheus(s)
        XCTAssertTrue(text.contains("sluice_workers 0\n"))
        XCTAssertTrue(text.contains("# TYPE sluice_backend_response_seconds histogram\n"))
        XCTAssertFalse(text.contains("_bucket"))
    }
}
