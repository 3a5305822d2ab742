import EventLoop
import HTTP1

/// An HTTP/1.1 request in flight: the request to the upstream, the response back to the client.
extension ClientConnection {
    func stepExchange() -> Bool {
        if let up = exchange!.upstream, up.phase != .ready {
            return acquired(exchange!.stepConnect(for: self))
        }
        var progressed = sendToUpstream()
        if phase != .exchange { return true }
        if readRequestBody() { progressed = true }
        if phase != .exchange { return true }
        if receiveResponse() { progressed = true }
        if phase != .exchange { return true }
        if sendToClient() { progressed = true }
        if phase != .exchange { return true }
        let e = exchange!
        if e.responseHeadDone && e.responseBody.done && output.isEmpty && e.responseBody.ready == 0 {
            finishExchange()
            return true
        }
        return progressed
    }

    /// Acts on the outcome of getting an upstream connection. Returns true on progress.
    @discardableResult
    func acquired(_ outcome: Exchange.Acquired) -> Bool {
        switch outcome {
        case .ready:
            if exchange!.kind == .tcp {
                enterTunnel()
            } else {
                deadline = exchangeDeadline()
            }
            return true
        case .connecting:
            deadline = loop.now + Int64(exchange!.backend!.config.connectTimeoutMs)
            return true
        case .waiting:
            return false
        case .failed(let status):
            respond(status: status)
            return true
        }
    }

    /// While a request is in flight: `timeout read` between upstream bytes, and while the
    /// client is still sending its body, at most `timeout idle` between the client's bytes.
    func exchangeDeadline() -> Int64 { deadline(for: exchange!) }

    func deadline(for e: Exchange) -> Int64 {
        let read = Int64(e.backend!.config.readTimeoutMs)
        if e.requestBody.done { return loop.now + read }
        return loop.now + min(read, Int64(frontend.config.idleTimeoutMs))
    }

    /// What a timed-out exchange comes to, whatever its codec.
    enum Expiry {
        /// The connect (or its TLS handshake) took too long; another server or the answer.
        case acquired(Exchange.Acquired)
        /// The response had begun: it cannot be completed.
        case cut
        /// Answer the client with this status.
        case answer(Int)
    }

    func expire(_ e: inout Exchange) -> Expiry {
        if let up = e.upstream, up.phase != .ready {
            loop.logger.warn("connect to \(e.serverName) timed out")
            return .acquired(e.connectFailed(for: self))
        }
        if e.responseStarted { return .cut }
        if !e.requestBody.done {
            // The client stopped sending its body: its fault, not the upstream's (as nginx's
            // client_body_timeout), so no failure is counted against the server.
            return .answer(408)
        }
        loop.logger.warn("upstream \(e.serverName) did not answer within timeout read")
        e.recordUpstreamFailure(loop)
        return e.mayRetry ? .acquired(e.retry(for: self, failing: 504)) : .answer(504)
    }

    func exchangeTimedOut() {
        switch expire(&exchange!) {
        case .acquired(let outcome): acquired(outcome)
        case .cut: close()
        case .answer(let status): respond(status: status)
        }
    }

    // MARK: Writing

    /// Writes what is pending for the upstream (head, then ready body bytes).
    func sendToUpstream() -> Bool {
        guard let up = exchange!.upstream, up.endpoint.writable,
              !exchange!.requestHead.isEmpty || exchange!.requestBody.ready > 0 else { return false }
        if loop.deferringWrites {
            loop.deferWrite(self)
            return false
        }
        switch exchange!.sendRequest(loop, body: &input) {
        case nil, .blocked?:
            return false
        case .wrote?:
            return true
        case .failed?:
            upstreamEnded()
            return true
        }
    }

    /// Writes what is pending for the client: its output (heads, answers), then ready body bytes.
    func sendToClient() -> Bool {
        let ready = exchange?.responseBody.ready ?? 0
        guard !output.isEmpty || ready > 0, endpoint.writable else { return false }
        if loop.deferringWrites {
            loop.deferWrite(self)
            return false
        }
        let result: Loop.Transmitted
        if let up = exchange?.upstream, ready > 0 {
            result = loop.transmit(to: &endpoint, head: &output, body: &up.input, ready: &exchange!.responseBody.ready)
        } else {
            var none = Buffer()
            var nothing = 0
            result = loop.transmit(to: &endpoint, head: &output, body: &none, ready: &nothing)
        }
        switch result {
        case .wrote(let n, _):
            frontend.counters.bytesOut(n)
            exchange?.bytesOut += n
            if output.isEmpty { loop.buffers.give(&output) }
            if phase == .exchange {
                // Waiting on the client (`timeout send`) or, once it took everything, on the upstream.
                let pending = !output.isEmpty || exchange!.responseBody.ready > 0
                deadline = pending ? loop.now + Int64(frontend.config.sendTimeoutMs) : exchangeDeadline()
            }
            return true
        case .blocked:
            if phase == .exchange { deadline = loop.now + Int64(frontend.config.sendTimeoutMs) }
            return false
        case .failed:
            close()
            return false
        }
    }

