// HTTP/2 to clients (SPEC §6) as a protocol engine without I/O. nghttp2 does the framing, HPACK,
// flow control, stream states and the RFC 9113 message checks (its validation stays on); this
// class maps each stream to one HTTP/1.1 exchange and holds the connection to its budgets.
//
// Driving it, on the worker's event loop thread:
//   1. Bytes read from the client go to `receive(_:now:)`. Then `nextEvent()` until nil:
//        .request(r)   write its head with `writeHead(of:into:)` and start the exchange
//        .data         forward the bytes (chunk-framed with `ChunkFraming` when `r.isChunked`),
//                      then `consumed(stream:bytes:)`: the client's window reopens only then
//        .trailers     last chunk with `bytes(of:)` when chunk-framed; the body is complete
//        .bodyTaken    the bytes given to `setBody` were copied: supply more when there are
//        .reset/.closed  the stream is gone: release its exchange
//      `receive` may take less than it was given (it buffers a bounded number of events): call it
//      again with the rest once the events are drained.
//   2. From upstream: `submitResponse(stream:head:headers:source:)` with what ResponseParser
//      produced (1xx other than 101 go out as informational HEADERS), body bytes with
//      `setBody(stream:bytes:endStream:trailers:)`, `submitInterim` for a bare 100-continue,
//      `resetStream` when the exchange fails. Stopping: `goAwayGracefully()` or `goAway(code:)`.
//   3. While `hasOutput`: `produceOutput(into:)` and write what it returns; stop when it returns 0
//      or the socket would block. Then drain `nextEvent()` again (.bodyTaken, .closed).
//   4. Close the socket when `!wantsRead && !wantsWrite`, or after `.fatal` once the output is
//      flushed. Arm the frontend's send timeout while `isBlockedOnPeerWindow`.
//   `termination` says why the connection ended; `counters` what the budgets have seen.

import CNGHTTP2
import HTTP1

public final class H2Connection {
    public let settings: H2Settings
    let limits: BlockLimits
    var session: OpaquePointer!
    var arena: Arena
    var block = HeaderBlock()
    var streams: StreamTable
    var events: [H2Event] = []
    var eventsRead = 0
    var tracker = FrameTracker()
    /// Wire bytes and CONTINUATION frames of the header block arriving.
    var headerBlockBytes = 0
    var continuations = 0
    var clientResets = RecentResets()
    var history = StreamHistory()
    var flood: FloodGuard
    var now: Int64
    /// The budget a callback ran out of; it then failed on purpose to stop nghttp2.
    var tripped: H2Limit?
    /// The GOAWAY this side asked for (the first), and the first that went out with an error
    /// code: nghttp2 may have queued its own (a protocol error) before.
    var requestedTermination: H2Termination?
    var sentTermination: H2Termination?
    /// nghttp2 failed fatally: nothing more goes in or out.
    var dead = false
    /// Frame bytes from nghttp2 not yet copied out by `produceOutput`.
    var output: UnsafePointer<UInt8>?
    var outputLeft = 0
    /// Request body bytes to return to the connection window once nghttp2's callbacks are done.
    var connectionCredit = 0
    var nv: NVList
    /// nghttp2's and the tables' memory (see EngineMemory.swift).
    let memory = EngineMemory()
    /// For the connection's own 431 and 414 answers.
    lazy var cannedHeaders = HeaderTable(capacity: 8)
    /// What sleeping needs to know of the protocol state (see H2Connection+Dormancy.swift): the
    /// client's SETTINGS arrived; the HPACK table size the client acknowledged, and the one of the
    /// SETTINGS still unacknowledged (nil when none is); whether the client's next header block
    /// must open with a table size update (it acknowledged a smaller table since its last one).
    var clientSettingsSeen = false
    var tableSizeAcked: UInt32 = 4096
    var tableSizeInFlight: UInt32?
    var expectsTableUpdate = false
    /// Frames made up to rebuild a sleeping connection's state are going in: not the client's.
    var resuming = false

    /// Events buffered beyond this make `receive` stop between frames.
    static let eventHighWater = 256

    public var counters: H2Counters { flood.counters }

    /// Where the arena's memory comes from while the connection decodes.
    let pool: H2MemoryPool

