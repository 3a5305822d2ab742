import Balancer
import EventLoop
import HTTP1
import TLS

/// One client connection and, while a request is in flight, its upstream connection.
///
/// Bytes flow through two buffers taken from the worker's pool: `reqIn` (client bytes; the
/// request head is rewritten into `reqOut`, the body is forwarded from `reqIn` itself) and
/// `respIn` (upstream bytes; head rewritten into `respOut`). `reqReady`/`respReady` count the
/// bytes at the front of an input buffer that are ready to be written to the other side; a side
/// is read again only once they are written, which is the backpressure. Sockets are edge
/// triggered: the `…Readable`/`…Writable` flags remember readiness until a call says EAGAIN.
final class Session {
    enum State: UInt8 { case free, handshake, head, connecting, exchange, tunnel, closing }

    unowned(unsafe) let worker: Worker
    let id: Int32
    var state = State.free
    var deadline: Int64 = 0
    /// Queued in the worker's list of sessions to drive after the current batch of events.
    var writeDeferred = false

    // Client side.
    var frontend = 0
    var listener = 0
    var isTCP = false
    var trusted = false
    let peerText: UnsafeMutablePointer<CChar>
    var peerLength = 0
    var clientFD: Int32 = -1
    var clientReadable = false
    var clientWritable = false
    var clientEOF = false
    var clientShut = false
    var clientTLS: TLSConnection?

    // Upstream side.
    var upstreamFD: Int32 = -1
    var upstreamReadable = false
    var upstreamWritable = false
    var upstreamEOF = false
    var upstreamShut = false
    var upstreamReused = false
    var upstreamKeepAlive = false
    var upstreamTLS: TLSConnection?
    /// The TLS handshake with the upstream is still running (state `.connecting`).
    var upstreamHandshaking = false
    var backend = -1
    var server = -1
    var tried = TriedSet()
    var attempts = 0
    var retriedStale = false

    var reqIn = Buffer()
    var reqReady = 0
    var reqOut = Buffer()
    var respIn = Buffer()
    var respReady = 0
    var respOut = Buffer()

    // The request in flight.
    var method = Method.get
    var clientHTTP10 = false
    var upgrade = false
    var requestStarted = false
    var reqBody = BodyProgress()
    var scanFrom = 0
    var closeAfterResponse = false

    /// A request was taken in (or answered by the proxy) and is not yet counted.
    var requestOpen = false
    var requestStartMicros: Int64 = 0
    var upstreamStartMicros: Int64 = 0
    var clientBytesIn = 0
    var clientBytesOut = 0
    var logFields = RequestLogFields()

    // Its response.
    var respStatus = 0
    var respHeadDone = false
    var respScanFrom = 0
    var respBody = BodyProgress()
    var respStarted = false
    /// The response head sent to the client said `Connection: close`.
    var respSaidClose = false

    init(worker: Worker, id: Int32) {
        self.worker = worker
        self.id = id
        peerText = .allocate(capacity: 64)
    }

    deinit { peerText.deallocate() }

