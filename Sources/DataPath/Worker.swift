import CLinux
import Config
import EventLoop
import Glibc
import Stats

/// One event loop over this worker's listening sockets (its position's socket of each
/// SO_REUSEPORT group): accepts clients, dispatches events to their connections, enforces
/// deadlines, drains on SIGTERM. Single-threaded; a process runs one.
final class Worker {
    private let loop: Loop
    private let runtime: Runtime
    private let logClock = LogClock()
    private let maxConnections: Int
    private let drainTimeoutMs: Int64
    private let signalFD: Int32

    private var acceptPaused = false
    private var acceptRetryAt: Int64 = 0
    private var lastAcceptErrorLog: Int64 = 0
    private var drainDeadline: Int64 = 0
    private var stopNow = false
    private var nextSweep: Int64 = 0

    private var listeners: [Listener] { runtime.listeners }
    /// This worker's socket of each listener's group, by listener index.
    private let sockets: [Int32]

    init(runtime: Runtime, position: Int, area: WorkerArea, logger: Logger, signalFD: Int32) throws(ProxyError) {
        let epoll: Epoll
        do { epoll = try Epoll(capacity: 512) } catch { throw ProxyError(error.description) }
        self.runtime = runtime
        self.signalFD = signalFD
        sockets = runtime.listeners.map { $0.group[position] }
        loop = Loop(epoll: epoll, bufferSize: runtime.bufferSize, logger: logger, counters: area.worker)
        runtime.bind(to: area)
        let clock = logClock
        for fe in runtime.frontends {
            fe.accessLog = fe.config.accessLog.target.map {
                AccessLog(target: $0, format: fe.config.accessLog.format, logger: logger, clock: clock)
            }
        }
        maxConnections = runtime.config.maxConnections
        drainTimeoutMs = Int64(runtime.config.drainTimeoutMs)
        do {
            for (i, fd) in sockets.enumerated() {
                try epoll.add(fd, events: SL_EPOLLIN, token: loop.registry.claim(fd, role: .listener, owner: Int32(i)))
            }
            try epoll.add(signalFD, events: SL_EPOLLIN, token: loop.registry.claim(signalFD, role: .signal, owner: 0))
        } catch {
            throw ProxyError(error.description)
        }
    }

    /// Runs until stopped; returns the process exit status.
    func run() -> Int32 {
        while !stopNow {
            let n = loop.epoll.wait(timeoutMs: 100)
            loop.tick()
            loop.beginBatch()
            for i in 0..<n {
                let (mask, token) = loop.epoll.event(i)
                dispatch(mask, token)
            }
            loop.endBatch()
            loop.sleepIdleHTTP2UnderPressure()
            if acceptPaused && acceptRetryAt == 0 && loop.clients.count < maxConnections { resumeAccepting() }
            if loop.now >= nextSweep {
                sweep()
                nextSweep = loop.now + 100
            }
            if loop.draining && (loop.clients.count == 0 || loop.now >= drainDeadline) { break }
        }
        let open = loop.clients.count
        if open > 0 { loop.logger.warn("worker \(getpid()) stopping with \(open) connection(s) still open") }
        // Closing what is left counts its requests (499) and logs them, so that nothing stays
        // raised in the stats and no line is lost.
        loop.clients.forEach { $0.close() }
        for fe in runtime.frontends { fe.accessLog?.flush() }
        return 0
    }

    @inline(__always)
    private func dispatch(_ mask: UInt32, _ token: UInt64) {
        guard let (_, slot) = loop.registry.matches(token) else { return }
        switch slot.role! {
        case .client:
            guard let connection = loop.clients[slot.owner] else { return }
            connection.endpoint.note(mask)
            connection.drive()
        case .upstream:
            guard let upstream = loop.upstreams[slot.owner], let client = upstream.client else { return }
            upstream.endpoint.note(mask)
            upstream.stirred = true
            client.drive()
        case .idleUpstream:
            // Anything but writability on an idle upstream connection means it is finished.
            if mask & (SL_EPOLLIN | SL_EPOLLRDHUP | SL_EPOLLHUP | SL_EPOLLERR) != 0 {
                loop.upstreams.dropIdle(slot.owner)
            }
        case .listener:
            accept(from: Int(slot.owner))
        case .signal:
            readSignals()
        }
    }

