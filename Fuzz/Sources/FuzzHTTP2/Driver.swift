import FuzzSupport
import HTTP1
import HTTP2

/// The data path's side of one connection: feeds the client's bytes, handles every event, answers
/// requests and collects the output, checking as it goes.
final class Driver {
    private(set) var connection: H2Connection
    let settings: H2Settings
    let control: Control
    var now: Int64 = 0
    var streams = StreamLog()
    var output = OutputLog()
    var requests = 0
    /// Request body bytes not handed back yet, per stream (with consumeHalf).
    var owed: [Int32: Int] = [:]
    /// The response each answered stream got, and whether its last piece went out.
    var answered: [Int32: (variant: Int, finished: Bool)] = [:]
    let table = HeaderTable(capacity: 128)
    let headBuffer: UnsafeMutableRawBufferPointer

    init(settings: H2Settings, control: Control) {
        self.settings = settings
        self.control = control
        connection = H2Connection(settings: settings, now: 0)
        headBuffer = .allocate(byteCount: settings.maxHeaderListSize, alignment: 1)
    }

    deinit {
        headBuffer.deallocate()
    }

    /// Still reading: the connection has not ended.
    var open = true

    func receive(_ piece: UnsafeRawBufferPointer) {
        var offset = 0
        repeat {
            let result = connection.receive(UnsafeRawBufferPointer(rebasing: piece[offset...]), now: now)
            drain()
            switch result {
            case .fatal:
                require(connection.termination != nil, "fatal without a termination")
                open = false
                flush()
                return
            case .consumed(let n):
                require(n >= 0 && n <= piece.count - offset, "consumed \(n) of \(piece.count - offset)")
                require(n > 0 || offset == piece.count, "receive made no progress with its events drained")
                offset += n
            }
        } while offset < piece.count
        flush()
    }

    /// Writes out everything, as the data path does after each read.
    func flush() {
        var rounds = 0
        while connection.hasOutput && rounds < 10_000 {
            let capacity = 1 + Int(UInt(bitPattern: output.bytes.count &* 2_654_435_761) % 4096)
            let n = withUnsafeTemporaryAllocation(byteCount: capacity, alignment: 1) { buffer in
                let n = connection.produceOutput(into: buffer)
                require(n >= 0 && n <= capacity, "produceOutput returned \(n) for \(capacity) bytes")
                output.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                return n
            }
            drain()
            if n == 0 { break }
            rounds += 1
        }
    }

    /// Time passed: an idle engine sleeps and a new one built from its state takes over, as in
    /// sluice's data path; what sleeping queues first (SETTINGS, WINDOW_UPDATE) goes out.
    func sleepIfIdle() {
        flush()
        guard case .asleep(let state) = connection.sleep() else {
            flush()
            return
        }
        let woken = H2Connection(waking: state, settings: settings, now: now, pool: nil)
        require(woken != nil, "a sleeping connection could not be woken")
        connection = woken!
    }

    func finish() {
        flush()
        output.finish(termination: connection.termination)
        if let t = connection.termination, t.limit != nil {
            require(t.code == .enhanceYourCalm, "a budget ended the connection with \(t.code)")
        }
        if !open {
            require(connection.receive(UnsafeRawBufferPointer(start: nil, count: 0), now: now) == .fatal, "input after fatal")
        }
    }

    private func drain() {
        while let event = connection.nextEvent() {
            streams.record(event)
            handle(event)
        }
    }

    private func handle(_ event: H2Event) {
        switch event {
        case .request(let r):
            requests += 1
            checkHead(r)
            if control.goAwayAfterFirst && requests == 1 { connection.goAwayGracefully() }
            if control.resetSome && requests % 3 == 0 {
                _ = connection.resetStream(stream: r.stream, code: .cancel)
            } else if control.respond {
                Upstream.answer(connection, r.stream, variant: requests)
                answered[r.stream] = (requests, false)
            }
        case .data(let s, let bytes, let end):
            // With consumeHalf, half of each payload is handed back one DATA frame late.
            let give = control.consumeHalf && !end ? bytes.count / 2 : bytes.count
            connection.consumed(stream: s, bytes: (owed[s] ?? 0) + give)
            owed[s] = bytes.count - give
        case .trailers(_, let fields):
            checkTrailerLines(connection.bytes(of: fields))
        case .bodyTaken(let s):
            guard let a = answered[s] else { return require(false, ".bodyTaken for a stream without a body") }
            if !a.finished {
                Upstream.more(connection, s, variant: a.variant)
                answered[s] = (a.variant, true)
            }
        case .reset(let s, _), .closed(let s):
            owed[s] = nil
            answered[s] = nil
        }
    }

    /// The head writes exactly `headLength` bytes, within the header list limit, with HTTP/1.1
    /// syntax; RequestParser accepts it or refuses it only as it would an HTTP/1.1 client.
    private func checkHead(_ r: H2Request) {
        require(r.headLength <= settings.maxHeaderListSize, "head of \(r.headLength) bytes")
        require(connection.writeHead(of: r, into: UnsafeMutableRawBufferPointer(rebasing: headBuffer[0..<(r.headLength - 1)])) == nil,
                "writeHead fit in fewer than headLength bytes")
        guard let n = connection.writeHead(of: r, into: headBuffer) else { return require(false, "writeHead failed") }
        require(n == r.headLength, "writeHead wrote \(n), headLength \(r.headLength)")
        let head = UnsafeRawBufferPointer(rebasing: headBuffer[0..<n])
        let fields = rawFields(head)
        require(fields.count(named: "host") == 1, "not one Host")
        require(fields.count(named: "cookie") <= 1, "cookies not joined")
        require(fields.count(named: "content-length") + fields.count(named: "transfer-encoding") <= 1, "two framings")
        require(r.isChunked == (fields.count(named: "transfer-encoding") == 1), "chunked flag and head disagree")
        for name in ["connection", "keep-alive", "proxy-connection", "upgrade", "te"] {
            require(fields.count(named: name) == 0, "connection-specific \(name) in the head")
        }
        do {
            let parsed = try RequestParser.parse(head, headLength: n, headers: table)
            require(parsed.version == .http11 && parsed.keepAlive, "not a keep-alive HTTP/1.1 request")
            switch parsed.framing {
            case .none: require(!r.hasBody || r.contentLength == 0, "body lost its framing")
            case .contentLength(let length): require(length == r.contentLength, "content-length \(length) vs \(r.contentLength)")
            case .chunked: require(r.isChunked, "chunked without a body")
            case .untilClose: require(false, "request framed until close")
            }
        } catch {
            // What HTTP/2 allows and HTTP/1.1 does not is refused as it is over HTTP/1.1.
            let allowed: [StaticString] = ["invalid host", "connect not supported", "invalid request target", "unsupported expectation"]
            require(allowed.contains { $0.description == error.reason.description }, "RequestParser refused the head: \(error)")
        }
    }

    /// Trailer lines are HTTP/1.1 field lines without framing or connection-specific fields.
    private func checkTrailerLines(_ lines: UnsafeRawBufferPointer) {
        let section = Array("X / HTTP/1.1\r\n".utf8) + lines + [13, 10]
        let fields = section.withUnsafeBytes { rawFields($0) }
        for name in ["content-length", "host", "te", "transfer-encoding", "connection"] {
            require(fields.count(named: name) == 0, "\(name) in trailers")
        }
    }
}