    // MARK: The response

    /// Reads from the upstream (once the client took everything read before) and acts on what
    /// arrived: heads are rewritten for the client, body bytes marked ready.
    private func receiveResponse() -> Bool {
        guard output.isEmpty else { return false }
        var progressed = false
        var ended = false
        if let result = exchange!.readResponse(loop) {
            switch result {
            case .bytes:
                deadline = exchangeDeadline()
                progressed = true
            case .wouldBlock:
                break
            case .endOfFile, .failed:
                ended = true
            }
        }
        absorbing: while true {
            switch exchange!.absorbResponse(loop) {
            case .needMore:
                break absorbing
            case .body:
                progressed = true
            case .head(let head, let length):
                progressed = true
                guard deliver(head, length: length) else { return true }
                exchange!.took(head: head, length: length, loop: loop)
                if head.status == 101 {
                    enterTunnel()
                    return true
                }
            case .malformed(let status):
                respond(status: status)
                return true
            case .brokenBody:
                abortAfterFlush()
                return true
            }
        }
        // The end of the upstream's stream matters only while the response is incomplete.
        let e = exchange!
        if (ended || e.upstream?.endpoint.eof == true) && !(e.responseHeadDone && e.responseBody.done) {
            upstreamEnded()
            return true
        }
        return progressed
    }

    /// Rewrites a response head into `output` (after any interim head still queued). False when
    /// it could not be (the client has been answered 502).
    private func deliver(_ head: ResponseHead, length: Int) -> Bool {
        let request = exchange!.request!
        // An HTTP/1.0 client must not be sent interim responses (RFC 9110 §15.2).
        if head.isInterim && request.http10 { return true }
        let directive: ConnectionDirective
        if head.isInterim {
            directive = .none
        } else if head.status == 101 {
            directive = .upgrade
        } else {
            if !exchange!.requestBody.done || head.framing == .untilClose { exchange!.closeAfterResponse = true }
            let close = exchange!.closeAfterResponse
            directive = close ? .close : (request.http10 ? .keepAlive : .none)
            exchange!.saidClose = close
        }
        loop.buffers.take(&output)
        output.compact()
        let out = UnsafeMutableRawBufferPointer(start: output.base! + output.end, count: loop.buffers.size - output.end)
        let source = exchange!.upstream!.input.bytes
        let cookie = head.isInterim ? nil : exchange!.stickyCookie
        let written = withOptionalBytes(cookie) {
            ResponseRewriter.write(head, headers: loop.headers, source: source, connection: directive, setCookie: $0, into: out)
        }
        guard let n = written else {
            loop.logger.warn("upstream \(exchange!.serverName) sent a response head too large to rewrite")
            respond(status: 502)
            return false
        }
        output.end += n
        return true
    }

    /// The upstream connection ended (EOF or error) or broke while the request was written.
    private func upstreamEnded() {
        switch exchange!.upstreamEnded(for: self) {
        case .retrying(let outcome):
            acquired(outcome)
        case .complete:
            break
        case .failed(let status):
            respond(status: status)
        case .truncated:
            abortAfterFlush()
        }
    }

    /// Delivers what has been received, then closes: the response cannot be completed.
    private func abortAfterFlush() {
        exchange!.closeAfterResponse = true
        phase = .closing
        deadline = loop.now + 5_000
    }

    /// The response has been fully written to the client.
    private func finishExchange() {
        var e = exchange!
        exchange = nil
        e.server?.recordSuccess(backend: e.backend!.config.name, logger: loop.logger)
        account(e, status: e.status)
        let reusable = e.upstream.map { e.upstreamKeepAlive && e.requestBody.done && !$0.endpoint.eof && $0.input.isEmpty } ?? false
        e.detachUpstream(keep: reusable, loop: loop)
        loop.buffers.give(&e.requestHead)
        loop.buffers.give(&output)
        // Close only if the client was told so: when a drain began after this response's head
        // went out, the client may already be sending its next request on this connection, so
        // it gets the drain's one-second grace and that request is answered with
        // `Connection: close` instead of being cut off.
        if (e.closeAfterResponse && e.saidClose) || !e.requestBody.done || endpoint.eof {
            close()
            return
        }
        let idle = loop.now + Int64(frontend.config.idleTimeoutMs)
        phase = .waiting
        headStarted = false
        scanFrom = 0
        deadline = e.closeAfterResponse || loop.draining ? min(idle, loop.now + 1000) : idle
        if input.isEmpty { loop.buffers.give(&input) }
    }
}
