import EventLoop
import HTTP1
import HTTP2

/// HTTP/2 to clients: the engine (`H2Connection`) frames, decodes and enforces the protocol;
/// each stream becomes one exchange on a pooled HTTP/1.1 upstream connection, with the same
/// parsing, routing, rewriting, retries and accounting as an HTTP/1.1 request.
extension ClientConnection {
    /// The client connection preface (RFC 9113 §3.4).
    static let preface: StaticString = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    /// Whether `input` starts with the preface: `nil` while too few bytes arrived to tell.
    var startsWithPreface: Bool? {
        let bytes = input.bytes
        let n = min(bytes.count, Self.preface.utf8CodeUnitCount)
        for i in 0..<n where bytes[i] != Self.preface.utf8Start[i] { return false }
        return n == Self.preface.utf8CodeUnitCount ? true : nil
    }

    /// From now on the connection speaks HTTP/2 (ALPN `h2`, or the preface on a cleartext port).
    func startHTTP2() {
        h2 = H2Codec(engine: H2Connection(settings: http2Settings, now: loop.now, pool: frontend.http2Pool), now: loop.now)
        wentIdle(h2!)
        if loop.draining { h2!.engine.goAwayGracefully() }
        phase = .http2
        frontend.counters.http2Opened()
    }

    /// A stream's request body waits in one pooled buffer (at least 64 KiB): the stream window
    /// (64 KiB) keeps its payload within it; chunk framing beyond that waits (`streamBody`).
    var http2Settings: H2Settings {
        H2Settings(maxHeaderListSize: frontend.config.maxHeaderSize)
    }

    func stepHTTP2() -> Bool {
        let codec = h2!
        if codec.engine == nil { return stepAsleep(codec) }
        var progressed = false
        if input.isEmpty && endpoint.readable && !endpoint.eof && codec.engine.wantsRead {
            switch loop.read(&endpoint, into: &input) {
            case .bytes(let n):
                frontend.counters.bytesIn(n)
                progressed = true
            case .wouldBlock, .endOfFile:
                break
            case .failed:
                close()
                return false
            }
        }
        if codec.heldInput > 0 {
            if handleEvents(codec) { progressed = true }
        } else if !input.isEmpty {
            let result = codec.engine.receive(input.bytes, now: loop.now)
            switch result {
            case .consumed(let n):
                codec.heldInput = n
                if n > 0 { progressed = true }
            case .fatal:
                codec.heldInput = input.count
                if let why = codec.engine.termination { loop.logger.info("HTTP/2 client \(peer.string): \(why)") }
            }
            handleEvents(codec)
        }
        for i in codec.streams.indices where codec.streams[i].wantsStep && stepStream(codec, &codec.streams[i]) {
            progressed = true
        }
        if produceFrames(codec) { progressed = true }
        if sendToClient() { progressed = true }
        handleEvents(codec)
        if (!codec.engine.wantsRead && !codec.engine.wantsWrite && output.isEmpty) || (endpoint.eof && input.isEmpty) {
            close()
            return false
        }
        if sleepIfIdle(codec) { progressed = true }
        updateDeadline(codec)
        return progressed
    }

    /// Copies the engine's frames into `output` while there is room.
    private func produceFrames(_ codec: H2Codec) -> Bool {
        guard codec.engine.hasOutput else { return false }
        loop.buffers.take(&output)
        output.compact()
        var produced = false
        while codec.engine.hasOutput && output.end < loop.buffers.size {
            let n = codec.engine.produceOutput(into: UnsafeMutableRawBufferPointer(start: output.base! + output.end,
                                                                                    count: loop.buffers.size - output.end))
            if n == 0 { break }
            output.end += n
            produced = true
        }
        if output.isEmpty { loop.buffers.give(&output) }
        return produced
    }

