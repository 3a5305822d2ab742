import EventLoop
import Glibc
import HTTP1

extension Session {
    /// Waiting for a complete request head (first request or next one on a keep-alive connection).
    func stepHead() -> Bool {
        let fe = worker.frontends[frontend]
        if !reqIn.isEmpty {
            // RFC 9112 §2.2: empty lines before a request line are ignored.
            reqIn.start += HeadScanner.leadingEmptyLines(in: reqIn.bytes)
            if let end = HeadScanner.headEnd(in: reqIn.bytes, searchFrom: scanFrom) {
                if end > fe.config.maxHeaderSize {
                    respond(status: oversizeStatus(fe.config.maxHeaderSize))
                } else {
                    beginRequest(headLength: end)
                }
                return true
            }
            scanFrom = max(0, reqIn.count - 3)
            if reqIn.count >= fe.config.maxHeaderSize {
                respond(status: oversizeStatus(fe.config.maxHeaderSize))
                return true
            }
        }
        if clientEOF {
            close()
            return false
        }
        guard clientReadable else {
            if reqIn.isEmpty { worker.buffers.give(&reqIn) }
            return false
        }
        worker.buffers.take(&reqIn)
        if reqIn.end == worker.buffers.size { reqIn.compact() }
        let wasEmpty = reqIn.isEmpty
        switch readClient(reqIn.base! + reqIn.end, worker.buffers.size - reqIn.end) {
        case .bytes(let n):
            reqIn.end += n
            clientBytesIn += n
            if wasEmpty && !requestStarted {
                // The first byte of a request starts its `timeout header`.
                requestStarted = true
                deadline = worker.now + Int64(fe.config.headerTimeoutMs)
            }
            return true
        case .wouldBlock:
            clientReadable = false
            if reqIn.isEmpty { worker.buffers.give(&reqIn) }
            return false
        case .endOfFile:
            clientEOF = true
            return true
        case .failed:
            close()
            return false
        }
    }

    /// 414 when the request line does not fit in the first `limit` bytes, else 431.
    private func oversizeStatus(_ limit: Int) -> Int {
        HeadScanner.oversizeError(UnsafeRawBufferPointer(rebasing: reqIn.bytes.prefix(limit))).status
    }

    /// Parses, validates, routes and rewrites a complete head, then starts the upstream side.
    private func beginRequest(headLength: Int) {
        let fe = worker.frontends[frontend]
        let head: RequestHead
        do {
            head = try RequestParser.parse(reqIn.bytes, headLength: headLength, headers: worker.headers)
        } catch {
            worker.logger.debug("rejected request from \(String(cString: peerText)): \(error.status) \(error.reason)")
            respond(status: error.status)
            return
        }
        requestOpen = true
        requestStartMicros = Clock.nowMicros()
        if worker.accessLogs[frontend] != nil {
            logFields.capture(head, headers: worker.headers, source: reqIn.bytes)
        }
        method = head.method
        clientHTTP10 = head.version == .http10
        upgrade = head.upgradeWebSocket
        reqBody = BodyProgress(head.framing)
        if case .contentLength(let n) = head.framing, fe.config.maxBodySize > 0, n > fe.config.maxBodySize {
            respond(status: 413)
            return
        }
        backend = fe.router.route(head, reqIn.bytes)
        if backend < 0 {
            respond(status: 404)
            return
        }
        worker.buffers.take(&reqOut)
        let listener = worker.listeners[self.listener]
        let context = ForwardContext(peer: peerBytes, port: listener.portText, https: listener.https,
                                     trusted: trusted, upstreamHTTP10: clientHTTP10)
        let out = UnsafeMutableRawBufferPointer(start: reqOut.base, count: worker.buffers.size)
        guard let written = RequestRewriter.write(head, headers: worker.headers, source: reqIn.bytes,
                                                  context: context, into: out) else {
            respond(status: 431)
            return
        }
        reqOut.start = 0
        reqOut.end = written
        reqIn.start += headLength
        scanFrom = 0
        reqReady = 0
        // Validate the body bytes already here before anything is sent upstream.
        guard absorbRequestBody() else { return }
        closeAfterResponse = !head.keepAlive || worker.draining
        respHeadDone = false
        respStarted = false
        respScanFrom = 0
        respBody = BodyProgress()
        tried = .init()
        attempts = 0
        retriedStale = false
        connectUpstream()
    }

    /// Marks request body bytes that arrived in `reqIn` as ready to forward. Returns false when
    /// the body is malformed or too large (the client has been answered).
    func absorbRequestBody() -> Bool {
        guard reqIn.count > reqReady else { return true }
        do {
            reqReady += try reqBody.advance(UnsafeRawBufferPointer(rebasing: reqIn.bytes[reqReady...]))
        } catch {
            respond(status: error.status)
            return false
        }
        let limit = worker.frontends[frontend].config.maxBodySize
        if limit > 0 && reqBody.total > limit {
            respond(status: 413)
            return false
        }
        return true
    }

    /// Reads more request body from the client once the previous bytes went upstream.
    func readRequestBody() -> Bool {
        guard !reqBody.done, reqReady == 0, clientReadable, !clientEOF else { return false }
        worker.buffers.take(&reqIn)
        if reqIn.isEmpty { reqIn.start = 0; reqIn.end = 0 }
        switch readClient(reqIn.base! + reqIn.end, worker.buffers.size - reqIn.end) {
        case .bytes(let n):
            reqIn.end += n
            clientBytesIn += n
            deadline = exchangeDeadline()
            _ = absorbRequestBody()
            return true
        case .wouldBlock:
            clientReadable = false
            return false
        case .endOfFile, .failed:
            // The client went away in the middle of its body: nothing more can be delivered.
            clientEOF = true
            close()
            return false
        }
    }
}
