/// Everything the stats pages show, gathered by the master from the region and its own
/// bookkeeping (reloads, restarts, configuration), then handed to `StatsRenderer`.
public struct StatsSnapshot: Sendable {
    public var version: String
    public var pid: Int32
    public var uptimeSeconds: Double
    public var generation: Int
    public var reloadsSucceeded: Int
    public var reloadsFailed: Int
    public var lastReloadError: String?
    public var workers: [WorkerSnapshot]
    public var frontends: [FrontendSnapshot]
    public var backends: [BackendSnapshot]
    /// The names DNS discovery watches (empty without `resolver`).
    public var discovery: [DiscoverySnapshot]

    public init(version: String, pid: Int32, uptimeSeconds: Double, generation: Int,
                reloadsSucceeded: Int, reloadsFailed: Int, lastReloadError: String?,
                workers: [WorkerSnapshot], frontends: [FrontendSnapshot], backends: [BackendSnapshot],
                discovery: [DiscoverySnapshot] = []) {
        self.version = version
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.generation = generation
        self.reloadsSucceeded = reloadsSucceeded
        self.reloadsFailed = reloadsFailed
        self.lastReloadError = lastReloadError
        self.workers = workers
        self.frontends = frontends
        self.backends = backends
        self.discovery = discovery
    }
}

/// One name DNS discovery watches: how many servers its last answer gave, and its failed lookups.
public struct DiscoverySnapshot: Sendable {
    /// As configured: "app.internal:9000 resolve", "srv _http._tcp.app.example".
    public var name: String
    public var servers: Int
    public var failuresTotal: Int
    public var lastError: String?

    public init(name: String, servers: Int, failuresTotal: Int, lastError: String?) {
        self.name = name
        self.servers = servers
        self.failuresTotal = failuresTotal
        self.lastError = lastError
    }
}

public struct WorkerSnapshot: Sendable {
    public var pid: Int32
    public var generation: Int
    public var connectionsActive: Int
    public var requestsTotal: Int
    /// How many times the master replaced a dead worker in this worker's place.
    public var restarts: Int

    public init(pid: Int32, generation: Int, connectionsActive: Int, requestsTotal: Int, restarts: Int) {
        self.pid = pid
        self.generation = generation
        self.connectionsActive = connectionsActive
        self.requestsTotal = requestsTotal
        self.restarts = restarts
    }
}

public struct FrontendSnapshot: Sendable {
    public var name: String
    public var values: FrontendValues
    /// Requests per second over the master's last sampling interval (shown on the HTML page).
    public var requestRate: Double

    public init(name: String, values: FrontendValues, requestRate: Double = 0) {
        self.name = name
        self.values = values
        self.requestRate = requestRate
    }
}

public struct BackendSnapshot: Sendable {
    public var name: String
    /// The configured algorithm as written in the file: `round_robin` or `least_conn`.
    public var balance: String
    public var histogram: HistogramValues
    public var servers: [ServerSnapshot]

    public init(name: String, balance: String, histogram: HistogramValues, servers: [ServerSnapshot]) {
        self.name = name
        self.balance = balance
        self.histogram = histogram
        self.servers = servers
    }
}

public struct ServerSnapshot: Sendable {
    public var address: String
    public var weight: Int
    public var backup: Bool
    /// "up", "down" or "draining".
    public var state: String
    public var values: ServerValues
    /// Requests per second over the master's last sampling interval (shown on the HTML page).
    public var requestRate: Double
    /// What the runtime control set: "enable" (as configured), "drain" or "disable".
    public var adminState: String
    /// Who last changed the state or weight through the runtime control (the peer's address), and
    /// when (Unix seconds); nil when nobody did.
    public var adminChange: AdminChange?

    public init(address: String, weight: Int, backup: Bool, state: String, values: ServerValues, requestRate: Double = 0,
                adminState: String = "enable", adminChange: AdminChange? = nil) {
        self.address = address
        self.weight = weight
        self.backup = backup
        self.state = state
        self.values = values
        self.requestRate = requestRate
        self.adminState = adminState
        self.adminChange = adminChange
    }
}

/// One change made through the runtime control.
public struct AdminChange: Sendable, Equatable {
    public var by: String
    public var at: Double
    /// What was asked: "drain", "disable", "enable" or "weight N".
    public var action: String

    public init(by: String, at: Double, action: String) {
        self.by = by
        self.at = at
        self.action = action
    }
}
