import EventLoop
import HTTP1
import ProxyProtocol
import TLS

/// One client connection: its endpoint, the frontend and listener it came through, the bytes
/// in both directions, and the exchange in flight. HTTP/1.1 runs one exchange at a time
/// (pipelined requests wait in `input`); `mode tcp` runs one tunnel exchange for the whole
/// connection.
///
/// Bytes flow through pooled buffers: `input` holds client bytes (request heads are rewritten
/// into the exchange's `requestHead`; bodies are forwarded from `input` itself), `output` holds
/// what the proxy writes ahead of any body (rewritten response heads, its own answers), and
/// response bodies go to the client straight from the upstream connection's input. A side is
/// read again only once what was read from it has been written, which is the backpressure.
final class ClientConnection {
    enum Phase { case proxyHeader, handshake, waiting, exchange, tunnel, http2, closing, closed }

    let id: Int32
    // Strong references on purpose: passing an `unowned(unsafe)` property on costs a retain and
    // a release each time, a strong `let` nothing. The worker's table lets the connection go
    // when it closes, so no cycle outlives it.
    let loop: Loop
    let runtime: Runtime
    let frontend: Frontend
    let listener: Listener
    /// The client: the connection's peer, or the source a PROXY protocol header names (kept as
    /// the header's compact value: a sockaddr_storage is 128 bytes per connection).
    var peerAddress: ProxyAddress
    var peer: AddressText
    var trusted: Bool
    /// The address the client connected to, when a PROXY protocol header named it (else the
    /// socket's own, read when needed).
    var proxiedDestination: ProxyAddress?
    var endpoint: Endpoint
    var phase: Phase
    var deadline: Int64
    /// Queued in the loop's list of connections to drive after the current batch of events.
    var writeDeferred = false
    var input = Buffer()
    var output = Buffer()
    /// The exchange in flight (HTTP/1.1, or the tunnel of `mode tcp`).
    var exchange: Exchange?
    /// The streams and engine, once the connection speaks HTTP/2.
    var h2: H2Codec?
    /// No request came yet: the HTTP/2 preface may still open the connection.
    var fresh = true
    /// The first byte of the next request head has arrived: its `timeout header` runs.
    var headStarted = false
    var scanFrom = 0
    /// The first byte on a TLS listener was checked to open a TLS record.
    private var sniffed = false
    /// Where this connection's access-log fields are copied; nil when its frontend does not log.
    let logStorage: UnsafeMutableRawPointer?

    init(id: Int32, fd: Int32, listener: Listener, peer: SocketAddress, runtime: Runtime, loop: Loop) {
        self.id = id
        self.loop = loop
        self.runtime = runtime
        self.listener = listener
        let fe = runtime.frontends[listener.frontend]
        frontend = fe
        peerAddress = peer.proxyAddress
        self.peer = AddressText(peer)
        trusted = fe.trusts(peer)
        endpoint = Endpoint(fd: fd, writable: true)
        logStorage = fe.accessLog == nil ? nil : .allocate(byteCount: RequestLine.storageSize, alignment: 8)
        phase = listener.address.proxyProtocol ? .proxyHeader : .handshake
        // The PROXY header, the TLS handshake and the first request head are bounded by
        // `timeout header`; a `mode tcp` connection without TLS starts its tunnel at once.
        deadline = loop.now + Int64(fe.config.headerTimeoutMs)
    }

    deinit { logStorage?.deallocate() }

    /// Starts serving: the PROXY protocol header on such a listener, TLS on a TLS listener, then
    /// requests (or the tunnel).
    func start() {
        loop.register(endpoint.fd, role: .client, owner: id)
        frontend.counters.connectionOpened()
        if phase == .handshake { startTLS() }
        drive()
    }

    /// Creates the TLS session on a TLS listener (its handshake is the next step).
    func startTLS() {
        guard listener.https, let context = frontend.tls else { return }
        guard let tls = TLSConnection.accept(fd: endpoint.fd, context: context) else {
            loop.logger.error("cannot create a TLS session for \(peer.string)")
            close()
            return
        }
        endpoint.startTLS(tls)
    }

    /// Runs the connection until no more progress can be made without new readiness.
    func drive() {
        while true {
            let progressed: Bool
            switch phase {
            case .closed: return
            case .proxyHeader: progressed = stepProxyHeader()
            case .handshake: progressed = stepHandshake()
            case .waiting: progressed = stepWaiting()
            case .exchange: progressed = stepExchange()
            case .tunnel: progressed = stepTunnel()
            case .http2: progressed = stepHTTP2()
            case .closing: progressed = stepClosing()
            }
            if !progressed { return }
        }
    }

    /// The TLS handshake (bounded by `timeout header`), then the first request or the tunnel.
    private func stepHandshake() -> Bool {
        if endpoint.tls != nil && !sniffed {
            guard endpoint.readable else { return false }
            switch endpoint.sniffFirstByte() {
            case .tls:
                sniffed = true
            case .plain:
                plainTextOnTLSListener()
                return true
            case .notYet:
                return false
            case .closed:
                close()
                return false
            }
        }
        guard endpoint.canHandshake else { return false }
        switch endpoint.handshake() {
        case .done:
            if frontend.isTCP {
                startTunnelExchange()
            } else if endpoint.tls?.negotiatedH2 == true {
                startHTTP2()
            } else {
                phase = .waiting
            }
            return true
        case .wantRead, .wantWrite:
            return false
        case .failed:
            loop.logger.debug("TLS handshake with \(peer.string) failed")
            close()
            return false
        }
    }

    /// A client speaking plain text to a TLS listener: an HTTP one is told so in plain text (as
    /// nginx's 497 page, with status 400); a `mode tcp` one is closed.
    private func plainTextOnTLSListener() {
        endpoint.dropTLS()
        guard !frontend.isTCP else {
            close()
            return
        }
        _ = loop.read(&endpoint, into: &input)
        reject(status: 400, answer: CannedResponse.tlsRequired)
    }

    /// The worker begins to drain: the exchange in flight is the last one (HTTP/1.1), or the
    /// client is told with GOAWAY which streams will still be served (HTTP/2).
    func beginDrain() {
        exchange?.closeAfterResponse = true
        if let codec = h2, wake(codec) {
            codec.engine.goAwayGracefully()
            drive()
        }
    }

    /// Called by the worker's deadline sweep.
    func timedOut() {
        switch phase {
        case .closed:
            return
        case .proxyHeader, .handshake:
            close()
        case .waiting:
            if headStarted || !input.isEmpty { reject(status: 408) } else { close() }
        case .exchange:
            exchangeTimedOut()
        case .http2:
            http2TimedOut()
        case .tunnel, .closing:
            close()
        }
        drive()
    }

    /// Closes everything this connection holds and leaves the worker's table.
    func close() {
        guard phase != .closed else { return }
        closeHTTP2()
        if var e = exchange {
            exchange = nil
            // 499 as nginx: the client went away before a response head was sent.
            if e.kind == .http { account(e, status: e.responseStarted ? e.status : 499) }
            e.detachUpstream(keep: false, loop: loop)
            loop.buffers.give(&e.requestHead)
        }
        loop.buffers.give(&input)
        loop.buffers.give(&output)
        loop.close(endpoint.release())
        phase = .closed
        frontend.counters.connectionClosed()
        loop.workerCounters.connectionClosed()
        loop.clients.remove(self)
    }
}
