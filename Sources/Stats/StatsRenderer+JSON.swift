extension StatsRenderer {
    /// A JSON string literal of `text` (for other JSON replies of the stats listener).
    public static func jsonString(_ text: String) -> String { JSON.string(text) }

    /// GET /stats: the stats document, key for key (README, "Stats"). Top-level keys, and each worker,
    /// frontend, backend and server, get lines of their own so that `curl` output stays readable.
    public static func json(_ s: StatsSnapshot) -> String {
        let reloads = JSON.object([
            ("succeeded", String(s.reloadsSucceeded)),
            ("failed", String(s.reloadsFailed)),
            ("last_error", s.lastReloadError.map(JSON.string) ?? "null"),
        ])
        let top: [(String, String)] = [
            ("version", JSON.string(s.version)),
            ("pid", String(s.pid)),
            ("uptime_seconds", JSON.number(s.uptimeSeconds)),
            ("generation", String(s.generation)),
            ("reloads", reloads),
            ("workers", JSON.lines(s.workers.map(worker))),
            ("frontends", JSON.lines(s.frontends.map(frontend))),
            ("backends", JSON.lines(s.backends.map(backend))),
            ("discovery", JSON.lines(s.discovery.map(discovery))),
        ]
        return "{\n" + top.map { "  \(JSON.string($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    private static func discovery(_ d: DiscoverySnapshot) -> String {
        JSON.object([
            ("name", JSON.string(d.name)),
            ("servers", String(d.servers)),
            ("failures_total", String(d.failuresTotal)),
            ("last_error", d.lastError.map(JSON.string) ?? "null"),
        ])
    }

    private static func worker(_ w: WorkerSnapshot) -> String {
        JSON.object([
            ("pid", String(w.pid)),
            ("generation", String(w.generation)),
            ("connections_active", String(w.connectionsActive)),
            ("requests_total", String(w.requestsTotal)),
            ("restarts", String(w.restarts)),
        ])
    }

    private static func frontend(_ f: FrontendSnapshot) -> String {
        JSON.object([
            ("name", JSON.string(f.name)),
            ("connections_active", String(f.values.connectionsActive)),
            ("connections_total", String(f.values.connectionsTotal)),
            ("requests_total", String(f.values.requestsTotal)),
            ("bytes_in", String(f.values.bytesIn)),
            ("bytes_out", String(f.values.bytesOut)),
            ("responses", responses(f.values.responses)),
            ("requests_by_protocol", JSON.object(zip(Self.protocols, f.values.requestsByProtocol).map { ($0, String($1)) })),
            ("http2", JSON.object([
                ("connections_active", String(f.values.http2ConnectionsActive)),
                ("connections_total", String(f.values.http2ConnectionsTotal)),
                ("streams_total", String(f.values.http2StreamsTotal)),
            ])),
        ])
    }

    /// The protocol names requests are counted under, in `FrontendValues.requestsByProtocol` order.
    static let protocols = ["HTTP/1.0", "HTTP/1.1", "HTTP/2.0"]

    private static func backend(_ b: BackendSnapshot) -> String {
        JSON.object([
            ("name", JSON.string(b.name)),
            ("balance", JSON.string(b.balance)),
            ("servers", JSON.lines(b.servers.map(server), depth: 2)),
        ])
    }

    private static func server(_ srv: ServerSnapshot) -> String {
        let v = srv.values
        let times = JSON.object([
            ("p50", v.histogram.quantile(0.5).map(seconds) ?? "null"),
            ("p99", v.histogram.quantile(0.99).map(seconds) ?? "null"),
        ])
        let change = srv.adminChange.map {
            JSON.object([("by", JSON.string($0.by)), ("at", JSON.number($0.at)), ("action", JSON.string($0.action))])
        }
        return JSON.object([
            ("address", JSON.string(srv.address)),
            ("weight", String(srv.weight)),
            ("backup", srv.backup ? "true" : "false"),
            ("state", JSON.string(srv.state)),
            ("admin_state", JSON.string(srv.adminState)),
            ("admin_changed", change ?? "null"),
            ("active_requests", String(v.activeRequests)),
            ("requests_total", String(v.requestsTotal)),
            ("failures_total", String(v.failuresTotal)),
            ("responses", responses(v.responses)),
            ("response_time_seconds", times),
        ])
    }

    /// A bucket-interpolated estimate: microseconds are all the precision it has.
    private static func seconds(_ value: Double) -> String {
        JSON.number((value * 1e6).rounded() / 1e6)
    }

    private static func responses(_ counts: [Int]) -> String {
        JSON.object(zip(StatusClass.labels, counts).map { ($0, String($1)) })
    }
}

/// Minimal JSON text building: values arrive already encoded.
private enum JSON {
    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// An array with one element per line, for an array nested `depth` levels deep.
    static func lines(_ elements: [String], depth: Int = 1) -> String {
        let inner = "\n" + String(repeating: "  ", count: depth + 1)
        let outer = "\n" + String(repeating: "  ", count: depth)
        return elements.isEmpty ? "[]" : "[" + inner + elements.joined(separator: "," + inner) + outer + "]"
    }

    /// JSON has no NaN or infinity; they become null.
    static func number(_ value: Double) -> String {
        value.isFinite ? NumberText.shortest(value) : "null"
    }

    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
