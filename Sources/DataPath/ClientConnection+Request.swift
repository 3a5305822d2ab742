import EventLoop
import HTTP1

/// HTTP/1.1 requests: waiting for a head, parsing and routing it, reading the body.
extension ClientConnection {
    /// Waiting for a complete request head (the first one or the next on a keep-alive connection).
    func stepWaiting() -> Bool {
        let limit = frontend.config.maxHeaderSize
        if fresh && frontend.config.http2 && !input.isEmpty {
            switch startsWithPreface {
            case true?:
                startHTTP2()
                return true
            case nil:
                return readHead()  // the rest of the preface (or of what turns out not to be it)
            case false?:
                fresh = false
            }
        }
        if !input.isEmpty {
            // RFC 9112 §2.2: empty lines before a request line are ignored.
            input.start += HeadScanner.leadingEmptyLines(in: input.bytes)
            if let end = HeadScanner.headEnd(in: input.bytes, searchFrom: scanFrom) {
                if end > limit {
                    reject(status: oversizeStatus(limit))
                } else {
                    beginExchange(headLength: end)
                }
                return true
            }
            scanFrom = max(0, input.count - 3)
            if input.count >= limit {
                reject(status: oversizeStatus(limit))
                return true
            }
        }
        return readHead()
    }

    /// Reads more of a request head.
    private func readHead() -> Bool {
        if endpoint.eof {
            close()
            return false
        }
        guard endpoint.readable else {
            if input.isEmpty { loop.buffers.give(&input) }
            return false
        }
        let wasEmpty = input.isEmpty
        switch loop.read(&endpoint, into: &input) {
        case .bytes(let n):
            frontend.counters.bytesIn(n)
            if wasEmpty && !headStarted {
                // The first byte of a request starts its `timeout header`.
                headStarted = true
                deadline = loop.now + Int64(frontend.config.headerTimeoutMs)
            }
            return true
        case .wouldBlock:
            if input.isEmpty { loop.buffers.give(&input) }
            return false
        case .endOfFile:
            return true
        case .failed:
            close()
            return false
        }
    }

    /// 414 when the request line does not fit in the first `limit` bytes, else 431.
    private func oversizeStatus(_ limit: Int) -> Int {
        HeadScanner.oversizeError(UnsafeRawBufferPointer(rebasing: input.bytes.prefix(limit))).status
    }

    /// Parses, validates, routes and rewrites a complete head, then starts the upstream side.
    private func beginExchange(headLength: Int) {
        let head: RequestHead
        do {
            head = try RequestParser.parse(input.bytes, headLength: headLength, headers: loop.headers)
        } catch {
            loop.logger.debug("rejected request from \(peer.string): \(error.status) \(error.reason)")
            reject(status: error.status)
            return
        }
        let facts = RequestFacts(method: head.method, http10: head.version == .http10, upgrade: head.upgradeWebSocket,
                                 keepAlive: head.keepAlive)
        var e = Exchange(.http, request: facts, startMicros: loop.nowMicros)
        if let logStorage { e.logLine = RequestLine(head, headers: loop.headers, source: input.bytes, storage: logStorage) }
        e.requestBody = BodyProgress(head.framing)
        e.closeAfterResponse = !head.keepAlive || loop.draining
        exchange = e
        phase = .exchange
        if let status = prepare(&exchange!, head: head, source: input.bytes) {
            respond(status: status)
            return
        }
        input.start += headLength
        scanFrom = 0
        headStarted = false
        // Validate the body bytes already here before anything is sent upstream.
        guard absorbRequestBody() else { return }
        acquired(exchange!.acquireUpstream(for: self))
    }

    /// What every parsed request goes through before it may go upstream, whatever codec it came
    /// by: the body limit, the route, the rewritten head (into the exchange's `requestHead`).
    /// nil when it may go; else the status to answer with.
    func prepare(_ e: inout Exchange, head: RequestHead, source: UnsafeRawBufferPointer) -> Int? {
        if case .contentLength(let n) = head.framing, frontend.config.maxBodySize > 0, n > frontend.config.maxBodySize {
            return 413
        }
        guard let route = frontend.router.route(head, source) else { return 404 }
        let backend = runtime.backends[route]
        e.backend = backend
        e.keyHash = backend.keyHash(head, headers: loop.headers, source: source, peer: peer)
        e.stickyServer = backend.stickyServer(headers: loop.headers, source: source)
        loop.buffers.take(&e.requestHead)
        let out = UnsafeMutableRawBufferPointer(start: e.requestHead.base, count: loop.buffers.size)
        let written = peer.withBytes { peerText in
            let context = ForwardContext(peer: peerText, port: listener.portText, https: listener.https, trusted: trusted,
                                         upstreamHTTP10: head.version == .http10,
                                         keepUnderscores: frontend.config.underscoresInHeaders)
            return RequestRewriter.write(head, headers: loop.headers, source: source, context: context, into: out)
        }
        guard let written else { return 431 }
        e.requestHead.end = written
        return nil
    }

    /// Marks request body bytes that arrived in `input` as ready to forward. Returns false when
    /// the body is malformed or too large (the client has been answered).
    func absorbRequestBody() -> Bool {
        do {
            try exchange!.requestBody.absorb(&input)
        } catch {
            respond(status: error.status)
            return false
        }
        let limit = frontend.config.maxBodySize
        if limit > 0 && exchange!.requestBody.total > limit {
            respond(status: 413)
            return false
        }
        return true
    }

    /// Reads more request body once the previous bytes went upstream.
    func readRequestBody() -> Bool {
        guard !exchange!.requestBody.done, exchange!.requestBody.ready == 0 else { return false }
        if endpoint.eof {
            // The client went away in the middle of its body: nothing more can be delivered.
            close()
            return false
        }
        guard endpoint.readable else { return false }
        switch loop.read(&endpoint, into: &input) {
        case .bytes(let n):
            frontend.counters.bytesIn(n)
            deadline = exchangeDeadline()
            _ = absorbRequestBody()
            return true
        case .wouldBlock:
            return false
        case .endOfFile, .failed:
            // The client went away in the middle of its body: nothing more can be delivered.
            close()
            return false
        }
    }

    /// A request the parser refused (or that breaks a limit before it was parsed): answered
    /// with `status`, logged with what can be read of its request line.
    func reject(status: Int, answer: UnsafeRawBufferPointer? = nil) {
        var e = Exchange(.http, request: nil, startMicros: loop.nowMicros)
        if let logStorage { e.logLine = RequestLine(rejected: input.bytes, storage: logStorage) }
        exchange = e
        respond(status: status, answer: answer)
    }
}