    /// `now`: monotonic milliseconds (the budgets refill with time). `pool`: blocks of
    /// `arenaSize(for: settings)` bytes, shared by the connections of the thread.
    public convenience init(settings: H2Settings = H2Settings(), now: Int64, pool: H2MemoryPool? = nil) {
        self.init(settings: settings, now: now, pool: pool, tableSize: UInt32(settings.headerTableSize))
    }

    /// `tableSize`: the SETTINGS_HEADER_TABLE_SIZE of the first SETTINGS (a waking connection's
    /// may be the 0 its client last acknowledged).
    init(settings: H2Settings, now: Int64, pool: H2MemoryPool?, tableSize: UInt32) {
        settings.validate()
        self.settings = settings
        limits = BlockLimits(maxListSize: settings.maxHeaderListSize, maxFields: settings.maxHeaderFields,
                             maxDecoded: settings.maxDecodedHeaderBytes)
        // A header block starts only with maxHeaderListSize free (receive stops between frames
        // otherwise); the rest holds the small requests that usually come with it.
        arena = Arena(capacity: H2Connection.arenaSize(for: settings))
        self.pool = pool ?? H2MemoryPool(blockSize: H2Connection.arenaSize(for: settings))
        precondition(self.pool.blockSize >= arena.capacity, "pool blocks smaller than the arena")
        streams = StreamTable(limit: settings.maxConcurrentStreams, memory: memory)
        flood = FloodGuard(settings.budgets, now: now)
        self.now = now
        nv = NVList(capacity: 32, memory: memory)
        session = H2Callbacks.makeSession(for: self)
        submitInitialSettings(tableSize: tableSize)
        memory.placing = false
    }

    /// The size of the arena (and of the pool's blocks) for `settings`.
    public static func arenaSize(for settings: H2Settings) -> Int {
        settings.maxHeaderListSize + 8192
    }

    deinit {
        nghttp2_session_del(session)
        arena.truncate(to: 0)
        arena.detach(to: pool)
        streams.deallocate()
        nv.deallocate()
    }

    private func submitInitialSettings(tableSize: UInt32) {
        let entries: [(nghttp2_settings_id, Int)] = [
            (NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings.engineStreamLimit),
            (NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings.initialStreamWindow),
            (NGHTTP2_SETTINGS_MAX_FRAME_SIZE, settings.maxFrameSize),
            (NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings.maxHeaderListSize),
            (NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, Int(tableSize)),
            // RFC 9218: no RFC 7540 priority tree to maintain (or to be churned by PRIORITY frames).
            (NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1),
        ]
        let iv = entries.map { nghttp2_settings_entry(settings_id: Int32($0.0.rawValue), value: UInt32($0.1)) }
        let rv = nghttp2_submit_settings(session, noFlags, iv, iv.count)
        precondition(rv == 0, "nghttp2 refused the initial SETTINGS")
        tableSizeInFlight = tableSize
        let wv = nghttp2_session_set_local_window_size(session, noFlags, 0,
                                                       Int32(settings.connectionWindow))
        precondition(wv == 0, "nghttp2 refused the connection window")
    }

    /// Feeds bytes read from the client, one frame at a time after screening its header against
    /// the budgets. Drain every event before calling it again: it reuses their storage.
    public func receive(_ input: UnsafeRawBufferPointer, now: Int64) -> H2ReceiveResult {
        precondition(eventsRead == events.count, "drain every event before calling receive again")
        guard !dead && requestedTermination == nil && sentTermination == nil else { return .fatal }
        self.now = now
        events.removeAll(keepingCapacity: true)
        eventsRead = 0
        arena.attach(pool)
        // The events' bytes are no longer needed; a header block still arriving is kept (one
        // nghttp2 gave up on is not: the tracker is past it).
        let decoding = decodingHeaderBlock
        let moved = arena.discard(before: decoding ? block.start : arena.used)
        if decoding { block.rebase(by: moved) } else { block = HeaderBlock() }

        guard let base = input.baseAddress else { return .consumed(0) }
        var offset = 0
        while offset < input.count {
            if tracker.atBoundary && !tracker.insideHeaderBlock && bufferIsFull { break }
            let step = tracker.next(base + offset, input.count - offset)
            if step.headerDone && !screen(tracker.current) { return .fatal }
            let rv = nghttp2_session_mem_recv(session, (base + offset).assumingMemoryBound(to: UInt8.self), step.count)
            returnCredit()
            if rv < 0 {
                failed(Int32(truncatingIfNeeded: rv))
                return .fatal
            }
            if step.frameDone { inspect(tracker.current) }
            offset += step.count
        }
        return requestedTermination == nil ? .consumed(offset) : .fatal
    }

