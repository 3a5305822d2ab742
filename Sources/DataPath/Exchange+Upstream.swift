import EventLoop
import HTTP1
import TLS

/// Getting an upstream connection for an exchange: pick a server, take an idle pooled
/// connection or connect (then TLS for a `tls` server), retry on another server when a connect
/// fails, give the connection back when the exchange is done with it.
extension Exchange {
    enum Acquired {
        /// A connection is ready for the request.
        case ready
        /// A new connect started: `timeout connect` runs from now.
        case connecting
        /// The connect (or its TLS handshake) is still under way.
        case waiting
        /// No server could be tried: answer the client with this status (502 or 503).
        case failed(status: Int)
    }

    /// Picks a server and gets a connection to it. A connect that fails at once is retried on
    /// another server up to `retries`.
    mutating func acquireUpstream(for client: ClientConnection) -> Acquired {
        let loop = client.loop
        let b = backend!
        while true {
            let sticky = stickyServer.flatMap { b.stickyPick($0, tried: tried, now: loop.now) }
            guard let i = sticky ?? b.pick(tried: tried, now: loop.now, keyHash: keyHash) else {
                return .failed(status: attempts == 0 && !b.anyUp(now: loop.now) ? 503 : 502)
            }
            tried.insert(i)
            attempts += 1
            let srv = b.servers[i]
            server = srv
            serverIndex = i
            // After a stale pooled connection, the one retry goes to a new connection.
            if kind == .http, !retriedStale, let idle = loop.upstreams.takeIdle(srv, for: client) {
                attach(idle, reused: true, loop: loop)
                return .ready
            }
            switch loop.upstreams.connect(to: srv, for: client) {
            case .connection(let connection):
                attach(connection, reused: false, loop: loop)
                return .connecting
            case .failed(let e):
                loop.logger.warn("connect to \(srv.name) failed: \(Syscall.errorString(e))")
                recordUpstreamFailure(loop)
                if attempts > b.config.retries { return .failed(status: 502) }
            }
        }
    }

    /// A connect in progress (writable or an error means it finished), then the TLS handshake
    /// for a `tls` server. Both are bounded by `timeout connect` (the caller's deadline).
    mutating func stepConnect(for client: ClientConnection) -> Acquired {
        let loop = client.loop
        let up = upstream!
        switch up.phase {
        case .ready:
            return .ready
        case .connecting:
            guard up.endpoint.writable || up.endpoint.readable else { return .waiting }
            let err = Socket.pendingError(up.endpoint.fd)
            if err != 0 {
                loop.logger.warn("connect to \(serverName) failed: \(Syscall.errorString(err))")
                return connectFailed(for: client)
            }
            if let version = up.server.config.sendProxy, !sendProxyHeader(version, on: up, for: client) {
                loop.logger.warn("cannot send the PROXY protocol header to \(serverName)")
                return connectFailed(for: client)
            }
            guard let context = up.server.tls else {
                up.phase = .ready
                return .ready
            }
            guard let tls = TLSConnection.connect(fd: up.endpoint.fd, context: context) else {
                loop.logger.warn("TLS to \(serverName): cannot create a session")
                return connectFailed(for: client)
            }
            up.endpoint.startTLS(tls)
            up.phase = .handshaking
            return stepConnect(for: client)
        case .handshaking:
            guard up.endpoint.canHandshake else { return .waiting }
            switch up.endpoint.handshake() {
            case .done:
                up.phase = .ready
                return .ready
            case .wantRead, .wantWrite:
                return .waiting
            case .failed:
                loop.logger.warn("TLS handshake with \(serverName) failed")
                return connectFailed(for: client)
            }
        }
    }

    /// The connect (or its TLS handshake) failed or timed out: counts it against the server and
    /// tries another one within `retries`.
    mutating func connectFailed(for client: ClientConnection) -> Acquired {
        detachUpstream(keep: false, loop: client.loop)
        recordUpstreamFailure(client.loop)
        if attempts > backend!.config.retries { return .failed(status: 502) }
        return acquireUpstream(for: client)
    }

    private mutating func attach(_ connection: UpstreamConnection, reused: Bool, loop: Loop) {
        upstream = connection
        upstreamReused = reused
        upstreamKeepAlive = false
        connection.server.requestStarted()
        upstreamStartMicros = loop.nowMicros
    }

    /// Gives the upstream connection back to its server's idle pool, or closes it.
    mutating func detachUpstream(keep: Bool, loop: Loop) {
        guard let up = upstream else { return }
        up.server.requestFinished()
        upstream = nil
        loop.upstreams.release(up, keep: keep, poolSize: backend!.config.keepalive)
    }

    mutating func recordUpstreamFailure(_ loop: Loop) {
        guard let srv = server else { return }
        if srv.recordFailure(now: loop.now) {
            loop.logger.warn("server \(srv.name) of backend \(backend!.config.name) marked down for \(srv.config.failTimeoutMs) ms after \(srv.config.maxFails) failure(s)")
        }
    }
}
