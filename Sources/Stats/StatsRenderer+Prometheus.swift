extension StatsRenderer {
    /// GET /metrics: Prometheus text exposition format 0.0.4. Every family has HELP and TYPE
    /// lines and all its samples right below them, as the format requires.
    public static func prometheus(_ s: StatsSnapshot) -> String {
        var out = PrometheusText()
        out.family("sluice_info", .gauge, "Build information; always 1.")
        out.sample("sluice_info", [("version", s.version)], 1)
        out.family("sluice_uptime_seconds", .gauge, "Seconds since the master started.")
        out.sample("sluice_uptime_seconds", [], s.uptimeSeconds)
        out.family("sluice_generation", .gauge, "Configuration generation the current workers run.")
        out.sample("sluice_generation", [], s.generation)
        out.family("sluice_reloads_total", .counter, "Configuration reloads by result.")
        out.sample("sluice_reloads_total", [("result", "succeeded")], s.reloadsSucceeded)
        out.sample("sluice_reloads_total", [("result", "failed")], s.reloadsFailed)
        workers(s.workers, into: &out)
        frontends(s.frontends, into: &out)
        servers(s.backends, into: &out)
        responseTimes(s.backends, into: &out)
        discovery(s.discovery, into: &out)
        return out.text
    }

    private static func discovery(_ names: [DiscoverySnapshot], into out: inout PrometheusText) {
        out.family("sluice_discovery_servers", .gauge, "Servers the last DNS answer for the name gave.")
        for d in names { out.sample("sluice_discovery_servers", [("name", d.name)], d.servers) }
        out.family("sluice_discovery_failures_total", .counter, "Failed DNS lookups of the name (the last answer was kept).")
        for d in names { out.sample("sluice_discovery_failures_total", [("name", d.name)], d.failuresTotal) }
    }

    private static func workers(_ workers: [WorkerSnapshot], into out: inout PrometheusText) {
        out.family("sluice_workers", .gauge, "Worker processes running.")
        out.sample("sluice_workers", [], workers.count)
        let metrics: [(String, PrometheusText.Kind, String, (WorkerSnapshot) -> Int)] = [
            ("connections_active", .gauge, "Client connections open in the worker.", \.connectionsActive),
            ("requests_total", .counter, "Requests the worker has served.", \.requestsTotal),
            ("restarts_total", .counter, "Times a worker in this place died and was replaced.", \.restarts),
        ]
        for (suffix, kind, help, value) in metrics {
            let name = "sluice_worker_" + suffix
            out.family(name, kind, help)
            for w in workers { out.sample(name, [("pid", String(w.pid))], value(w)) }
        }
    }

    private static func frontends(_ frontends: [FrontendSnapshot], into out: inout PrometheusText) {
        let metrics: [(String, PrometheusText.Kind, String, (FrontendValues) -> Int)] = [
            ("connections_active", .gauge, "Client connections open.", \.connectionsActive),
            ("connections_total", .counter, "Client connections accepted.", \.connectionsTotal),
            ("requests_total", .counter, "Requests received.", \.requestsTotal),
            ("bytes_in_total", .counter, "Bytes received from clients.", \.bytesIn),
            ("bytes_out_total", .counter, "Bytes sent to clients.", \.bytesOut),
            ("http2_connections_active", .gauge, "Client connections speaking HTTP/2.", \.http2ConnectionsActive),
            ("http2_connections_total", .counter, "Client connections that spoke HTTP/2.", \.http2ConnectionsTotal),
            ("http2_streams_total", .counter, "HTTP/2 streams opened by clients.", \.http2StreamsTotal),
        ]
        for (suffix, kind, help, value) in metrics {
            let name = "sluice_frontend_" + suffix
            out.family(name, kind, help)
            for f in frontends { out.sample(name, [("frontend", f.name)], value(f.values)) }
        }
        let name = "sluice_frontend_responses_total"
        out.family(name, .counter, "Responses sent to clients by status class.")
        for f in frontends {
            for (code, count) in zip(StatusClass.labels, f.values.responses) {
                out.sample(name, [("frontend", f.name), ("code", code)], count)
            }
        }
        let byProtocol = "sluice_frontend_requests_by_protocol_total"
        out.family(byProtocol, .counter, "Requests received by protocol.")
        for f in frontends {
            for (proto, count) in zip(StatsRenderer.protocols, f.values.requestsByProtocol) {
                out.sample(byProtocol, [("frontend", f.name), ("protocol", proto)], count)
            }
        }
    }

    private static func servers(_ backends: [BackendSnapshot], into out: inout PrometheusText) {
        let metrics: [(String, PrometheusText.Kind, String, (ServerSnapshot) -> Int)] = [
            ("up", .gauge, "1 when the server takes new requests (state up), else 0.", { $0.state == "up" ? 1 : 0 }),
            ("weight", .gauge, "The weight in force (set by the runtime control, else configured).", \.weight),
            ("active_requests", .gauge, "Requests in flight to the server, all workers together.", \.values.activeRequests),
            ("requests_total", .counter, "Requests sent to the server.", \.values.requestsTotal),
            ("failures_total", .counter, "Failed attempts (connect errors, timeouts, broken responses).", \.values.failuresTotal),
        ]
        for (suffix, kind, help, value) in metrics {
            let name = "sluice_backend_server_" + suffix
            out.family(name, kind, help)
            for b in backends {
                for srv in b.servers { out.sample(name, [("backend", b.name), ("server", srv.address)], value(srv)) }
            }
        }
        let admin = "sluice_backend_server_admin_state"
        out.family(admin, .gauge, "1 for the state the runtime control set (enable, drain, disable), 0 for the others.")
        for b in backends {
            for srv in b.servers {
                for state in ["enable", "drain", "disable"] {
                    out.sample(admin, [("backend", b.name), ("server", srv.address), ("state", state)], srv.adminState == state ? 1 : 0)
                }
            }
        }
        let name = "sluice_backend_server_responses_total"
        out.family(name, .counter, "Responses received from the server by status class.")
        for b in backends {
            for srv in b.servers {
                for (code, count) in zip(StatusClass.labels, srv.values.responses) {
                    out.sample(name, [("backend", b.name), ("server", srv.address), ("code", code)], count)
                }
            }
        }
    }

    /// The backend-wide histogram: cumulative buckets up to le="+Inf", then _sum and _count.
    private static func responseTimes(_ backends: [BackendSnapshot], into out: inout PrometheusText) {
        let name = "sluice_backend_response_seconds"
        out.family(name, .histogram, "Time upstream servers took to answer, all servers of the backend together.")
        let les = Histogram.bounds.map(NumberText.shortest) + ["+Inf"]
        for b in backends {
            var cumulative = 0
            for (le, count) in zip(les, b.histogram.counts) {
                cumulative += count
                out.sample(name + "_bucket", [("backend", b.name), ("le", le)], cumulative)
            }
            out.sample(name + "_sum", [("backend", b.name)], b.histogram.sum)
            out.sample(name + "_count", [("backend", b.name)], b.histogram.count)
        }
    }
}

/// Builds exposition text line by line, escaping as the format asks.
private struct PrometheusText {
    enum Kind: String { case counter, gauge, histogram }

    private(set) var text = ""

    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Int) {
        line(name, labels, String(value))
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        let text = value.isNaN ? "NaN" : value.isInfinite ? (value > 0 ? "+Inf" : "-Inf") : NumberText.shortest(value)
        line(name, labels, text)
    }

    private mutating func line(_ name: String, _ labels: [(String, String)], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + value + "\n"
    }

    /// Label values escape backslash, double quote and line feed.
    private static func escape(_ value: String) -> String {
        var out = ""
        for ch in value.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}
