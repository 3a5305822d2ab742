import EventLoop

/// The resolver and the plan together, as the master's loop runs them: lookups start when the
/// plan says they are due, and each outcome goes through the plan to `onUpdate`.
///
/// Loop contract (single-threaded): the resolver's `onSocketChange` adds, modifies and removes
/// its sockets in the owner's epoll set; a ready socket goes to `process(fd:readable:writable:)`;
/// `tick()` runs on every loop iteration (the master's wait is at most 100 ms; `nextWakeMs` says
/// how soon it must run at the latest). `onUpdate` runs inside `process` or `tick`; it may call
/// `setWatches` but must not close the resolver.
public final class DiscoveryService {
    public let resolver: Resolver
    public private(set) var plan: DiscoveryPlan
    private let clock: () -> Int64
    private let onUpdate: (WatchUpdate) -> Void

    /// `clock` gives monotonic milliseconds (tests pass their own).
    public init(resolver: Resolver, policy: DiscoveryPolicy = DiscoveryPolicy(), clock: @escaping () -> Int64 = Clock.nowMs,
                onUpdate: @escaping (WatchUpdate) -> Void) {
        self.resolver = resolver
        plan = DiscoveryPlan(policy: policy)
        self.clock = clock
        self.onUpdate = onUpdate
    }

    /// The intervals; a reload that changes `valid=` sets it here (it applies from the next answer).
    public var policy: DiscoveryPolicy {
        get { plan.policy }
        set { plan.policy = newValue }
    }

    /// Makes `watches` the watched set, at start and on reload: new ones are looked up at the next
    /// `tick`, kept ones keep their servers, counters and schedule.
    public func setWatches(_ watches: [Watch]) {
        plan.set(watches, now: clock())
    }

    public func status(of watch: Watch) -> WatchStatus? { plan.status(of: watch) }

    /// For a ready resolver socket (EPOLLERR / EPOLLHUP count as readable).
    public func process(fd: Int32, readable: Bool, writable: Bool) {
        resolver.process(fd: fd, readable: readable, writable: writable)
    }

    /// Fails or retries queries whose time is up, then starts the lookups that are due.
    public func tick() {
        resolver.processTimeouts()
        for watch in plan.takeDue(now: clock()) { start(watch) }
    }

    /// Milliseconds until `tick` has work (a query timeout or a due lookup); nil when none is
    /// scheduled.
    public var nextWakeMs: Int? {
        let due = plan.nextQueryAt.map { Int(max($0 - clock(), 0)) }
        switch (resolver.nextTimeoutMs, due) {
        case let (a?, b?): return min(a, b)
        case let (a, b): return a ?? b
        }
    }

    private func start(_ watch: Watch) {
        switch watch.kind {
        case .addresses(let port):
            resolver.lookupAddresses(watch.name) { [weak self] outcome in
                self?.finish(watch, outcome.map { ServerAnswer(addresses: $0, port: port) })
            }
        case .srv(let max):
            resolver.lookupSRV(watch.name) { [weak self] outcome in
                self?.finish(watch, outcome.map { ServerAnswer(srv: $0, max: max) })
            }
        }
    }

    private func finish(_ watch: Watch, _ outcome: Result<ServerAnswer, DNSFailure>) {
        if let update = plan.record(watch, outcome, now: clock()) { onUpdate(update) }
    }
}
