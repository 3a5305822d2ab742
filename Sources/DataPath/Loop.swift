import CLinux
import EventLoop
import HTTP1
import Stats

/// What a worker's descriptor is, for dispatching its events.
enum DescriptorRole {
    case listener, client, upstream, idleUpstream, signal
}

/// The narrow interface connections use to reach their event loop: registering and closing
/// descriptors, deferring writes to the end of the batch, buffers, scratch space and the time.
final class Loop {
    let epoll: Epoll
    var registry = TokenRegistry<DescriptorRole>()
    let buffers: BufferPool
    let logger: Logger
    /// This worker's own record in the stats (its connections and requests).
    let workerCounters: WorkerCounters
    /// Parsed header offsets, reused by every head this worker parses.
    let headers = HeaderTable(capacity: 128)
    /// Where a small head and body are joined into one TLS record.
    let tlsScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 16)
    /// The time, read once per loop iteration: milliseconds for deadlines, microseconds for
    /// request timings.
    private(set) var now: Int64 = 0
    private(set) var nowMicros: Int64 = 0

    /// While a batch of events is being dispatched, writes are held back and the connections that
    /// want to write are driven once the batch is done. A write wakes the peer (client or
    /// upstream), which on a busy core preempts this worker: writing after the whole batch keeps
    /// the batch together (measured: 6x fewer involuntary context switches under wrk).
    private(set) var deferringWrites = false
    private var deferred: [ClientConnection] = []

    /// Set once in `init` (it points back at the loop); read on every request, so not `lazy`.
    private(set) var upstreams: UpstreamTable! = nil
    let clients = ClientTable()
    /// The worker is draining: every response from now on says `Connection: close`.
    var draining = false
    /// HTTP/2 connections that went idle, oldest first (see ClientConnection+HTTP2Sleep.swift).
    var idleHTTP2 = IdleHTTP2Queue()

    static let connectionEvents = SL_EPOLLIN | SL_EPOLLOUT | SL_EPOLLRDHUP | SL_EPOLLET

    init(epoll: Epoll, bufferSize: Int, logger: Logger, counters: WorkerCounters) {
        self.epoll = epoll
        self.logger = logger
        workerCounters = counters
        buffers = BufferPool(size: bufferSize)
        upstreams = UpstreamTable(loop: self)
        tick()
    }

    func tick() {
        nowMicros = Clock.nowMicros()
        now = nowMicros / 1000
    }

    /// Watches a connection's descriptor (edge-triggered, both directions).
    func register(_ fd: Int32, role: DescriptorRole, owner: Int32) {
        let token = registry.claim(fd, role: role, owner: owner)
        do {
            try epoll.add(fd, events: Loop.connectionEvents, token: token)
        } catch {
            logger.error("cannot watch fd \(fd): \(error)")
        }
    }

    func close(_ fd: Int32) {
        registry.release(fd)
        Syscall.close(fd)
    }

    // MARK: Deferred writes

    func beginBatch() { deferringWrites = true }

    /// Remembers a connection whose pending bytes will be written after the current batch.
    @inline(__always)
    func deferWrite(_ connection: ClientConnection) {
        if !connection.writeDeferred {
            connection.writeDeferred = true
            deferred.append(connection)
        }
    }

    /// Ends the batch: drives every connection that held a write back.
    func endBatch() {
        deferringWrites = false
        for connection in deferred {
            connection.writeDeferred = false
            connection.drive()
        }
        deferred.removeAll(keepingCapacity: true)
    }
}
