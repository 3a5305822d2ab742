import XCTest
import Stats

final class HTMLRendererTests: XCTestCase {
    func testPageShowsEveryTable() {
        let page = StatsRenderer.html(Fixture.snapshot)
        for piece in [
            "<!DOCTYPE html>", "<title>sluice stats</title>", #"<meta http-equiv="refresh" content="2">"#,
            "0.1.0", "<b>4242</b>", "1m 21s", "generation <b>3</b>",
            "last reload error: proxy.conf:7:5: unknown directive &quot;blance&quot;",
            "<td>4250</td>", "<td>web</td>", "<td>1.1 MiB</td>", "<td>9.3 MiB</td>",
            #"<td><span class="bad">7</span></td>"#,
            "Backend app <small>least_conn &middot; p50 0.75 ms &middot; p99 10000.00 ms</small>", "<td>127.0.0.1:9001</td>", "<td>[::1]:9002</td>",
            #"<span class="badge up">up</span>"#, #"<span class="badge down">down</span>"#,
            "<td>1.75</td>", "<td>2.49</td>", "<td>–</td>",
        ] {
            XCTAssertTrue(page.contains(piece), "missing \(piece)")
        }
        XCTAssertFalse(page.contains("http://") || page.contains("https://") || page.contains("<script"),
                       "self-contained: nothing fetched")
    }

    func testTextIsEscaped() {
        let page = StatsRenderer.html(Fixture.awkwardSnapshot)
        let escaped = "we&quot;b\\&lt;i&gt;\n&amp;&#39;"
        XCTAssertTrue(page.contains("<td>\(escaped)</td>"))
        XCTAssertTrue(page.contains("Backend \(escaped) <small>least_conn"))
        XCTAssertTrue(page.contains("bad &lt;thing&gt;"))
        XCTAssertFalse(page.contains("<i>"))
    }

    func testEmptyTablesAndNoError() {
        var s = Fixture.snapshot
        s.workers = []
        s.lastReloadError = nil
        s.reloadsFailed = 0
        let page = StatsRenderer.html(s)
        XCTAssertTrue(page.contains(#"<td class="empty" colspan="5">none</td>"#))
        XCTAssertFalse(page.contains("last reload error"))
        XCTAssertFalse(page.contains(#"class="bad">0"#))
    }
}
