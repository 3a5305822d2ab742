import CLinux
import Config
import DataPath
import Discovery
import EventLoop
import Glibc
import Stats

/// The master process: owns the listening sockets and the shared stats region, forks one
/// single-threaded worker per CPU (or `workers N`), replaces workers that die, reloads the
/// configuration on SIGHUP, runs health checks, serves the stats endpoint, and stops the group
/// on SIGTERM/SIGQUIT.
final class Master {
    let configPath: String
    var config: ProxyConfig
    let logger: Logger
    let stats: StatsRegion
    let loop: MasterLoop
    /// Open listening sockets by address ("127.0.0.1:8080"), one per worker position (a
    /// SO_REUSEPORT group); kept across reloads, so the new worker of a position takes over the
    /// very queue its predecessor accepted from.
    var listeners: [String: [Int32]] = [:]
    /// Set in `init` once DNS discovery has had its first answers.
    var runtime: Runtime!
    /// Runtimes of older generations whose workers are still draining, by generation.
    var drainingRuntimes: [Int: Runtime] = [:]
    var workers: [ChildWorker] = []
    var respawns: [(position: Int, at: Int64)] = []
    var restarts: [Int: Int] = [:]
    var quickDeaths: [Int: Int] = [:]
    var reloadsSucceeded = 0
    var reloadsFailed = 0
    var lastReloadError: String?
    let startedAt = Clock.nowMs()
    var signalFD: Int32 = -1
    var statsServer: StatsServer?
    var healthChecker: HealthChecker?
    var stopping = false
    let rates = RateMeter()
    /// The runtime control's last change per server (backend and server name), for /stats.
    var adminChanges: [String: AdminChange] = [:]
    /// DNS discovery, when the configuration resolves names (`Master+Discovery`).
    var discovery: DiscoveryService?
    var resolverAddress: String?
    /// When DNS first changed a server list since the running generation was made.
    var discoveryChangedAt: Int64?
    var stopDeadline: Int64 = 0

    /// A forked worker as the master tracks it.
    struct ChildWorker {
        let pid: pid_t
        let generation: Int
        let position: Int
        let slot: Int
        let startedAt: Int64
        var draining = false
    }

    init(configPath: String, config: ProxyConfig, logger: Logger) throws(ProxyError) {
        self.configPath = configPath
        self.config = config
        self.logger = logger
        do { stats = try StatsRegion() } catch { throw ProxyError("cannot create the stats region: \(error)") }
        loop = try MasterLoop()
        var open: [String: [Int32]] = [:]
        try configureDiscovery(config)
        runtime = try Master.runtime(withDiscovered(config), file: configPath, generation: 1, stats: stats, listeners: &open)
        listeners = open
        if let s = config.stats { statsServer = try makeStatsServer(s) }
        healthChecker = HealthChecker(runtime: runtime, loop: loop, logger: logger)
    }

    /// Builds a generation's runtime; a listener group not yet in `open` is opened, one that has
    /// fewer sockets than the configuration has workers is extended.
    static func runtime(_ config: ProxyConfig, file: String, generation: Int, stats: StatsRegion,
                        listeners open: inout [String: [Int32]]) throws(ProxyError) -> Runtime {
        let positions = Master.positions(config)
        let runtime = try Runtime(config: config, configFile: file, generation: generation, stats: stats) { address, frontend throws(ProxyError) in
            let key = address.description
            guard let sa = SocketAddress(ip: address.host, port: address.port) else {
                throw ProxyError("frontend \(frontend): invalid listen address \(key)")
            }
            do throws(SystemError) {
                if let group = open[key] {
                    open[key] = try Socket.extendGroup(group, on: sa, to: positions)
                } else {
                    open[key] = try Socket.listenGroup(sa, count: positions)
                }
            } catch {
                throw ProxyError("frontend \(frontend): cannot listen on \(key): \(Syscall.errorString(error.code))")
            }
            return Array(open[key]!.prefix(positions))
        }
        // A server seen for the first time comes up now (slow start ramps from here); one that
        // stays keeps its time.
        let now = Clock.nowMs()
        for b in runtime.backends {
            for s in b.servers where s.shared.upSince == 0 { s.shared.upSince = now }
        }
        return runtime
    }

    func makeStatsServer(_ config: StatsConfig) throws(ProxyError) -> StatsServer {
        try StatsServer(config: config, loop: loop, logger: logger) { [unowned self] method, path, body, peer in
            control(method: method, path: path, body: body, peer: peer)
        }
    }

    /// How many workers a configuration runs.
    static func positions(_ config: ProxyConfig) -> Int {
        switch config.workers {
        case .auto: return Int(sl_cpu_count())
        case .count(let n): return n
        }
    }

    /// Serves until stopped; returns the exit status.
    func run() -> Int32 {
        do {
            signalFD = try Signals.watch([SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGCHLD])
            try loop.watch(signalFD, role: .signal, owner: 0, events: SL_EPOLLIN)
        } catch {
            logger.error("\(error)")
            return 1
        }
        _ = sl_set_process_name("sluice: master")
        logger.info("sluice \(Version.string) master \(getpid()) serving \(config.frontends.flatMap(\.listens).map(\.description).joined(separator: ", "))")
        spawnWorkers()
        while true {
            let n = loop.epoll.wait(timeoutMs: 100)
            for i in 0..<n {
                let (mask, token) = loop.epoll.event(i)
                guard let (role, owner) = loop.match(token) else { continue }
                switch role {
                case .signal: readSignals()
                case .healthCheck: healthChecker?.handle(check: Int(owner))
                case .statsListener: statsServer?.accept(listener: owner)
                case .statsConnection: statsServer?.handle(connection: owner, snapshot: snapshot)
                case .dns: resolverReady(fd: owner, mask: mask)
                }
            }
            let now = Clock.nowMs()
            statsServer?.sweep(now: now)
            discovery?.tick()
            if !stopping {
                healthChecker?.tick(now: now)
                noteEndedPassiveMarks(now: now)
                applyDiscoveryChanges(now: now)
            }
            rates.sample(now: now, stats: stats, runtime: runtime)
            if stopping {
                if workers.isEmpty { break }
                if now >= stopDeadline {
                    logger.warn("workers still running after the drain timeout; killing them")
                    for w in workers { kill(w.pid, SIGKILL) }
                    stopDeadline = now + 1000
                }
                continue
            }
            runDueRespawns(now: now)
        }
        for fd in listeners.values.joined() { Syscall.close(fd) }
        logger.info("stopped")
        return 0
    }
}
