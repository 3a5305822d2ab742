/// What the plan knows about one watch; also what /stats can show for it.
public struct WatchStatus: Equatable, Sendable {
    /// The last answer's servers, kept through failures; empty until the first answer.
    public internal(set) var servers: [DiscoveredServer] = []
    /// The last answer's TTL in seconds; nil before the first answer.
    public internal(set) var ttl: UInt32?
    public internal(set) var lastAnswerAt: Int64?
    public internal(set) var failuresTotal = 0
    /// Failures since the last answer; drives the retry backoff.
    public internal(set) var consecutiveFailures = 0
    /// The most recent failure, kept after a later answer for diagnostics.
    public internal(set) var lastError: DNSFailure?
    /// When the next lookup is due (monotonic ms); not meaningful while `inFlight`.
    public internal(set) var nextQueryAt: Int64
    /// A lookup was handed out by `takeDue` and its outcome is not recorded yet.
    public internal(set) var inFlight = false
}

/// The outcome of one lookup, for the master to apply and log.
public struct WatchUpdate: Equatable, Sendable {
    public let watch: Watch
    /// nil: answered; the diff says what to add and remove. Otherwise the lookup failed, the diff
    /// is empty and `status.servers` is still the last answer.
    public let failure: DNSFailure?
    public let diff: ServerListDiff
    /// The watch after the update: servers, counters, next query time.
    public let status: WatchStatus
}
