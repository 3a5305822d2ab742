import EventLoop
import HTTP1

/// The request going up and the response coming back, as far as the upstream side goes.
extension Exchange {
    /// Sends what is pending for the upstream: the rest of the rewritten head, then the body
    /// bytes ready at the front of `body` (the client's input). nil when there is nothing to
    /// send or the socket cannot take it now.
    @inline(__always)
    mutating func sendRequest(_ loop: Loop, body: inout Buffer) -> Loop.Transmitted? {
        guard let up = upstream, up.phase == .ready, up.endpoint.writable,
              !requestHead.isEmpty || requestBody.ready > 0 else { return nil }
        return loop.transmit(to: &up.endpoint, head: &requestHead, body: &body, ready: &requestBody.ready)
    }

    enum ResponseEvent {
        /// Nothing more can be done until the upstream sends more.
        case needMore
        /// Body bytes became ready for the client.
        case body
        /// A response head (interim or final) is at the front of the upstream's input and parsed
        /// into the loop's header table: deliver it, then call `took(head:)`.
        case head(ResponseHead, length: Int)
        /// The upstream's response is malformed: the client gets this status (already logged).
        case malformed(status: Int)
        /// The chunked body is malformed: deliver what is ready, then close.
        case brokenBody
    }

    /// Reads from the upstream when everything read before has been passed on. Returns the
    /// read's result, nil when no read was attempted.
    mutating func readResponse(_ loop: Loop) -> IOResult? {
        guard responseBody.ready == 0 else { return nil }
        return withUpstream { up in
            guard up.endpoint.readable, !up.endpoint.eof else { return nil }
            return loop.read(&up.endpoint, into: &up.input)
        } ?? nil
    }

    /// Looks at what the upstream sent: parses the next head, or marks body bytes ready.
    mutating func absorbResponse(_ loop: Loop) -> ResponseEvent {
        withUpstream(changing: { $0.absorbResponse(from: $1, loop) }) ?? .needMore
    }

    private mutating func absorbResponse(from up: UpstreamConnection, _ loop: Loop) -> ResponseEvent {
        guard !up.input.isEmpty else { return .needMore }
        if !responseHeadDone {
            guard let end = HeadScanner.headEnd(in: up.input.bytes, searchFrom: responseScanFrom) else {
                if up.input.count == loop.buffers.size {
                    loop.logger.warn("upstream \(serverName) sent a response head larger than \(loop.buffers.size) bytes")
                    upstreamKeepAlive = false
                    return .malformed(status: 502)
                }
                responseScanFrom = max(0, up.input.count - 3)
                return .needMore
            }
            responseScanFrom = 0
            let head: ResponseHead
            do {
                head = try ResponseParser.parse(up.input.bytes, headLength: end, requestMethod: request!.method, headers: loop.headers)
            } catch {
                loop.logger.warn("upstream \(serverName) sent a malformed response: \(error.reason)")
                recordUpstreamFailure(loop)
                return .malformed(status: 502)
            }
            if head.status == 101 && !request!.upgrade {
                loop.logger.warn("upstream \(serverName) switched protocols without an upgrade request")
                return .malformed(status: 502)
            }
            return .head(head, length: end)
        }
        let before = responseBody.ready
        do {
            try responseBody.absorb(&up.input)
        } catch {
            loop.logger.warn("upstream \(serverName) sent a malformed chunked body: \(error.reason)")
            upstreamKeepAlive = false
            return .brokenBody
        }
        let kept = responseBody.ready + responseBody.trailerLength
        if responseBody.done && up.input.count > kept {
            // Bytes after the end of the response: the connection cannot be trusted again.
            upstreamKeepAlive = false
            up.input.end = up.input.start + kept
        }
        return responseBody.ready > before ? .body : .needMore
    }

    /// The head the last `.head` event reported has been delivered (or skipped): consume it and,
    /// for a final head, start the body (`dechunk` for an HTTP/2 client).
    mutating func took(head: ResponseHead, length: Int, loop: Loop, dechunk: Bool = false) {
        withUpstream { $0.input.start += length }
        guard !head.isInterim else { return }
        responseHeadDone = true
        responseStarted = true
        status = head.status
        upstreamKeepAlive = head.keepAlive
        responseBody = BodyProgress(head.framing, dechunk: dechunk)
        // No retry once the response has begun: the rewritten request head is not needed.
        loop.buffers.give(&requestHead)
    }

    enum Ending {
        /// The upstream was a stale pooled connection: a new one is being set up.
        case retrying(Acquired)
        /// The response ended with the connection (a body delimited by close).
        case complete
        /// Nothing usable came: answer this status.
        case failed(status: Int)
        /// The body was cut short: deliver what is ready, then close.
        case truncated
    }

    /// Whether a failure of this attempt may be retried on another server (as nginx's
    /// `proxy_next_upstream error timeout`): an idempotent request without a body (so nothing
    /// of it is lost once sent), nothing of the response has reached the client, and `retries`
    /// allows another attempt. A non-idempotent request that reached an upstream never is.
    var mayRetry: Bool {
        guard let request, request.method.isIdempotent, requestBody.kind == .none else { return false }
        return !responseStarted && bytesOut == 0 && attempts <= backend!.config.retries
    }

    /// Gives up the current upstream connection and tries another server; when none is left,
    /// the client gets `status` (502 after an error, 504 after a timeout).
    mutating func retry(for client: ClientConnection, failing status: Int) -> Acquired {
        detachUpstream(keep: false, loop: client.loop)
        requestHead.start = 0
        responseScanFrom = 0
        switch acquireUpstream(for: client) {
        case .failed: return .failed(status: status)
        case let other: return other
        }
    }

    /// The upstream closed (or broke) its side of the connection.
    mutating func upstreamEnded(for client: ClientConnection) -> Ending {
        let loop = client.loop
        if !responseHeadDone {
            let nothingYet = upstream.map { $0.input.isEmpty } ?? true
            if nothingYet && upstreamReused && request!.method.isIdempotent && requestBody.kind == .none && !retriedStale {
                // A pooled connection the server had already closed: retry once on a new one.
                retriedStale = true
                detachUpstream(keep: false, loop: loop)
                requestHead.start = 0
                tried = .init()
                attempts = 0
                return .retrying(acquireUpstream(for: client))
            }
            loop.logger.warn("upstream \(serverName) closed the connection before a complete response head")
            recordUpstreamFailure(loop)
            if mayRetry { return .retrying(retry(for: client, failing: 502)) }
            return .failed(status: 502)
        }
        if responseBody.kind == .untilClose {
            responseBody.done = true
            return .complete
        }
        if !responseBody.done {
            loop.logger.warn("upstream \(serverName) closed the connection in the middle of a response body")
            return .truncated
        }
        return .complete
    }
}
