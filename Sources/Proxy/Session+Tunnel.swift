import EventLoop

extension Session {
    /// From here on bytes flow both ways unparsed (`mode tcp`, or a WebSocket after 101).
    func enterTunnel() {
        state = .tunnel
        reqReady = reqIn.count
        respReady = respIn.count
        deadline = worker.now + Int64(worker.frontends[frontend].config.idleTimeoutMs)
    }

    func stepTunnel() -> Bool {
        var progressed = false
        if flushUpstream() { progressed = true }
        if state != .tunnel { return true }
        if flushClient() { progressed = true }
        if state != .tunnel { return true }
        if reqReady == 0 && !clientEOF && clientReadable {
            switch readTunnel(client: true, into: &reqIn) {
            case .bytes(let n): reqReady = n; clientBytesIn += n; progressed = true
            case .wouldBlock: clientReadable = false
            case .endOfFile: clientEOF = true; progressed = true
            case .failed: close(); return false
            }
        }
        if respReady == 0 && !upstreamEOF && upstreamReadable {
            switch readTunnel(client: false, into: &respIn) {
            case .bytes(let n): respReady = n; progressed = true
            case .wouldBlock: upstreamReadable = false
            case .endOfFile: upstreamEOF = true; progressed = true
            case .failed: close(); return false
            }
        }
        // Pass half-closes on once everything before them has been written.
        if clientEOF && reqReady == 0 && !upstreamShut {
            if let tls = upstreamTLS { tls.shutdown() } else { Syscall.shutdownWrite(upstreamFD) }
            upstreamShut = true
        }
        if upstreamEOF && !clientPending && !clientShut {
            if let tls = clientTLS { tls.shutdown() } else { Syscall.shutdownWrite(clientFD) }
            clientShut = true
        }
        if clientShut && upstreamShut {
            close()
            return false
        }
        if progressed { deadline = worker.now + Int64(worker.frontends[frontend].config.idleTimeoutMs) }
        return progressed
    }

    private func readTunnel(client: Bool, into buffer: inout Buffer) -> IOResult {
        worker.buffers.take(&buffer)
        buffer.start = 0
        buffer.end = 0
        let result = client ? readClient(buffer.base!, worker.buffers.size) : readUpstream(buffer.base!, worker.buffers.size)
        if case .bytes(let n) = result { buffer.end = n }
        return result
    }
}
