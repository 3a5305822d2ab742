import Config
import DataPath
import EventLoop
import Glibc

/// SIGHUP: a new generation, or nothing at all.
extension Master {
    /// Re-reads the configuration. Invalid: logged and counted, nothing changes. Valid: new
    /// workers start with it, kept listeners stay open, old workers drain and exit.
    func reload() {
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
            try configureDiscovery(loaded)
            next = try Master.runtime(withDiscovered(loaded), file: configPath, generation: runtime.generation + 1,
                                      stats: stats, listeners: &open)
        } catch {
            // Whatever this attempt opened goes; the running groups and names stay as they were.
            for (key, group) in open { for fd in group.dropFirst(listeners[key]?.count ?? 0) { Syscall.close(fd) } }
            try? configureDiscovery(config)
            reloadFailed(error.description)
            return
        }
        if loaded.stats != config.stats {
            do {
                statsServer?.close()
                statsServer = try loaded.stats.map { s throws(ProxyError) in try makeStatsServer(s) }
            } catch {
                logger.error("stats endpoint: \(error)")
            }
        }
        // Listeners the new configuration no longer names, and the sockets of worker positions
        // it no longer has: the master's copy closes now, the socket itself once the old worker
        // holding it has taken in its queue and let go (see the README on lowering `workers`).
        let used = Set(loaded.frontends.flatMap(\.listens).map(\.description))
        let positions = Master.positions(loaded)
        for (key, group) in open {
            let keep = used.contains(key) ? positions : 0
            for fd in group.dropFirst(keep) { Syscall.close(fd) }
            open[key] = keep > 0 ? Array(group.prefix(keep)) : nil
        }
        listeners = open
        config = loaded
        logger.reconfigure(target: loaded.errorLog, level: loaded.logLevel)
        reloadsSucceeded += 1
        switchTo(next)
        logger.info("configuration reloaded: generation \(runtime.generation), \(workerCount) worker(s)")
    }

    /// Makes `next` the serving generation: its workers start, the current ones drain.
    func switchTo(_ next: Runtime) {
        drainingRuntimes[runtime.generation] = runtime
        runtime = next
        healthChecker?.close()
        healthChecker = HealthChecker(runtime: next, loop: loop, logger: logger)
        respawns.removeAll()
        // Only the workers of the generation being replaced; older ones are draining already and
        // a second SIGTERM would stop them at once.
        let old = workers.indices.filter { !workers[$0].draining }
        for i in old { workers[i].draining = true }
        spawnWorkers()
        for i in old { kill(workers[i].pid, SIGTERM) }
    }

    private func reloadFailed(_ message: String) {
        reloadsFailed += 1
        lastReloadError = message
        logger.error("reload failed, keeping the running configuration: \(message)")
    }
}
