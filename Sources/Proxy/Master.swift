import CLinux
import Config
import EventLoop
import Glibc
import Stats

/// The master process: owns the listening sockets and the shared stats region, forks one
/// single-threaded worker per CPU (or `workers N`), replaces workers that die, reloads the
/// configuration on SIGHUP, serves the stats endpoint, and stops the group on SIGTERM/SIGQUIT.
final class Master {
    private let configPath: String
    private var config: ProxyConfig
    private let logger: Logger
    private let stats: StatsRegion
    /// Open listening sockets by address ("127.0.0.1:8080"); kept across reloads.
    private var listeners: [String: Int32] = [:]
    private var runtime: Runtime
    /// Runtimes of older generations whose workers are still draining, by generation.
    private var drainingRuntimes: [Int: Runtime] = [:]
    private var workers: [WorkerProcess] = []
    private var respawns: [(position: Int, at: Int64)] = []
    private var restarts: [Int: Int] = [:]
    private var quickDeaths: [Int: Int] = [:]
    private var reloadsSucceeded = 0
    private var reloadsFailed = 0
    private var lastReloadError: String?
    private let startedAt = Clock.nowMs()
    private let epoll: Epoll
    private var signalFD: Int32 = -1
    private var statsServer: StatsServer?
    private var healthChecker: HealthChecker?
    private var stopping = false
    private let rates = RateMeter()
    private var stopDeadline: Int64 = 0

    struct WorkerProcess {
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
        do { epoll = try Epoll(capacity: 64) } catch { throw ProxyError(error.description) }
        runtime = try Runtime(config: config, configFile: configPath, generation: 1, stats: stats, listeners: &listeners)
        if let s = config.stats { statsServer = try StatsServer(config: s, epoll: epoll, logger: logger) }
        healthChecker = HealthChecker(runtime: runtime, epoll: epoll, logger: logger)
    }