    /// Handles the engine's events in order; stops at a request body that does not fit its
    /// stream's buffer yet (true when it got through them all). The input they came from is let
    /// go only then: their bytes point into it.
    @discardableResult
    private func handleEvents(_ codec: H2Codec) -> Bool {
        while let event = codec.engine.nextEvent() {
            let taken: Bool
            switch event {
            case .request(let r): openStream(codec, r); taken = true
            case .data(let id, let bytes, let end): taken = streamBody(codec, id, bytes: bytes, trailers: nil, end: end)
            case .trailers(let id, let fields): taken = streamBody(codec, id, bytes: nil, trailers: codec.engine.bytes(of: fields), end: true)
            case .bodyTaken(let id): bodyTaken(codec, id); taken = true
            case .reset(let id, _): endStream(codec, id, complete: false); taken = true
            case .closed(let id): endStream(codec, id, complete: true); taken = true
            }
            if !taken {
                codec.engine.unreadEvent()
                return false
            }
        }
        if codec.heldInput > 0 {
            input.start += codec.heldInput
            codec.heldInput = 0
            if input.isEmpty { loop.buffers.give(&input) }
        }
        codec.engine.releaseIdleMemory()
        return true
    }

    // MARK: Streams opening and ending

    private func openStream(_ codec: H2Codec, _ r: H2Request) {
        frontend.counters.http2Stream()
        loop.buffers.take(&codec.scratch)
        let written = codec.engine.writeHead(of: r, into: UnsafeMutableRawBufferPointer(start: codec.scratch.base, count: loop.buffers.size))
        let source = UnsafeRawBufferPointer(start: codec.scratch.base, count: written ?? 0)
        var stream = H2Stream(id: r.stream, exchange: Exchange(.http, request: nil, startMicros: loop.nowMicros),
                              chunked: r.isChunked, deadline: loop.now + Int64(frontend.config.headerTimeoutMs))
        stream.exchange.http2 = true
        if frontend.accessLog != nil {
            stream.logStorage = codec.spareLogStorage.popLast() ?? .allocate(byteCount: RequestLine.storageSize, alignment: 8)
        }
        do throws(HTTPError) {
            // What HTTP/2 let through is checked again as HTTP/1.1, as any request.
            let head = try RequestParser.parse(source, headLength: source.count, headers: loop.headers)
            var e = Exchange(.http, request: RequestFacts(method: head.method, http10: false, upgrade: false, keepAlive: true),
                             startMicros: loop.nowMicros)
            e.http2 = true
            if let storage = stream.logStorage {
                e.logLine = RequestLine(head, headers: loop.headers, source: source, storage: storage, http2: true)
            }
            e.requestBody = BodyProgress(head.framing)
            stream.exchange = e
            codec.streams.append(stream)
            let i = codec.streams.count - 1
            if let status = prepare(&codec.streams[i].exchange, head: head, source: source) {
                answerStream(&codec.streams[i], status: status)
            } else {
                let outcome = codec.streams[i].exchange.acquireUpstream(for: self)
                streamAcquired(&codec.streams[i], outcome)
            }
        } catch {
            loop.logger.debug("rejected HTTP/2 request from \(peer.string): \(error.status) \(error.reason)")
            if let storage = stream.logStorage { stream.exchange.logLine = RequestLine(rejected: source, storage: storage) }
            codec.streams.append(stream)
            answerStream(&codec.streams[codec.streams.count - 1], status: error.status)
        }
        loop.buffers.give(&codec.scratch)
    }

    /// The stream is gone: complete (its response went out whole) or reset (by the client, an
    /// error, or the proxy).
    private func endStream(_ codec: H2Codec, _ id: Int32, complete: Bool) {
        guard let i = codec.index(of: id) else { return }
        finish(&codec.streams[i], complete: complete)
        if let storage = codec.streams[i].logStorage { codec.spareLogStorage.append(storage) }
        let last = codec.streams.removeLast()
        if i < codec.streams.count { codec.streams[i] = last }
        if codec.streams.isEmpty { wentIdle(codec) }
    }

