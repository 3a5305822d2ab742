/// The budget whose exhaustion ended a connection (see `H2Budgets` and `H2Settings`).
public enum H2Limit: Sendable, CustomStringConvertible {
    case rapidReset, streamErrors, controlFrames, emptyFrames, windowUpdates
    case continuations, headerBlockSize, decodedHeaderSize, queuedAcks

    public var description: String {
        switch self {
        case .rapidReset: return "rapid reset"
        case .streamErrors: return "too many stream errors"
        case .controlFrames: return "control frame flood"
        case .emptyFrames: return "empty frame flood"
        case .windowUpdates: return "window update flood"
        case .continuations: return "continuation flood"
        case .headerBlockSize: return "header block too large"
        case .decodedHeaderSize: return "hpack amplification"
        case .queuedAcks: return "unread acks"
        }
    }
}

/// What a connection has seen of the behaviours the budgets watch, whether or not they tripped.
public struct H2Counters: Sendable {
    /// `.request` events handed to the data path.
    public var requests = 0
    /// RST_STREAM from the client for streams whose response was not complete.
    public var clientResets = 0
    /// RST_STREAM the server sent because of the client, and 431 or 414 answers.
    public var streamErrors = 0
    /// SETTINGS, PING, PRIORITY and unknown frames.
    public var controlFrames = 0
    public var emptyFrames = 0
    public var windowUpdates = 0
    /// CONTINUATION frames received.
    public var continuations = 0
}

/// The per-connection token buckets of `H2Budgets`, with their counters.
struct FloodGuard {
    var counters = H2Counters()
    private var rapidReset: TokenBucket
    private var streamErrors: TokenBucket
    private var controlFrames: TokenBucket
    private var emptyFrames: TokenBucket
    private var windowUpdates: TokenBucket

    init(_ budgets: H2Budgets, now: Int64) {
        rapidReset = TokenBucket(budgets.rapidReset, now: now)
        streamErrors = TokenBucket(budgets.streamErrors, now: now)
        controlFrames = TokenBucket(budgets.controlFrames, now: now)
        emptyFrames = TokenBucket(budgets.emptyFrames, now: now)
        windowUpdates = TokenBucket(budgets.windowUpdates, now: now)
    }

    // Each counts one event and returns the limit reached, or nil while within budget.

    mutating func clientReset(now: Int64) -> H2Limit? {
        Self.charge(&rapidReset, &counters.clientResets, .rapidReset, now)
    }

    mutating func streamError(now: Int64) -> H2Limit? {
        Self.charge(&streamErrors, &counters.streamErrors, .streamErrors, now)
    }

    mutating func controlFrame(now: Int64) -> H2Limit? {
        Self.charge(&controlFrames, &counters.controlFrames, .controlFrames, now)
    }

    mutating func emptyFrame(now: Int64) -> H2Limit? {
        Self.charge(&emptyFrames, &counters.emptyFrames, .emptyFrames, now)
    }

    mutating func windowUpdate(now: Int64) -> H2Limit? {
        Self.charge(&windowUpdates, &counters.windowUpdates, .windowUpdates, now)
    }

    private static func charge(_ bucket: inout TokenBucket, _ counter: inout Int, _ limit: H2Limit, _ now: Int64) -> H2Limit? {
        counter += 1
        return bucket.take(now: now) ? nil : limit
    }

    /// A DATA frame went out: the client may acknowledge it on the stream and the connection.
    mutating func dataFrameSent() {
        windowUpdates.give(2)
    }
}