    // MARK: Accepting

    /// Accepts up to 64 connections; true when the queue is empty.
    @discardableResult
    private func accept(from index: Int) -> Bool {
        let listener = listeners[index]
        let socket = sockets[index]
        for _ in 0..<64 {
            if loop.clients.count >= maxConnections {
                pauseAccepting(retryAfterMs: nil)
                return false
            }
            var peer = SocketAddress()
            switch Syscall.accept(socket, into: &peer) {
            case .bytes(let fd):
                Socket.setNoDelay(Int32(fd))
                loop.workerCounters.connectionOpened()
                let connection = loop.clients.add { id in
                    ClientConnection(id: id, fd: Int32(fd), listener: listener, peer: peer, runtime: runtime, loop: loop)
                }
                connection.start()
            case .wouldBlock, .endOfFile:
                return true
            case .failed(let e):
                if e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM {
                    if loop.now - lastAcceptErrorLog >= 1000 {
                        loop.logger.error("accept on \(listener.address.description): \(Syscall.errorString(e)); pausing accepts")
                        lastAcceptErrorLog = loop.now
                    }
                    pauseAccepting(retryAfterMs: 100)
                    return false
                }
                return true
            }
        }
        return false
    }

    /// Stops watching the listeners (max_connections reached, or descriptors exhausted).
    private func pauseAccepting(retryAfterMs: Int64?) {
        if !acceptPaused {
            for fd in sockets { loop.epoll.remove(fd) }
            acceptPaused = true
        }
        acceptRetryAt = retryAfterMs.map { loop.now + $0 } ?? 0
    }

    private func resumeAccepting() {
        guard acceptPaused, !loop.draining else { return }
        for fd in sockets {
            try? loop.epoll.add(fd, events: SL_EPOLLIN, token: loop.registry.token(fd))
        }
        acceptPaused = false
        acceptRetryAt = 0
    }

    // MARK: Deadlines

    /// Checks every connection's deadline. O(connections) every 100 ms: updating a deadline is a
    /// plain store on the hot path, and the sweep costs microseconds even for 10,000 connections.
    private func sweep() {
        if acceptPaused && acceptRetryAt != 0 && loop.now >= acceptRetryAt { resumeAccepting() }
        logClock.update()
        for fe in runtime.frontends { fe.accessLog?.flush() }
        loop.clients.forEach { connection in
            if connection.deadline <= loop.now { connection.timedOut() }
        }
    }

    // MARK: Signals and stopping

    private func readSignals() {
        var info = signalfd_siginfo()
        while read(signalFD, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            switch Int32(info.ssi_signo) {
            case SIGTERM:
                if loop.draining {
                    stopNow = true
                } else {
                    loop.logger.debug("worker \(getpid()) draining for up to \(drainTimeoutMs) ms")
                    beginDrain()
                }
            case SIGQUIT:
                stopNow = true
            case SIGUSR1:
                loop.logger.reopen()
                for fe in runtime.frontends { fe.accessLog?.reopen() }
            default:
                break
            }
        }
    }

    /// Stops accepting and lets go of its listening sockets (so that a listener a reload removed
    /// can close), after taking in the connections already waiting in their queues: the new
    /// worker of this position shares the queue, but when a reload lowered the worker count,
    /// nobody else would. Tells keep-alive clients `Connection: close` on their next response,
    /// and closes connections that stay idle for a second.
    private func beginDrain() {
        if !acceptPaused {
            for i in sockets.indices { acceptPending(from: i) }
        }
        loop.draining = true
        drainDeadline = loop.now + drainTimeoutMs
        for fd in sockets {
            if !acceptPaused { loop.epoll.remove(fd) }
            loop.close(fd)
        }
        acceptPaused = true
        loop.clients.forEach { connection in
            connection.beginDrain()
            // An idle keep-alive client gets a second's grace: a request it sent at this very
            // moment is still answered rather than cut off.
            if connection.phase == .waiting && !connection.headStarted && connection.input.isEmpty {
                connection.deadline = min(connection.deadline, loop.now + 1000)
            }
        }
    }

    /// Accepts until the queue is empty (or accepting must pause).
    private func acceptPending(from index: Int) {
        while !acceptPaused && !accept(from: index) {}
    }
}