    /// Accounts a stream's exchange and lets go of what it holds.
    private func finish(_ s: inout H2Stream, complete: Bool) {
        var reusable = false
        if complete && s.exchange.hasUpstream {
            s.exchange.server?.recordSuccess(backend: s.exchange.backend!.config.name, logger: loop.logger)
            reusable = s.exchange.upstreamKeepAlive && s.exchange.requestBody.done
                && s.exchange.withUpstream { !$0.endpoint.eof && $0.input.isEmpty } == true
        }
        // 499 as nginx: the client (or the connection) gave up before a response was under way.
        account(s.exchange, status: s.exchange.responseStarted ? s.exchange.status : 499)
        s.exchange.detachUpstream(keep: reusable, loop: loop)
        loop.buffers.give(&s.exchange.requestHead)
        loop.buffers.give(&s.body)
    }

    /// The connection closes: every stream in flight ends with it.
    func closeHTTP2() {
        guard let codec = h2 else { return }
        while var s = codec.streams.popLast() { finish(&s, complete: false) }
        frontend.counters.http2Closed()
        h2 = nil
    }

    // MARK: A stream's request

    /// Request body from DATA frames (or the trailers that end it) goes into the stream's
    /// buffer, chunk-framed when the client sent no content-length; false when it does not fit
    /// until the upstream takes what the buffer holds. The stream window keeps the payload
    /// within the buffer, but not the framing: 1-byte DATA frames grow six-fold.
    private func streamBody(_ codec: H2Codec, _ id: Int32, bytes: UnsafeRawBufferPointer?, trailers: UnsafeRawBufferPointer?, end: Bool) -> Bool {
        guard let i = codec.index(of: id) else { return true }
        return takeBody(codec, &codec.streams[i], bytes: bytes, trailers: trailers, end: end)
    }

    private func takeBody(_ codec: H2Codec, _ s: inout H2Stream, bytes: UnsafeRawBufferPointer?, trailers: UnsafeRawBufferPointer?, end: Bool) -> Bool {
        s.active = true
        let id = s.id
        let payload = bytes?.count ?? 0
        guard !s.exchange.responseStarted else {
            // Answered already (413, an error): the body goes nowhere.
            codec.engine.consumed(stream: id, bytes: payload)
            return true
        }
        loop.buffers.take(&s.body)
        s.body.compact()
        let framing = s.chunked ? ChunkFraming.overhead(payload: payload, end: end, trailers: trailers?.count ?? 0) : 0
        if payload + framing > loop.buffers.size - s.body.end {
            // Wait for room; in an empty buffer a frame always fits (the buffer holds a whole head).
            guard s.body.isEmpty else { return false }
            answerStream(&s, status: 413)
            return true
        }
        var w = UnsafeMutableRawBufferPointer(start: s.body.base! + s.body.end, count: loop.buffers.size - s.body.end)
        var n = 0
        if let bytes, !bytes.isEmpty {
            if s.chunked { n += ChunkFraming.writeChunkHeader(size: bytes.count, into: w)! }
            (w.baseAddress! + n).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            n += bytes.count
            if s.chunked {
                (w.baseAddress! + n).copyMemory(from: ChunkFraming.chunkEnd.baseAddress!, byteCount: ChunkFraming.chunkEnd.count)
                n += ChunkFraming.chunkEnd.count
            }
        }
        if end && s.chunked {
            w = UnsafeMutableRawBufferPointer(rebasing: w[n...])
            n += ChunkFraming.writeLastChunk(trailers: trailers ?? UnsafeRawBufferPointer(start: nil, count: 0), into: w)!
        }
        s.body.end += n
        s.unconsumed += payload
        do {
            try s.exchange.requestBody.absorb(&s.body)
        } catch {
            answerStream(&s, status: error.status)
            return true
        }
        let limit = frontend.config.maxBodySize
        if limit > 0 && s.exchange.requestBody.total > limit { answerStream(&s, status: 413) }
        return true
    }

    // MARK: A stream's exchange

    /// Moves one stream on: its connect, its request to the upstream, the response back. The
    /// stream stays active while it makes progress. Streams are changed in place: an `H2Stream`
    /// is some 500 bytes, and copying it in and out cost 1,500 instructions per request.
    private func stepStream(_ codec: H2Codec, _ s: inout H2Stream) -> Bool {
        s.active = false
        s.exchange.withUpstream { $0.stirred = false }
        let progressed = moveStream(codec, &s)
        if progressed { s.active = true }
        return progressed
    }