    var peerBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: peerText, count: peerLength) }

    /// Bytes waiting to go to the upstream: the rewritten head, then ready body bytes.
    @inline(__always) var upstreamPending: Bool { !reqOut.isEmpty || reqReady > 0 }
    /// Bytes waiting to go to the client.
    @inline(__always) var clientPending: Bool { !respOut.isEmpty || respReady > 0 }

    /// Runs the state machine until no more progress can be made without new readiness.
    func drive() {
        while true {
            let progressed: Bool
            switch state {
            case .free: return
            case .handshake: progressed = stepHandshake()
            case .head: progressed = stepHead()
            case .connecting: progressed = stepConnecting()
            case .exchange: progressed = stepExchange()
            case .tunnel: progressed = stepTunnel()
            case .closing: progressed = stepClosing()
            }
            if !progressed { return }
        }
    }

    /// Called by the worker's deadline sweep.
    func timedOut() {
        switch state {
        case .free: return
        case .handshake:
            close()
        case .head:
            if requestStarted || !reqIn.isEmpty { respond(status: 408) } else { close() }
        case .connecting:
            worker.logger.warn("connect to \(serverName) timed out")
            connectFailed()
        case .exchange:
            if respStarted {
                close()
            } else if !reqBody.done {
                // The client stopped sending its body: its fault, not the upstream's (as nginx's
                // client_body_timeout), so no failure is counted against the server.
                respond(status: 408)
            } else {
                worker.logger.warn("upstream \(serverName) did not answer within timeout read")
                recordUpstreamFailure()
                respond(status: 504)
            }
        case .tunnel, .closing:
            close()
        }
        drive()
    }

    var serverName: String {
        backend >= 0 && server >= 0 ? worker.backends[backend].servers[server].name : "?"
    }

    // MARK: Writing

    /// Writes pending bytes to the upstream. Returns true when bytes were written.
    func flushUpstream() -> Bool {
        guard upstreamPending, upstreamWritable else { return false }
        if worker.deferWrites {
            worker.deferWrite(self)
            return false
        }
        let body = UnsafeRawBufferPointer(start: reqIn.base.map { $0 + reqIn.start }, count: reqReady)
        switch writeUpstream(reqOut.bytes, body) {
        case .bytes(var n):
            let fromHead = min(n, reqOut.count)
            reqOut.start += fromHead
            n -= fromHead
            reqIn.start += n
            reqReady -= n
            if reqIn.isEmpty { reqIn.start = 0; reqIn.end = 0 }
            return true
        case .wouldBlock:
            upstreamWritable = false
            return false
        case .endOfFile, .failed:
            upstreamWriteFailed()
            return true
        }
    }

    /// Writes pending bytes to the client. Returns true when bytes were written.
    func flushClient() -> Bool {
        guard clientPending, clientWritable else { return false }
        if worker.deferWrites {
            worker.deferWrite(self)
            return false
        }
        let body = UnsafeRawBufferPointer(start: respIn.base.map { $0 + respIn.start }, count: respReady)
        switch writeClient(respOut.bytes, body) {
        case .bytes(var n):
            let fromHead = min(n, respOut.count)
            respOut.start += fromHead
            clientBytesOut += n
            n -= fromHead
            respIn.start += n
            respReady -= n
            if respIn.isEmpty { respIn.start = 0; respIn.end = 0 }
            if respOut.isEmpty { worker.buffers.give(&respOut) }
            if state == .exchange {
                // Waiting on the client (`timeout send`) or, once it took everything, on the upstream.
                deadline = clientPending ? worker.now + Int64(worker.frontends[frontend].config.sendTimeoutMs)
                                         : exchangeDeadline()
            }
            return true
        case .wouldBlock:
            clientWritable = false
            if state == .exchange {
                deadline = worker.now + Int64(worker.frontends[frontend].config.sendTimeoutMs)
            }
            return false
        case .endOfFile, .failed:
            close()
            return false
        }
    }

    /// While a request is in flight: `timeout read` between upstream bytes, and while the
    /// client is still sending its body, at most `timeout idle` between the client's bytes.
    func exchangeDeadline() -> Int64 {
        let read = Int64(worker.backends[backend].config.readTimeoutMs)
        if reqBody.done { return worker.now + read }
        return worker.now + min(read, Int64(worker.frontends[frontend].config.idleTimeoutMs))
    }

    // MARK: Endings

    /// Answers the client with a canned error and closes once it is written (a `mode tcp` client
    /// or one that already has a response head is just closed). Whatever was
    /// buffered for the upstream is dropped; an upstream connection in use is closed.
    func respond(status: Int) {
        if respStarted || isTCP {
            close()
            return
        }
        if upstreamFD >= 0 { detachUpstream(keep: false) }
        worker.buffers.give(&reqOut)
        worker.buffers.give(&respIn)
        respReady = 0
        reqReady = 0
        worker.buffers.take(&respOut)
        respOut.start = 0
        let canned = CannedResponse.bytes(status: status)
        respOut.base!.copyMemory(from: canned.baseAddress!, byteCount: canned.count)
        respOut.end = canned.count
        respStarted = true
        respStatus = status
        requestOpen = true
        state = .closing
        deadline = worker.now + 5_000
    }

    func stepClosing() -> Bool {
        if clientPending {
            return flushClient()
        }
        close()
        return false
    }

    /// Closes everything this session holds and returns it to the worker.
    func close() {
        guard state != .free else { return }
        // 499 as nginx: the client went away before a response head was sent.
        if requestOpen { account(status: respStarted ? respStatus : 499) } else { flushByteCounters() }
        if upstreamFD >= 0 { detachUpstream(keep: false) }
        dropClientTLS()
        worker.buffers.give(&reqIn)
        worker.buffers.give(&reqOut)
        worker.buffers.give(&respIn)
        worker.buffers.give(&respOut)
        reqReady = 0
        respReady = 0
        state = .free
        worker.closeClient(self)
    }

    // MARK: Accounting

    /// Counts a finished request in the shared stats and writes its access-log line.
    func account(status: Int) {
        requestOpen = false
        let fe = worker.frontends[frontend]
        fe.counters.requestStarted()
        fe.counters.response(status: status)
        worker.counters.requestServed()
        let now = Clock.nowMicros()
        var upstreamMicros: Int64 = -1
        if upstreamStartMicros > 0 {
            upstreamMicros = now - upstreamStartMicros
            if respHeadDone {
                let seconds = Double(upstreamMicros) / 1_000_000
                worker.backends[backend].servers[server].counters.response(status: status, seconds: seconds)
                worker.backends[backend].counters.response(seconds: seconds)
            }
        }
        if let log = worker.accessLogs[frontend] {
            let upstreamName = upstreamMicros >= 0 ? worker.backends[backend].servers[server].nameBytes : []
            fe.nameBytes.withUnsafeBytes { feName in
                upstreamName.withUnsafeBytes { upName in
                    log.append(AccessEntry(frontend: feName, client: peerBytes, method: logFields.method,
                                           target: logFields.target, http10: logFields.http10, referer: logFields.referer,
                                           userAgent: logFields.userAgent, status: status, bytes: clientBytesOut,
                                           upstream: upName, totalMicros: requestStartMicros > 0 ? now - requestStartMicros : 0,
                                           upstreamMicros: upstreamMicros), clock: worker.logClock)
                }
            }
        }
        flushByteCounters()
        upstreamStartMicros = 0
        requestStartMicros = 0
        logFields.clear()
    }

    /// Adds the bytes moved since the last call to the frontend's counters.
    func flushByteCounters() {
        let fe = worker.frontends[frontend]
        if clientBytesIn > 0 { fe.counters.bytesIn(clientBytesIn) }
        if clientBytesOut > 0 { fe.counters.bytesOut(clientBytesOut) }
        clientBytesIn = 0
        clientBytesOut = 0
    }
}
