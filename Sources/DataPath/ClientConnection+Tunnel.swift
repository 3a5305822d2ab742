import EventLoop

/// Bytes flowing both ways unparsed: `mode tcp`, or a WebSocket after 101.
extension ClientConnection {
    /// A `mode tcp` connection: one tunnel exchange to the default backend.
    func startTunnelExchange() {
        var e = Exchange(.tcp, request: nil, startMicros: loop.nowMicros)
        // A tcp frontend always has a default backend (checked with the configuration).
        e.backend = runtime.backends[frontend.router.defaultBackend!]
        exchange = e
        phase = .exchange
        acquired(exchange!.acquireUpstream(for: self))
    }

    func enterTunnel() {
        phase = .tunnel
        exchange!.requestBody = BodyProgress(.untilClose)
        exchange!.requestBody.ready = input.count
        exchange!.responseBody = BodyProgress(.untilClose)
        exchange!.responseBody.ready = exchange!.upstream!.input.count
        deadline = loop.now + Int64(frontend.config.idleTimeoutMs)
    }

    func stepTunnel() -> Bool {
        var progressed = false
        if sendToUpstream() { progressed = true }
        if phase != .tunnel { return true }
        if sendToClient() { progressed = true }
        if phase != .tunnel { return true }
        let up = exchange!.upstream!
        if exchange!.requestBody.ready == 0 && !endpoint.eof && endpoint.readable {
            switch loop.read(&endpoint, into: &input) {
            case .bytes(let n):
                exchange!.requestBody.ready = n
                frontend.counters.bytesIn(n)
                progressed = true
            case .wouldBlock: break
            case .endOfFile: progressed = true
            case .failed: close(); return false
            }
        }
        if exchange!.responseBody.ready == 0 && !up.endpoint.eof && up.endpoint.readable {
            switch loop.read(&up.endpoint, into: &up.input) {
            case .bytes(let n):
                exchange!.responseBody.ready = n
                progressed = true
            case .wouldBlock: break
            case .endOfFile: progressed = true
            case .failed: close(); return false
            }
        }
        // Pass half-closes on once everything before them has been written.
        if endpoint.eof && exchange!.requestBody.ready == 0 { up.endpoint.shutdownWrite() }
        if up.endpoint.eof && exchange!.responseBody.ready == 0 && output.isEmpty { endpoint.shutdownWrite() }
        if endpoint.shut && up.endpoint.shut {
            close()
            return false
        }
        if progressed { deadline = loop.now + Int64(frontend.config.idleTimeoutMs) }
        return progressed
    }
}