    private func moveStream(_ codec: H2Codec, _ s: inout H2Stream) -> Bool {
        guard let (ready, writable) = s.exchange.withUpstream({ ($0.phase == .ready, $0.endpoint.writable) }) else { return false }
        if !ready { return streamAcquired(&s, s.exchange.stepConnect(for: self)) }
        var progressed = false
        if writable && (!s.exchange.requestHead.isEmpty || s.exchange.requestBody.ready > 0) {
            if loop.deferringWrites {
                loop.deferWrite(self)
                s.active = true
            } else {
                switch s.exchange.sendRequest(loop, body: &s.body) {
                case .wrote?:
                    progressed = true
                    if s.body.isEmpty && s.unconsumed > 0 {
                        // Everything the client sent went upstream: it may send as much again.
                        codec.engine.consumed(stream: s.id, bytes: s.unconsumed)
                        s.unconsumed = 0
                    }
                case .failed?:
                    upstreamEnded(&s)
                    return true
                case nil, .blocked?:
                    break
                }
            }
        }
        if receiveStreamResponse(codec, &s) { progressed = true }
        return progressed
    }

    @discardableResult
    private func streamAcquired(_ s: inout H2Stream, _ outcome: Exchange.Acquired) -> Bool {
        switch outcome {
        case .ready:
            s.deadline = deadline(for: s.exchange)
            return true
        case .connecting:
            s.deadline = loop.now + Int64(s.exchange.backend!.config.connectTimeoutMs)
            return true
        case .waiting:
            return false
        case .failed(let status):
            answerStream(&s, status: status)
            return true
        }
    }

    /// Reads the upstream's response once the engine took what was lent before; heads go out as
    /// HEADERS, body bytes are lent to the engine in place.
    private func receiveStreamResponse(_ codec: H2Codec, _ s: inout H2Stream) -> Bool {
        guard s.lent == 0, !s.endSent, s.exchange.hasUpstream else { return false }
        var progressed = false
        var ended = false
        if let result = s.exchange.readResponse(loop) {
            switch result {
            case .bytes: s.deadline = deadline(for: s.exchange); progressed = true
            case .wouldBlock: break
            case .endOfFile, .failed: ended = true
            }
        }
        absorbing: while true {
            switch s.exchange.absorbResponse(loop) {
            case .needMore:
                break absorbing
            case .body:
                progressed = true
            case .head(let head, let length):
                progressed = true
                let cookie = head.isInterim ? nil : s.exchange.stickyCookie
                withOptionalBytes(cookie) {
                    codec.engine.submitResponse(stream: s.id, head: head, headers: loop.headers,
                                                source: s.exchange.withUpstream { $0.input.bytes }!, setCookie: $0)
                }
                s.exchange.took(head: head, length: length, loop: loop, dechunk: true)
            case .malformed(let status):
                answerStream(&s, status: status)
                return true
            case .brokenBody:
                cutStream(&s)
                return true
            }
        }
        if (ended || s.exchange.withUpstream { $0.endpoint.eof } == true) && !(s.exchange.responseHeadDone && s.exchange.responseBody.done) {
            upstreamEnded(&s)
            return true
        }
        if lend(codec, &s) { progressed = true }
        return progressed
    }

    /// Lends the ready response body bytes (and, at its end, its trailers) to the engine.
    private func lend(_ codec: H2Codec, _ s: inout H2Stream) -> Bool {
        guard s.exchange.responseHeadDone, !s.endSent, s.lent == 0,
              let base = s.exchange.withUpstream({ up in up.input.base.map { $0 + up.input.start } }) else { return false }
        let body = s.exchange.responseBody
        guard body.ready > 0 || body.done else { return false }
        let trailers = body.done && body.trailerLength > 0
            ? UnsafeRawBufferPointer(start: base! + body.ready, count: body.trailerLength) : nil
        codec.engine.setBody(stream: s.id, bytes: UnsafeRawBufferPointer(start: base, count: body.ready), endStream: body.done,
                             trailers: trailers)
        s.lent = body.ready + (trailers?.count ?? 0)
        s.endSent = body.done
        return true
    }

