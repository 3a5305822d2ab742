import CLinux
import EventLoop
import Glibc
import TLS

extension Session {
    /// Picks a server and gets a connection to it: an idle pooled one, or a new connect.
    /// A connect that fails at once is retried on another server up to `retries`.
    func connectUpstream() {
        let b = worker.backends[backend]
        while true {
            guard let s = b.pick(tried: tried, now: worker.now) else {
                respond(status: attempts == 0 && !b.anyUp(now: worker.now) ? 503 : 502)
                return
            }
            tried.insert(s)
            attempts += 1
            server = s
            let srv = b.servers[s]
            // After a stale pooled connection, the one retry goes to a new connection.
            if !isTCP, !retriedStale, let idle = srv.idle.popLast() {
                attachUpstream(idle.fd, reused: true)
                upstreamTLS = idle.tls
                upstreamWritable = true  // idle sockets stay writable; no new edge will say so
                enterExchange()
                return
            }
            switch Socket.connect(srv.address) {
            case .connected(let fd):
                attachUpstream(fd, reused: false)
                upstreamWritable = true
                state = .connecting
                deadline = worker.now + Int64(b.config.connectTimeoutMs)
                return
            case .inProgress(let fd):
                attachUpstream(fd, reused: false)
                state = .connecting
                deadline = worker.now + Int64(b.config.connectTimeoutMs)
                return
            case .failed(let e):
                worker.logger.warn("connect to \(srv.name) failed: \(Syscall.errorString(e))")
                recordUpstreamFailure()
                if attempts > b.config.retries {
                    respond(status: 502)
                    return
                }
            }
        }
    }

    /// A non-blocking connect in progress (writable or an error means it finished), then the
    /// TLS handshake for a `tls` server. Both are bounded by `timeout connect`.
    func stepConnecting() -> Bool {
        guard upstreamWritable || upstreamReadable else { return false }
        if !upstreamHandshaking {
            let err = Socket.pendingError(upstreamFD)
            if err != 0 {
                worker.logger.warn("connect to \(serverName) failed: \(Syscall.errorString(err))")
                connectFailed()
                return true
            }
            guard let context = worker.backends[backend].servers[server].tls else {
                enterExchange()
                return true
            }
            guard let tls = TLSConnection.connect(fd: upstreamFD, context: context) else {
                worker.logger.warn("TLS to \(serverName): cannot create a session")
                connectFailed()
                return true
            }
            upstreamTLS = tls
            upstreamHandshaking = true
        }
        switch upstreamTLS!.handshake() {
        case .done:
            upstreamHandshaking = false
            enterExchange()
            return true
        case .wantRead:
            upstreamReadable = false
            upstreamWritable = false
            return false
        case .wantWrite:
            upstreamWritable = false
            return false
        case .failed:
            worker.logger.warn("TLS handshake with \(serverName) failed")
            connectFailed()
            return true
        }
    }

    func connectFailed() {
        detachUpstream(keep: false)
        recordUpstreamFailure()
        if attempts > worker.backends[backend].config.retries {
            respond(status: 502)
        } else {
            connectUpstream()
        }
    }

    func enterExchange() {
        state = isTCP ? .tunnel : .exchange
        deadline = isTCP ? worker.now + Int64(worker.frontends[frontend].config.idleTimeoutMs) : exchangeDeadline()
    }

    func attachUpstream(_ fd: Int32, reused: Bool) {
        upstreamFD = fd
        upstreamReused = reused
        upstreamReadable = false
        upstreamWritable = false
        upstreamEOF = false
        upstreamShut = false
        upstreamKeepAlive = false
        if reused {
            worker.fds.reassign(fd, role: .upstream, owner: id)
        } else {
            worker.register(fd, role: .upstream, owner: id)
        }
        worker.backends[backend].servers[server].counters.requestStarted()
        upstreamStartMicros = Clock.nowMicros()
    }

    /// Gives the upstream connection back to the server's idle pool, or closes it.
    func detachUpstream(keep: Bool) {
        let srv = worker.backends[backend].servers[server]
        srv.counters.requestFinished()
        let fd = upstreamFD
        let tls = upstreamTLS
        upstreamFD = -1
        upstreamTLS = nil
        upstreamHandshaking = false
        if keep && srv.idle.count < worker.backends[backend].config.keepalive {
            worker.fds.reassign(fd, role: .idleUpstream, owner: Int32(backend << 16 | server))
            srv.idle.append(UpstreamServer.IdleConnection(fd: fd, tls: tls))
        } else {
            if let tls {
                tls.shutdown()
                tls.free()
            }
            worker.closeFD(fd)
        }
    }

    func recordUpstreamFailure() {
        let srv = worker.backends[backend].servers[server]
        if srv.recordFailure(now: worker.now) {
            worker.logger.warn("server \(srv.name) of backend \(worker.backends[backend].config.name) marked down for \(srv.config.failTimeoutMs) ms after \(srv.config.maxFails) failure(s)")
        }
    }

    /// The upstream connection broke while we were writing the request.
    func upstreamWriteFailed() {
        upstreamEOF = true
        if state == .tunnel { close() } else { upstreamEnded() }
    }
}
