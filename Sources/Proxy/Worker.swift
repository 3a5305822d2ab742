import CLinux
import Config
import EventLoop
import Glibc
import HTTP1
import Stats
import TLS

/// One event loop over the shared listeners: accepts clients, drives sessions, enforces
/// deadlines. Single-threaded; a process runs exactly one.
public final class Worker {
    let epoll: Epoll
    let logger: Logger
    var fds = FDTable()
    let listeners: [Listener]
    let frontends: [Frontend]
    let backends: [Backend]
    let buffers: BufferPool
    let counters: WorkerCounters
    /// Access logs by frontend index (nil where `access_log off`).
    let accessLogs: [AccessLog?]
    let logClock = LogClock()
    /// Where a small response head and body are joined into one TLS record.
    let tlsScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 16)
    /// Parsed header offsets, reused by every head this worker parses.
    let headers = HeaderTable(capacity: 128)
    private var sessions: [Session] = []
    /// While a batch of events is being dispatched, writes are held back and the sessions that
    /// want to write are driven once the batch is done. A write wakes the peer (client or
    /// upstream), which on a busy core preempts this worker: writing after the whole batch keeps
    /// the batch together (measured: 6x fewer involuntary context switches under wrk).
    private(set) var deferWrites = false
    private var deferred: [Int32] = []
    private var freeSessions: [Int32] = []
    private let maxConnections: Int
    private let drainTimeoutMs: Int64

    var now: Int64 = Clock.nowMs()
    private(set) var clients = 0
    private var acceptPaused = false
    private var acceptRetryAt: Int64 = 0
    private var lastAcceptErrorLog: Int64 = 0
    private(set) var draining = false
    private var drainDeadline: Int64 = 0
    private var stopNow = false
    private var nextSweep: Int64 = 0
    private var signalFD: Int32 = -1
    private var listenersClosed = false

    static let clientEvents = SL_EPOLLIN | SL_EPOLLOUT | SL_EPOLLRDHUP | SL_EPOLLET

    init(runtime: Runtime, logger: Logger, counters: WorkerCounters) throws(ProxyError) {
        do { epoll = try Epoll(capacity: 512) } catch { throw ProxyError(error.description) }
        self.logger = logger
        self.counters = counters
        accessLogs = runtime.frontends.map { fe in
            fe.config.accessLog.target.map { AccessLog(target: $0, format: fe.config.accessLog.format, logger: logger) }
        }
        listeners = runtime.listeners
        frontends = runtime.frontends
        backends = runtime.backends
        buffers = BufferPool(size: runtime.bufferSize)
        maxConnections = runtime.config.maxConnections
        drainTimeoutMs = Int64(runtime.config.drainTimeoutMs)
        for (i, l) in listeners.enumerated() {
            let token = fds.claim(l.fd, role: .listener, owner: Int32(i))
            do { try epoll.add(l.fd, events: SL_EPOLLIN | SL_EPOLLEXCLUSIVE, token: token) } catch { throw ProxyError(error.description) }
        }
    }

    /// Watches a signalfd in the loop (the signals must already be blocked).
    func watchSignals(_ fd: Int32) throws(ProxyError) {
        signalFD = fd
        let token = fds.claim(fd, role: .signal, owner: 0)
        do { try epoll.add(fd, events: SL_EPOLLIN, token: token) } catch { throw ProxyError(error.description) }
    }

    /// Runs until stopped; returns the process exit status.
    func run() -> Int32 {
        while !stopNow {
            let n = epoll.wait(timeoutMs: 100)
            now = Clock.nowMs()
            deferWrites = true
            for i in 0..<n {
                let (mask, token) = epoll.event(i)
                dispatch(mask, token)
            }
            deferWrites = false
            for id in deferred {
                let s = sessions[Int(id)]
                s.writeDeferred = false
                s.drive()
            }
            deferred.removeAll(keepingCapacity: true)
            if now >= nextSweep {
                sweep()
                nextSweep = now + 100
            }
            if draining && (clients == 0 || now >= drainDeadline) { break }
        }
        if clients > 0 { logger.warn("worker \(getpid()) stopping with \(clients) connection(s) still open") }
        for log in accessLogs { log?.flush() }
        return 0
    }

    @inline(__always)
    private func dispatch(_ mask: UInt32, _ token: UInt64) {
        guard let (fd, slot) = fds.matches(token) else { return }
        switch slot.role {
        case .client:
            let s = sessions[Int(slot.owner)]
            if s.clientTLS != nil {
                // TLS reads may wait for writability and writes for readability: any readiness
                // lets both be tried again.
                s.clientReadable = true
                s.clientWritable = true
            } else {
                if mask & (SL_EPOLLIN | SL_EPOLLRDHUP | SL_EPOLLHUP | SL_EPOLLERR) != 0 { s.clientReadable = true }
                if mask & (SL_EPOLLOUT | SL_EPOLLHUP | SL_EPOLLERR) != 0 { s.clientWritable = true }
            }
            s.drive()
        case .upstream:
            let s = sessions[Int(slot.owner)]
            if s.upstreamTLS != nil {
                s.upstreamReadable = true
                s.upstreamWritable = true
            } else {
                if mask & (SL_EPOLLIN | SL_EPOLLRDHUP | SL_EPOLLHUP | SL_EPOLLERR) != 0 { s.upstreamReadable = true }
                if mask & (SL_EPOLLOUT | SL_EPOLLHUP | SL_EPOLLERR) != 0 { s.upstreamWritable = true }
            }
            s.drive()
        case .idleUpstream:
            // Anything but writability on an idle upstream connection means it is finished.
            if mask & (SL_EPOLLIN | SL_EPOLLRDHUP | SL_EPOLLHUP | SL_EPOLLERR) != 0 {
                dropIdle(fd, owner: slot.owner)
            }
        case .listener:
            accept(from: Int(slot.owner))
        case .signal:
            readSignals()
        case .free:
            break
        }
    }

    // MARK: Clients

    private func accept(from index: Int) {
        let listener = listeners[index]
        for _ in 0..<64 {
            if clients >= maxConnections {
                pauseAccepting(retryAfterMs: nil)
                return
            }
            var peer = SocketAddress()
            switch Syscall.accept(listener.fd, into: &peer) {
            case .bytes(let fd):
                startSession(Int32(fd), listener: index, peer: peer)
            case .wouldBlock, .endOfFile:
                return
            case .failed(let e):
                if e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM {
                    if now - lastAcceptErrorLog >= 1000 {
                        logger.error("accept on \(listener.address.description): \(Syscall.errorString(e)); pausing accepts")
                        lastAcceptErrorLog = now
                    }
                    pauseAccepting(retryAfterMs: 100)
                }
                return
            }
        }
    }

    private func startSession(_ fd: Int32, listener index: Int, peer: SocketAddress) {
        Socket.setNoDelay(fd)
        let s: Session
        if let id = freeSessions.popLast() {
            s = sessions[Int(id)]
        } else {
            s = Session(worker: self, id: Int32(sessions.count))
            sessions.append(s)
        }
        let listener = listeners[index]
        let fe = frontends[listener.frontend]
        s.frontend = listener.frontend
        s.listener = index
        s.isTCP = fe.isTCP
        s.trusted = fe.trusts(peer)
        s.peerLength = peer.formatHost(into: s.peerText, capacity: 64)
        s.clientFD = fd
        s.clientReadable = false
        s.clientWritable = true
        s.clientEOF = false
        s.clientShut = false
        s.requestStarted = false
        s.closeAfterResponse = false
        s.respStarted = false
        s.respHeadDone = false
        s.respSaidClose = false
        s.scanFrom = 0
        s.backend = -1
        s.server = -1
        register(fd, role: .client, owner: s.id)
        clients += 1
        fe.counters.connectionOpened()
        counters.connectionOpened()
        if fe.isTCP {
            s.state = .connecting
            s.backend = fe.router.defaultBackend
            s.tried = .init()
            s.attempts = 0
            s.connectUpstream()
            s.drive()
        } else {
            s.deadline = now + Int64(fe.config.headerTimeoutMs)
            if listener.https, let context = fe.tls {
                s.clientTLS = TLSConnection.accept(fd: fd, context: context)
                s.state = s.clientTLS == nil ? .head : .handshake
                if s.clientTLS == nil {
                    logger.error("cannot create a TLS session for \(String(cString: s.peerText))")
                    s.close()
                }
            } else {
                s.state = .head
            }
        }
    }

    /// Remembers a session whose pending bytes will be written after the current batch.
    @inline(__always)
    func deferWrite(_ s: Session) {
        if !s.writeDeferred {
            s.writeDeferred = true
            deferred.append(s.id)
        }
    }

    func closeClient(_ s: Session) {
        closeFD(s.clientFD)
        s.clientFD = -1
        clients -= 1
        frontends[s.frontend].counters.connectionClosed()
        counters.connectionClosed()
        freeSessions.append(s.id)
        if acceptPaused && acceptRetryAt == 0 && clients < maxConnections { resumeAccepting() }
    }

    // MARK: Descriptors

    func register(_ fd: Int32, role: FDRole, owner: Int32) {
        let token = fds.claim(fd, role: role, owner: owner)
        do {
            try epoll.add(fd, events: Worker.clientEvents, token: token)
        } catch {
            logger.error("cannot watch fd \(fd): \(error)")
        }
    }

    func closeFD(_ fd: Int32) {
        fds.release(fd)
        Syscall.close(fd)
    }

    private func dropIdle(_ fd: Int32, owner: Int32) {
        let srv = backends[Int(owner >> 16)].servers[Int(owner & 0xFFFF)]
        if let i = srv.idle.firstIndex(where: { $0.fd == fd }) {
            if let tls = srv.idle[i].tls { tls.free() }
            srv.idle.remove(at: i)
        }
        closeFD(fd)
    }

    // MARK: Accept pausing (max_connections, descriptor exhaustion)

    private func pauseAccepting(retryAfterMs: Int64?) {
        if !acceptPaused {
            for l in listeners { epoll.remove(l.fd) }
            acceptPaused = true
        }
        acceptRetryAt = retryAfterMs.map { now + $0 } ?? 0
    }

    private func resumeAccepting() {
        guard acceptPaused, !draining, !listenersClosed else { return }
        for l in listeners {
            try? epoll.add(l.fd, events: SL_EPOLLIN | SL_EPOLLEXCLUSIVE, token: fds.token(l.fd))
        }
        acceptPaused = false
        acceptRetryAt = 0
    }

    // MARK: Deadlines

    /// Checks every live session's deadline. O(sessions) every 100 ms: updating a deadline is a
    /// plain store on the hot path, and the sweep costs microseconds even for 10,000 sessions.
    private func sweep() {
        if acceptPaused && acceptRetryAt != 0 && now >= acceptRetryAt { resumeAccepting() }
        // With EPOLLEXCLUSIVE a wake-up can go to a worker that is just starting to drain and
        // will not accept; a periodic accept bounds how long such a connection can wait.
        if !acceptPaused && !listenersClosed {
            for i in listeners.indices { accept(from: i) }
        }
        logClock.update()
        for log in accessLogs { log?.flush() }
        for s in sessions where s.state != .free && s.deadline <= now {
            s.timedOut()
        }
    }

    // MARK: Signals and stopping

    private func readSignals() {
        var info = signalfd_siginfo()
        while read(signalFD, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            switch Int32(info.ssi_signo) {
            case SIGTERM:
                if draining {
                    stopNow = true
                } else {
                    logger.debug("worker \(getpid()) draining for up to \(drainTimeoutMs) ms")
                    beginDrain()
                }
            case SIGQUIT:
                stopNow = true
            case SIGUSR1:
                logger.reopen()
                for log in accessLogs { log?.reopen() }
            default:
                break
            }
        }
    }

    /// Stops accepting (and lets go of the listening sockets, so that a listener a reload
    /// removed can close), tells keep-alive clients `Connection: close` on their next response,
    /// and closes connections that stay idle for a second.
    func beginDrain() {
        draining = true
        drainDeadline = now + drainTimeoutMs
        for l in listeners {
            if !acceptPaused { epoll.remove(l.fd) }
            Syscall.close(l.fd)
        }
        acceptPaused = true
        listenersClosed = true
        for s in sessions where s.state != .free {
            s.closeAfterResponse = true
            // An idle keep-alive client gets a second's grace: a request it sent at this very
            // moment is still answered rather than cut off.
            if s.state == .head && !s.requestStarted && s.reqIn.isEmpty { s.deadline = min(s.deadline, now + 1000) }
        }
    }
}
