import EventLoop
import HTTP2

/// One stream of an HTTP/2 client connection: the exchange it maps to, and the request body on
/// its way upstream (copied out of DATA frames, chunk-framed here when the client sent no
/// content-length).
struct H2Stream {
    let id: Int32
    var exchange: Exchange
    /// Request body bytes waiting to go upstream; `exchange.requestBody` tracks them.
    var body = Buffer()
    /// DATA payload bytes in `body` not yet handed back to the client's window: it reopens
    /// only once they went upstream, so a slow upstream slows the client down.
    var unconsumed = 0
    let chunked: Bool
    var deadline: Int64
    /// Response body bytes lent to the engine and not yet taken.
    var lent = 0
    /// The response's end (END_STREAM) was given to the engine.
    var endSent = false
    /// Where this stream's access-log fields are copied (from the codec's spare storages).
    var logStorage: UnsafeMutableRawPointer?
    /// The stream may move on without word from its upstream: it is new, the client's side
    /// changed it, or its last step made progress. Other streams wait for their upstream to be
    /// stirred: stepping every stream on each event cost 15 steps per request at 10 streams.
    var active = true

    /// Whether the connection's step should step this stream.
    var wantsStep: Bool { active || exchange.withUpstream { $0.stirred } == true }

    init(id: Int32, exchange: Exchange, chunked: Bool, deadline: Int64) {
        self.id = id
        self.exchange = exchange
        self.chunked = chunked
        self.deadline = deadline
    }
}

/// The HTTP/2 side of a client connection: the protocol engine and the streams in flight.
final class H2Codec {
    /// nil while the connection sleeps: `dormant` then holds what the next engine starts from.
    private(set) var engine: H2Connection!
    private(set) var dormant: H2Dormant?
    var streams: [H2Stream] = []
    /// A scratch buffer for HTTP/1.1 forms of request heads.
    var scratch = Buffer()
    /// Access-log storages of ended streams, for the next ones (one allocation per stream slot
    /// ever used, not per request).
    var spareLogStorage: [UnsafeMutableRawPointer] = []
    /// When the connection went idle: no stream since.
    var idleSince: Int64
    /// Since when the client has not taken frames that wait for it (`timeout send`), or .max.
    var stalledSince = Int64.max
    /// When to try putting the engine to sleep if no stream runs by then.
    var sleepAt: Int64
    /// When the connection was last queued as idle in `Loop.idleHTTP2` (its entry is stale otherwise).
    var queuedIdle = Int64.min
    /// Input bytes the engine took whose events wait (a request body that does not fit its
    /// stream's buffer yet): they stay in `input`, where the events point, and no more is read.
    var heldInput = 0

    init(engine: H2Connection, now: Int64) {
        self.engine = engine
        idleSince = now
        sleepAt = now
    }

    deinit {
        releaseLogStorage()
    }

    /// Lets the engine go for `state`, with everything kept for streams.
    func sleep(_ state: H2Dormant) {
        engine = nil
        dormant = state
        streams = []
        releaseLogStorage()
    }

    func wake(_ engine: H2Connection) {
        self.engine = engine
        dormant = nil
    }

    private func releaseLogStorage() {
        for storage in spareLogStorage { storage.deallocate() }
        spareLogStorage = []
    }

    func index(of id: Int32) -> Int? {
        streams.firstIndex { $0.id == id }
    }
}