    /// Serves until stopped; returns the exit status.
    func run() -> Int32 {
        do {
            signalFD = try Signals.blockAndWatch([SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGCHLD])
            try epoll.add(signalFD, events: SL_EPOLLIN, token: Master.signalToken)
        } catch {
            logger.error("\(error)")
            return 1
        }
        _ = sl_set_process_name("sluice: master")
        logger.info("sluice \(Version.string) master \(getpid()) serving \(runtime.listeners.map { $0.address.description }.joined(separator: ", "))")
        spawnWorkers()
        while true {
            let n = epoll.wait(timeoutMs: 100)
            for i in 0..<n {
                let (mask, token) = epoll.event(i)
                if token == Master.signalToken {
                    readSignals()
                } else if HealthChecker.owns(token) {
                    healthChecker?.handle(token: token)
                } else {
                    statsServer?.handle(token: token, mask: mask, snapshot: snapshot)
                }
            }
            let now = Clock.nowMs()
            statsServer?.sweep(now: now)
            if !stopping { healthChecker?.tick(now: now) }
            rates.sample(now: now, runtime: runtime)
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
        for fd in listeners.values { Syscall.close(fd) }
        logger.info("stopped")
        return 0
    }

    static let signalToken: UInt64 = 1

    // MARK: Workers

    private var workerCount: Int {
        switch config.workers {
        case .auto: return Int(sl_cpu_count())
        case .count(let n): return n
        }
    }

    private func spawnWorkers() {
        for position in 0..<workerCount { spawn(position: position) }
    }

    private func spawn(position: Int) {
        guard let slot = stats.workerSlot() else {
            logger.error("no free worker slot in the stats region")
            return
        }
        let generation = runtime.generation
        let pid = fork()
        if pid == 0 {
            let counters = stats.worker(slot)
            counters.pid = getpid()
            counters.generation = generation
            WorkerProcessMain.run(runtime: runtime, logger: logger, counters: counters,
                                  closing: [epoll.fd, signalFD] + (statsServer?.descriptors ?? []) + (healthChecker?.descriptors ?? []))
        }
        if pid < 0 {
            logger.error("fork: \(Syscall.errorString(errno))")
            stats.freeWorkerSlot(slot)
            respawns.append((position, Clock.nowMs() + 1000))
            return
        }
        workers.append(WorkerProcess(pid: pid, generation: generation, position: position, slot: slot, startedAt: Clock.nowMs()))
        logger.debug("worker \(pid) started (generation \(generation))")
    }

    private func reapChildren() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            guard let i = workers.firstIndex(where: { $0.pid == pid }) else { continue }
            let w = workers.remove(at: i)
            stats.freeWorkerSlot(w.slot)
            let how = Master.describe(status)
            if w.draining || stopping {
                logger.info("worker \(pid) (generation \(w.generation)) \(how)")
                if !workers.contains(where: { $0.generation == w.generation }) { drainingRuntimes[w.generation] = nil }
                continue
            }
            restarts[w.position, default: 0] += 1
            let lived = Clock.nowMs() - w.startedAt
            // A worker that dies young is restarted after a growing delay (100 ms doubling, at
            // most 1 s, so the SPEC's "replaced within 1 second" still holds): a crash loop costs
            // at most one fork per second per worker instead of spinning.
            quickDeaths[w.position] = lived < 1000 ? (quickDeaths[w.position] ?? 0) + 1 : 0
            let delay: Int64 = quickDeaths[w.position]! == 0 ? 0 : min(1000, 100 << min(quickDeaths[w.position]! - 1, 4))
            logger.warn("worker \(pid) \(how); starting a new one\(delay > 0 ? " in \(delay) ms" : "")")
            respawns.append((w.position, Clock.nowMs() + delay))
        }
    }

    private func runDueRespawns(now: Int64) {
        guard !respawns.isEmpty else { return }
        let due = respawns.filter { $0.at <= now }
        respawns.removeAll { $0.at <= now }
        for r in due where r.position < workerCount { spawn(position: r.position) }
    }

    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        return "killed by signal \(signal)" + (status & 0x80 != 0 ? " (core dumped)" : "")
    }

    // MARK: Signals

    private func readSignals() {
        var info = signalfd_siginfo()
        while read(signalFD, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            switch Int32(info.ssi_signo) {
            case SIGCHLD:
                reapChildren()
            case SIGHUP:
                if !stopping { reload() }
            case SIGTERM, SIGINT:
                if stopping {
                    logger.info("second stop signal: stopping now")
                    stopNow()
                } else {
                    logger.info("stop signal: draining for up to \(config.drainTimeoutMs) ms")
                    stopping = true
                    stopDeadline = Clock.nowMs() + Int64(config.drainTimeoutMs) + 1000
                    respawns.removeAll()
                    // Workers draining after a reload are already on their way out.
                    for w in workers where !w.draining { kill(w.pid, SIGTERM) }
                }
            case SIGQUIT:
                logger.info("SIGQUIT: stopping now")
                stopNow()
            case SIGUSR1:
                logger.reopen()
                logger.info("reopening log files")
                for w in workers { kill(w.pid, SIGUSR1) }
            default:
                break
            }
        }
    }

    private func stopNow() {
        stopping = true
        respawns.removeAll()
        for w in workers { kill(w.pid, SIGQUIT) }
        stopDeadline = Clock.nowMs() + 1000
    }

    // MARK: Reload

    /// Re-reads the configuration. Invalid: logged and counted, nothing changes. Valid: new
    /// workers start with it, kept listeners stay open, old workers drain and exit.
    private func reload() {
        logger.info("SIGHUP: reloading \(configPath)")
        let loaded: ProxyConfig
        switch ConfigLoader.load(path: configPath) {
        case .success(let c): loaded = c
        case .failure(let errors):
            reloadFailed(errors.errors.map(\.description).joined(separator: "; "))
            return
        }
        var open = listeners
        let next: Runtime
        do {
            next = try Runtime(config: loaded, configFile: configPath, generation: runtime.generation + 1, stats: stats,
                               listeners: &open)
        } catch {
            for (key, fd) in open where listeners[key] == nil { Syscall.close(fd) }
            reloadFailed(error.description)
            return
        }
        if loaded.stats != config.stats {
            do {
                statsServer?.close()
                statsServer = try loaded.stats.map { s throws(ProxyError) in try StatsServer(config: s, epoll: epoll, logger: logger) }
            } catch {
                logger.error("stats endpoint: \(error)")
            }
        }
        // Listeners the new configuration no longer names: the master's copy closes now, the
        // socket itself once the old workers holding it have exited.
        let used = Set(next.listeners.map { $0.address.description })
        for (key, fd) in open where !used.contains(key) {
            Syscall.close(fd)
            open[key] = nil
        }
        listeners = open
        drainingRuntimes[runtime.generation] = runtime
        runtime = next
        healthChecker?.close()
        healthChecker = HealthChecker(runtime: next, epoll: epoll, logger: logger)
        config = loaded
        logger.reconfigure(target: loaded.errorLog, level: loaded.logLevel)
        reloadsSucceeded += 1
        respawns.removeAll()
        // Only the workers of the generation being replaced; older ones are draining already and
        // a second SIGTERM would stop them at once.
        let old = workers.indices.filter { !workers[$0].draining }
        for i in old { workers[i].draining = true }
        spawnWorkers()
        for i in old { kill(workers[i].pid, SIGTERM) }
        logger.info("configuration reloaded: generation \(runtime.generation), \(workerCount) worker(s)")
    }

    private func reloadFailed(_ message: String) {
        reloadsFailed += 1
        lastReloadError = message
        logger.error("reload failed, keeping the running configuration: \(message)")
    }

    // MARK: Stats

    private func snapshot() -> StatsSnapshot {
        let now = Clock.nowMs()
        let workerSnapshots = workers.map { w -> WorkerSnapshot in
            let v = stats.worker(w.slot).read()
            return WorkerSnapshot(pid: w.pid, generation: w.generation, connectionsActive: v.connectionsActive,
                                  requestsTotal: v.requestsTotal, restarts: restarts[w.position] ?? 0)
        }
        let frontends = runtime.frontends.map {
            FrontendSnapshot(name: $0.config.name, values: $0.counters.read(), requestRate: rates.frontend($0.config.name))
        }
        var backends: [BackendSnapshot] = runtime.backends.map { b in
            BackendSnapshot(name: b.config.name, balance: b.config.balance.rawValue, histogram: b.counters.read(),
                            servers: b.servers.map { s in
                                ServerSnapshot(address: s.name, weight: s.config.weight, backup: s.config.backup,
                                               state: s.isUp(now: now) ? "up" : "down", values: s.counters.read(),
                                               requestRate: rates.server(b.config.name, s.name))
                            })
        }
        // Servers that only older, still draining workers use.
        for old in drainingRuntimes.values {
            for b in old.backends {
                let i = backends.firstIndex { $0.name == b.config.name }
                for s in b.servers where i == nil || !backends[i!].servers.contains(where: { $0.address == s.name }) {
                    let server = ServerSnapshot(address: s.name, weight: s.config.weight, backup: s.config.backup,
                                                state: "draining", values: s.counters.read())
                    if let i { backends[i].servers.append(server) } else {
                        backends.append(BackendSnapshot(name: b.config.name, balance: b.config.balance.rawValue,
                                                        histogram: b.counters.read(), servers: [server]))
                    }
                }
            }
        }
        return StatsSnapshot(version: Version.string, pid: getpid(), uptimeSeconds: Double(now - startedAt) / 1000,
                             generation: runtime.generation, reloadsSucceeded: reloadsSucceeded,
                             reloadsFailed: reloadsFailed, lastReloadError: lastReloadError,
                             workers: workerSnapshots, frontends: frontends, backends: backends)
    }
}