    /// Hands the last event out again on the next `nextEvent()`: the data path could not take
    /// it yet (a request body that does not fit its buffer until the upstream takes more).
    public func unreadEvent() {
        precondition(eventsRead > 0, "no event was read")
        eventsRead -= 1
    }

    /// The next event, or nil when all were handed out.
    public func nextEvent() -> H2Event? {
        guard eventsRead < events.count else { return nil }
        eventsRead += 1
        return events[eventsRead - 1]
    }

    /// Writes the HTTP/1.1 head of `request` (from the latest `receive`); nil when `out` holds
    /// fewer than `request.headLength` bytes.
    public func writeHead(of request: H2Request, into out: UnsafeMutableRawBufferPointer) -> Int? {
        RequestHeadWriter.write(request, arena: arena, into: out)
    }

    /// The field lines of `.trailers` (from the latest `receive`).
    public func bytes(of fields: H2Fields) -> UnsafeRawBufferPointer {
        arena.bytes(fields.span)
    }

    /// Gives the arena's memory back to the pool when nothing in it is still needed (no header
    /// block half-decoded, every event drained): call after draining the events.
    public func releaseIdleMemory() {
        guard eventsRead == events.count, !decodingHeaderBlock, arena.base != nil else { return }
        block = HeaderBlock()
        arena.truncate(to: 0)
        arena.detach(to: pool)
    }

    /// A header block is still arriving: its bytes in the arena must stay.
    private var decodingHeaderBlock: Bool {
        block.stream != 0 && (tracker.insideHeaderBlock || !tracker.atBoundary)
    }

    /// No room for another header block or more events: stop between frames.
    private var bufferIsFull: Bool {
        arena.free < limits.maxListSize || events.count - eventsRead >= Self.eventHighWater
    }

    /// Hands the bytes of streams that closed or were never the data path's back to the
    /// connection window (outside nghttp2's callbacks).
    func returnCredit() {
        guard connectionCredit > 0 else { return }
        let credit = connectionCredit
        connectionCredit = 0
        if nghttp2_session_consume_connection(session, credit) != 0 { dead = true }
    }

    /// nghttp2's input processing failed: say why with a GOAWAY.
    private func failed(_ rv: Int32) {
        switch rv {
        case NGHTTP2_ERR_CALLBACK_FAILURE.rawValue where tripped != nil:
            terminate(.enhanceYourCalm, limit: tripped, detail: tripped!.description)
        case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS.rawValue:
            terminate(.enhanceYourCalm, limit: .continuations, detail: H2Limit.continuations.description)
        case NGHTTP2_ERR_FLOODED.rawValue:
            terminate(.enhanceYourCalm, limit: .queuedAcks, detail: H2Limit.queuedAcks.description)
        case NGHTTP2_ERR_BAD_CLIENT_MAGIC.rawValue:
            terminate(.protocolError, limit: nil, detail: "invalid connection preface")
        default:
            terminate(.internalError, limit: nil, detail: String(cString: nghttp2_strerror(rv)))
        }
    }

    /// Why the connection ended: the GOAWAY that went out with an error code, else the one this
    /// side asked for (`goAway(code:)`, a budget, a failure). nil while it goes on. A protocol error
    /// nghttp2 detects shows here once its GOAWAY was produced.
    public var termination: H2Termination? { sentTermination ?? requestedTermination }

    /// Queues GOAWAY(code) with the last stream handed to the data path; nghttp2 reads no more.
    func terminate(_ code: H2ErrorCode, limit: H2Limit?, detail: String) {
        if requestedTermination == nil { requestedTermination = H2Termination(code: code, limit: limit, detail: detail) }
        if nghttp2_session_terminate_session(session, code.rawValue) != 0 { dead = true }
    }
}
