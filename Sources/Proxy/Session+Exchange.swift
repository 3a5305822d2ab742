import EventLoop
import HTTP1

extension Session {
    /// A request in flight: request body to the upstream, response back to the client.
    func stepExchange() -> Bool {
        var progressed = flushUpstream()
        if state != .exchange { return true }
        if readRequestBody() { progressed = true }
        if state != .exchange { return true }
        if readUpstream() { progressed = true }
        if state != .exchange { return true }
        if flushClient() { progressed = true }
        if state != .exchange { return true }
        if respHeadDone && respBody.done && !clientPending {
            finishExchange()
            return true
        }
        return progressed
    }

    /// Reads upstream bytes once everything read before has gone to the client.
    private func readUpstream() -> Bool {
        guard upstreamReadable, !upstreamEOF, !clientPending else { return false }
        worker.buffers.take(&respIn)
        if respIn.end == worker.buffers.size { respIn.compact() }
        if respIn.end == worker.buffers.size {
            // A response head larger than a whole buffer.
            worker.logger.warn("upstream \(serverName) sent a response head larger than \(worker.buffers.size) bytes")
            upstreamKeepAlive = false
            respond(status: 502)
            return true
        }
        switch readUpstream(respIn.base! + respIn.end, worker.buffers.size - respIn.end) {
        case .bytes(let n):
            respIn.end += n
            deadline = exchangeDeadline()
            absorbResponse()
            return true
        case .wouldBlock:
            upstreamReadable = false
            if respIn.isEmpty { worker.buffers.give(&respIn) }
            return false
        case .endOfFile, .failed:
            upstreamEOF = true
            upstreamEnded()
            return true
        }
    }

    /// Parses response heads (interim ones are passed on) and marks body bytes ready.
    private func absorbResponse() {
        while !respHeadDone {
            guard let end = HeadScanner.headEnd(in: respIn.bytes, searchFrom: respScanFrom) else {
                respScanFrom = max(0, respIn.count - 3)
                return
            }
            respScanFrom = 0
            let head: ResponseHead
            do {
                head = try ResponseParser.parse(respIn.bytes, headLength: end, requestMethod: method, headers: worker.headers)
            } catch {
                worker.logger.warn("upstream \(serverName) sent a malformed response: \(error.reason)")
                recordUpstreamFailure()
                respond(status: 502)
                return
            }
            if head.status == 101 && !upgrade {
                worker.logger.warn("upstream \(serverName) switched protocols without an upgrade request")
                respond(status: 502)
                return
            }
            // An HTTP/1.0 client must not be sent interim responses (RFC 9110 §15.2).
            let forward = !(head.isInterim && clientHTTP10)
            if forward && !writeResponseHead(head, length: end) { return }
            respIn.start += end
            if head.isInterim { continue }
            respHeadDone = true
            respStarted = true
            respStatus = head.status
            upstreamKeepAlive = head.keepAlive
            respBody = BodyProgress(head.framing)
            // No retry once the response has begun: the rewritten request head is not needed.
            worker.buffers.give(&reqOut)
            if head.status == 101 {
                enterTunnel()
                return
            }
        }
        do {
            respReady += try respBody.advance(UnsafeRawBufferPointer(rebasing: respIn.bytes[respReady...]))
        } catch {
            worker.logger.warn("upstream \(serverName) sent a malformed chunked body: \(error.reason)")
            upstreamKeepAlive = false
            abortAfterFlush()
            return
        }
        if respBody.done && respIn.count > respReady {
            // Bytes after the end of the response: the connection cannot be trusted again.
            upstreamKeepAlive = false
            respIn.end = respIn.start + respReady
        }
    }

    /// Rewrites a response head into `respOut` (appended after any interim head still queued).
    private func writeResponseHead(_ head: ResponseHead, length: Int) -> Bool {
        let directive: ConnectionDirective
        if head.isInterim {
            directive = .none
        } else if head.status == 101 {
            directive = .upgrade
        } else {
            if !reqBody.done || head.framing == .untilClose { closeAfterResponse = true }
            directive = closeAfterResponse ? .close : (clientHTTP10 ? .keepAlive : .none)
            respSaidClose = closeAfterResponse
        }
        worker.buffers.take(&respOut)
        respOut.compact()
        let out = UnsafeMutableRawBufferPointer(start: respOut.base! + respOut.end, count: worker.buffers.size - respOut.end)
        guard let n = ResponseRewriter.write(head, headers: worker.headers, source: respIn.bytes, connection: directive, into: out) else {
            worker.logger.warn("upstream \(serverName) sent a response head too large to rewrite")
            respond(status: 502)
            return false
        }
        respOut.end += n
        return true
    }

    /// The upstream closed (or failed) its side of the connection.
    func upstreamEnded() {
        if !respHeadDone {
            if respIn.isEmpty && upstreamReused && method.isIdempotent && reqBody.kind == .none && !retriedStale {
                // A pooled connection the server had already closed: retry once on a new one.
                retriedStale = true
                detachUpstream(keep: false)
                reqOut.start = 0
                tried = .init()
                attempts = 0
                connectUpstream()
                return
            }
            worker.logger.warn("upstream \(serverName) closed the connection before a complete response head")
            recordUpstreamFailure()
            respond(status: 502)
            return
        }
        if respBody.kind == .untilClose {
            respBody.done = true
            return
        }
        if !respBody.done {
            worker.logger.warn("upstream \(serverName) closed the connection in the middle of a response body")
            abortAfterFlush()
        }
    }

    /// Delivers what has been received, then closes: the response cannot be completed.
    private func abortAfterFlush() {
        if upstreamFD >= 0 { detachUpstream(keep: false) }
        closeAfterResponse = true
        state = .closing
        deadline = worker.now + 5_000
    }

    /// The response has been fully written to the client.
    private func finishExchange() {
        worker.backends[backend].servers[server].recordSuccess()
        account(status: respStatus)
        let reusable = upstreamKeepAlive && reqBody.done && !upstreamEOF && respIn.isEmpty
        detachUpstream(keep: reusable)
        worker.buffers.give(&respIn)
        worker.buffers.give(&respOut)
        worker.buffers.give(&reqOut)
        // Close only if the client was told so: when a drain began after this response's head
        // went out, the client may already be sending its next request on this connection, so
        // it gets the drain's one-second grace and that request is answered with
        // `Connection: close` instead of being cut off.
        if (closeAfterResponse && respSaidClose) || !reqBody.done || clientEOF {
            close()
            return
        }
        let idle = worker.now + Int64(worker.frontends[frontend].config.idleTimeoutMs)
        state = .head
        requestStarted = false
        scanFrom = 0
        reqReady = 0
        respHeadDone = false
        respStarted = false
        respSaidClose = false
        deadline = closeAfterResponse ? min(idle, worker.now + 1000) : idle
        if reqIn.isEmpty { worker.buffers.give(&reqIn) }
    }
}
