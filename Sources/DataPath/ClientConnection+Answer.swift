import EventLoop
import HTTP1

/// Answers the proxy makes itself, the end of a connection, and the accounting of a request.
extension ClientConnection {
    /// Answers the client with a canned error (`answer`, or the standard one for `status`) and
    /// closes once it is written. A client that already has a response head (or a tunnel) is
    /// just closed. Whatever was buffered for the upstream is dropped; an upstream connection in
    /// use is closed.
    func respond(status: Int, answer: UnsafeRawBufferPointer? = nil) {
        guard let e = exchange, e.kind == .http, !e.responseStarted else {
            close()
            return
        }
        exchange!.detachUpstream(keep: false, loop: loop)
        loop.buffers.give(&exchange!.requestHead)
        exchange!.requestBody.ready = 0
        exchange!.responseBody.ready = 0
        exchange!.responseStarted = true
        exchange!.status = status
        loop.buffers.take(&output)
        let canned = answer ?? CannedResponse.bytes(status: status)
        output.base!.copyMemory(from: canned.baseAddress!, byteCount: canned.count)
        output.start = 0
        output.end = canned.count
        phase = .closing
        deadline = loop.now + 5_000
    }

    /// Writes what is left for the client, then closes.
    func stepClosing() -> Bool {
        if !output.isEmpty || (exchange?.responseBody.ready ?? 0) > 0 {
            return sendToClient()
        }
        close()
        return false
    }

    /// Counts a finished request in this worker's stats and writes its access-log line.
    func account(_ e: Exchange, status: Int) {
        let counters = frontend.counters!
        counters.requestStarted(e.requestProtocol)
        counters.response(status: status)
        loop.workerCounters.requestServed()
        var upstreamMicros: Int64 = -1
        if e.upstreamStartMicros > 0, let server = e.server {
            upstreamMicros = loop.nowMicros - e.upstreamStartMicros
            if e.responseHeadDone {
                let seconds = Double(upstreamMicros) / 1_000_000
                server.counters.response(status: status, seconds: seconds)
                e.backend!.counters.response(seconds: seconds)
            }
        }
        guard let log = frontend.accessLog else { return }
        let upstreamName = upstreamMicros >= 0 ? e.server!.nameBytes : []
        frontend.nameBytes.withUnsafeBytes { feName in
            upstreamName.withUnsafeBytes { upName in
                peer.withBytes { client in
                    log.append(AccessEntry(frontend: feName, client: client, line: e.logLine, status: status,
                                           bytes: e.bytesOut, upstream: upName, totalMicros: loop.nowMicros - e.startMicros,
                                           upstreamMicros: upstreamMicros))
                }
            }
        }
    }
}
