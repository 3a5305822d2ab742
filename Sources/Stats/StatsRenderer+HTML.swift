extension StatsRenderer {
    /// GET /: one self-contained page (inline CSS, nothing fetched) that reloads itself every
    /// 2 seconds. A meta refresh rather than a script: it works with scripts off and cannot
    /// get stuck half-rendered.
    public static func html(_ s: StatsSnapshot) -> String {
        var page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta http-equiv="refresh" content="2">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>sluice stats</title>
        <style>\(HTMLPage.style)</style>
        </head><body>
        <h1>sluice <small>\(HTMLPage.escape(s.version))</small></h1>
        \(summary(s))

        """
        page += HTMLPage.table(title: "Workers",
                               columns: ["pid", "generation", "active conns", "requests", "restarts"],
                               rows: s.workers.map(workerRow))
        page += HTMLPage.table(title: "Frontends",
                               columns: ["name", "active conns", "total conns", "h2 conns", "h2 streams", "req/s", "requests",
                                         "HTTP/1.x", "HTTP/2", "bytes in", "bytes out"] + StatusClass.labels,
                               rows: s.frontends.map(frontendRow))
        for b in s.backends {
            let times = b.histogram.count == 0 ? ""
                : " &middot; p50 \(milliseconds(b.histogram, 0.5)) ms &middot; p99 \(milliseconds(b.histogram, 0.99)) ms"
            page += HTMLPage.table(title: "Backend \(HTMLPage.escape(b.name)) <small>\(HTMLPage.escape(b.balance))\(times)</small>",
                                   columns: ["server", "weight", "backup", "state", "admin", "active", "req/s", "requests", "failures"]
                                       + StatusClass.labels + ["p50 ms", "p99 ms"],
                                   rows: b.servers.map(serverRow))
        }
        if !s.discovery.isEmpty {
            page += HTMLPage.table(title: "DNS discovery", columns: ["name", "servers", "failed lookups", "last error"],
                                   rows: s.discovery.map {
                                       [HTMLPage.escape($0.name), String($0.servers), HTMLPage.count($0.failuresTotal, alarming: true),
                                        HTMLPage.escape($0.lastError ?? "–")]
                                   })
        }
        return page + "</body></html>\n"
    }

    private static func summary(_ s: StatsSnapshot) -> String {
        var items = [
            "pid <b>\(s.pid)</b>",
            "up <b>\(HTMLPage.duration(s.uptimeSeconds))</b>",
            "generation <b>\(s.generation)</b>",
            "reloads <b>\(s.reloadsSucceeded)</b> ok / <b\(s.reloadsFailed > 0 ? " class=\"bad\"" : "")>\(s.reloadsFailed)</b> failed",
        ]
        if let error = s.lastReloadError {
            items.append("<span class=\"bad\">last reload error: \(HTMLPage.escape(error))</span>")
        }
        return "<p class=\"summary\">" + items.joined(separator: " &middot; ") + "</p>"
    }

    private static func workerRow(_ w: WorkerSnapshot) -> [String] {
        [String(w.pid), String(w.generation), String(w.connectionsActive), String(w.requestsTotal),
         HTMLPage.count(w.restarts, alarming: true)]
    }

    private static func frontendRow(_ f: FrontendSnapshot) -> [String] {
        let v = f.values
        return [HTMLPage.escape(f.name), String(v.connectionsActive), String(v.connectionsTotal),
                "\(v.http2ConnectionsActive) / \(v.http2ConnectionsTotal)", String(v.http2StreamsTotal),
                NumberText.fixed(f.requestRate, digits: 1), String(v.requestsTotal),
                String(v.requestsByProtocol[0] + v.requestsByProtocol[1]), String(v.requestsByProtocol[2]),
                HTMLPage.bytes(v.bytesIn), HTMLPage.bytes(v.bytesOut)]
            + classCells(v.responses)
    }

    private static func serverRow(_ srv: ServerSnapshot) -> [String] {
        let v = srv.values
        return [HTMLPage.escape(srv.address), String(srv.weight), srv.backup ? "yes" : "no",
                "<span class=\"badge \(HTMLPage.badgeClass(srv.state))\">\(HTMLPage.escape(srv.state))</span>",
                adminCell(srv), String(v.activeRequests), NumberText.fixed(srv.requestRate, digits: 1), String(v.requestsTotal),
                HTMLPage.count(v.failuresTotal, alarming: true)]
            + classCells(v.responses) + [milliseconds(v.histogram, 0.5), milliseconds(v.histogram, 0.99)]
    }

    /// The state the runtime control set, with who set it when ("drain by 127.0.0.1 at 12:04:05").
    private static func adminCell(_ srv: ServerSnapshot) -> String {
        guard let c = srv.adminChange else { return HTMLPage.escape(srv.adminState) }
        return "\(HTMLPage.escape(srv.adminState)) <small>(\(HTMLPage.escape(c.action)) by \(HTMLPage.escape(c.by)) at \(HTMLPage.clock(c.at)) UTC)</small>"
    }

    private static func milliseconds(_ h: HistogramValues, _ q: Double) -> String {
        h.quantile(q).map { NumberText.fixed($0 * 1000, digits: 2) } ?? "–"
    }

    /// 1xx…5xx cells; a non-zero 5xx is what an operator must not miss.
    private static func classCells(_ counts: [Int]) -> [String] {
        counts.enumerated().map { HTMLPage.count($1, alarming: $0 == StatusClass.count - 1) }
    }
}

/// Page pieces: escaping, tables, human-readable figures, the style sheet.
private enum HTMLPage {
    static let style = """
    body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em;color:#222;background:#fafafa}
    h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.4em 0 .4em}small{color:#777;font-weight:normal}
    .summary{margin:0 0 1em;color:#444}
    table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.1)}
    th,td{padding:.3em .8em;border-bottom:1px solid #e4e4e4;text-align:right;white-space:nowrap}
    th{background:#f0f0f0;font-weight:600}th:first-child,td:first-child{text-align:left}
    td.empty{color:#999;text-align:left}td:has(.badge){text-align:center}
    .bad{color:#c62828;font-weight:600}
    .badge{display:inline-block;min-width:4.5em;text-align:center;padding:.05em .5em;border-radius:.8em;color:#fff;font-size:.9em}
    .up{background:#2e7d32}.down{background:#c62828}.draining{background:#ef8f00}.unknown{background:#757575}
    """

    /// `title` is HTML already (callers escape names in it); cells are HTML too.
    static func table(title: String, columns: [String], rows: [[String]]) -> String {
        var html = "<h2>\(title)</h2>\n<table><tr>" + columns.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
        if rows.isEmpty {
            html += "<tr><td class=\"empty\" colspan=\"\(columns.count)\">none</td></tr>\n"
        }
        for row in rows {
            html += "<tr>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        return html + "</table>\n"
    }

    static func badgeClass(_ state: String) -> String {
        ["up", "down", "draining"].contains(state) ? state : "unknown"
    }

    /// A counter, in red when it is non-zero and non-zero is bad news.
    static func count(_ n: Int, alarming: Bool) -> String {
        alarming && n > 0 ? "<span class=\"bad\">\(n)</span>" : String(n)
    }

    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(n)
        var unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(n) B" : NumberText.fixed(value, digits: 1) + " " + units[unit]
    }

    /// "3d 4h", "2h 05m", "1m 21s", "8.5s": the two largest units are enough at a glance.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 60 else { return NumberText.fixed(max(seconds, 0), digits: 1) + "s" }
        let total = Int(seconds)
        let (d, h, m, s) = (total / 86_400, total / 3600 % 24, total / 60 % 60, total % 60)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
        if d > 0 { return "\(d)d \(h)h" }
        if h > 0 { return "\(h)h \(two(m))m" }
        return "\(m)m \(two(s))s"
    }

    /// "HH:MM:SS" of a Unix time, UTC.
    static func clock(_ unixSeconds: Double) -> String {
        let t = Int(unixSeconds)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
        return "\(two(t / 3600 % 24)):\(two(t / 60 % 60)):\(two(t % 60))"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for ch in text.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}