    /// The engine copied what was lent: those bytes are done with.
    private func bodyTaken(_ codec: H2Codec, _ id: Int32) {
        guard let i = codec.index(of: id), codec.streams[i].exchange.hasUpstream else { return }
        let lent = codec.streams[i].lent
        codec.streams[i].exchange.withUpstream { up in
            up.input.start += lent
            if up.input.isEmpty { up.input.start = 0; up.input.end = 0 }
        }
        codec.streams[i].exchange.bytesOut += lent
        codec.streams[i].exchange.responseBody.ready = 0
        codec.streams[i].lent = 0
        codec.streams[i].active = true
    }

    private func upstreamEnded(_ s: inout H2Stream) {
        switch s.exchange.upstreamEnded(for: self) {
        case .retrying(let outcome): streamAcquired(&s, outcome)
        case .complete: break
        case .failed(let status): answerStream(&s, status: status)
        case .truncated: cutStream(&s)
        }
    }

    /// Answers a stream with the proxy's own response (or resets it when its response had
    /// begun); the upstream connection, if any, is closed.
    private func answerStream(_ s: inout H2Stream, status: Int) {
        s.exchange.detachUpstream(keep: false, loop: loop)
        loop.buffers.give(&s.exchange.requestHead)
        guard !s.exchange.responseStarted else {
            cutStream(&s)
            return
        }
        s.exchange.responseStarted = true
        s.exchange.status = status
        s.endSent = true
        s.deadline = .max  // the connection's `timeout send` bounds the rest
        h2!.engine.answer(stream: s.id, status: status)
    }

    /// The response cannot be completed: the stream is reset (its `.reset` ends it).
    private func cutStream(_ s: inout H2Stream) {
        s.exchange.detachUpstream(keep: false, loop: loop)
        s.endSent = true
        s.deadline = .max
        h2!.engine.resetStream(stream: s.id, code: .internalError)
    }

    // MARK: Time

    /// The connection's deadline: the earliest of its streams', else `timeout idle` since the
    /// last stream ended, or `timeout send` while the client does not take its frames.
    private func updateDeadline(_ codec: H2Codec) {
        var next = codec.streams.isEmpty ? idleDeadline(codec) : Int64.max
        if codec.engine == nil {
            deadline = next
            return
        }
        if codec.streams.isEmpty { next = min(next, codec.sleepAt) }
        for s in codec.streams { next = min(next, s.deadline) }
        if !output.isEmpty || codec.engine.isBlockedOnPeerWindow {
            codec.stalledSince = min(codec.stalledSince, loop.now)
            next = min(next, codec.stalledSince + Int64(frontend.config.sendTimeoutMs))
        } else {
            codec.stalledSince = .max
        }
        deadline = next
    }

    func idleDeadline(_ codec: H2Codec) -> Int64 {
        codec.idleSince + Int64(frontend.config.idleTimeoutMs)
    }

    func http2TimedOut() {
        let codec = h2!
        if codec.stalledSince != .max && loop.now >= codec.stalledSince + Int64(frontend.config.sendTimeoutMs) {
            loop.logger.debug("HTTP/2 client \(peer.string) took no data for timeout send")
            close()
            return
        }
        if codec.streams.isEmpty && loop.now >= idleDeadline(codec) {
            guard wake(codec) else { return }
            codec.engine.goAwayGracefully()
            codec.idleSince = .max / 2
        }
        guard codec.engine != nil else { return }
        for i in codec.streams.indices where codec.streams[i].deadline <= loop.now {
            expireStream(&codec.streams[i])
        }
    }

    private func expireStream(_ s: inout H2Stream) {
        switch expire(&s.exchange) {
        case .acquired(let outcome): streamAcquired(&s, outcome)
        case .cut: cutStream(&s)
        case .answer(let status): answerStream(&s, status: status)
        }
        if s.deadline <= loop.now { s.deadline = .max }
        s.active = true
    }
}
