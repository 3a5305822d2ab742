/// The re-query schedule of every watched name, and the answers kept for them. Pure: the caller
/// passes the time, starts the lookups `takeDue` hands out, and records their outcomes.
///
/// An answer replaces the servers and schedules the next lookup after `policy.interval(ttl:)`.
/// A failure keeps the servers, is counted, and schedules a retry after
/// `policy.retryDelay(consecutiveFailures:)`. A watch is never handed out twice at once.
public struct DiscoveryPlan: Sendable {
    public var policy: DiscoveryPolicy
    /// In the order they were added; `takeDue` follows it.
    public private(set) var watches: [Watch] = []
    private var states: [Watch: WatchStatus] = [:]

    public init(policy: DiscoveryPolicy = DiscoveryPolicy()) {
        self.policy = policy
    }

    public func status(of watch: Watch) -> WatchStatus? { states[watch] }

    /// Starts watching, with the first lookup due at `now`; a watch already present is unchanged.
    public mutating func add(_ watch: Watch, now: Int64) {
        guard states[watch] == nil else { return }
        watches.append(watch)
        states[watch] = WatchStatus(nextQueryAt: now)
    }

    /// Stops watching; an outcome still in flight for it is ignored.
    public mutating func remove(_ watch: Watch) {
        guard states.removeValue(forKey: watch) != nil else { return }
        watches.removeAll { $0 == watch }
    }

    /// Makes `list` the watched set (a reload): new watches are due at `now`, the ones still
    /// listed keep their servers, counters and schedule, the others go.
    public mutating func set(_ list: [Watch], now: Int64) {
        let wanted = Set(list)
        for w in watches where !wanted.contains(w) { remove(w) }
        for w in list { add(w, now: now) }
    }

    /// The watches whose lookup is due, now marked in flight until `record`.
    public mutating func takeDue(now: Int64) -> [Watch] {
        let due = watches.filter { states[$0]!.nextQueryAt <= now && !states[$0]!.inFlight }
        for w in due { states[w]!.inFlight = true }
        return due
    }

    /// The earliest time a watch not in flight is due; nil when there is none.
    public var nextQueryAt: Int64? {
        states.values.filter { !$0.inFlight }.map(\.nextQueryAt).min()
    }

    /// Applies a lookup's outcome; nil when the watch was removed meanwhile.
    public mutating func record(_ watch: Watch, _ outcome: Result<ServerAnswer, DNSFailure>, now: Int64) -> WatchUpdate? {
        guard var state = states[watch] else { return nil }
        state.inFlight = false
        let diff: ServerListDiff
        let failure: DNSFailure?
        switch outcome {
        case .success(let answer):
            diff = ServerListDiff(old: state.servers, new: answer.servers)
            failure = nil
            state.servers = answer.servers
            state.ttl = answer.ttl
            state.lastAnswerAt = now
            state.consecutiveFailures = 0
            state.nextQueryAt = now + policy.interval(ttl: answer.ttl)
        case .failure(let error):
            diff = ServerListDiff(old: state.servers, new: state.servers)
            failure = error
            state.failuresTotal += 1
            state.consecutiveFailures += 1
            state.lastError = error
            state.nextQueryAt = now + policy.retryDelay(consecutiveFailures: state.consecutiveFailures)
        }
        states[watch] = state
        return WatchUpdate(watch: watch, failure: failure, diff: diff, status: state)
    }
}
