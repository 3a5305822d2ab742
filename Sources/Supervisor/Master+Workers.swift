import Balancer
import CLinux
import DataPath
import EventLoop
import Glibc

/// Forking, reaping and replacing workers.
extension Master {
    var workerCount: Int { Master.positions(config) }

    func spawnWorkers() {
        for position in 0..<workerCount { spawn(position: position) }
    }

    func spawn(position: Int) {
        guard let slot = stats.workerSlot() else {
            logger.error("no free worker slot in the stats region")
            return
        }
        let generation = runtime.generation
        let area = stats.area(slot)
        area.worker.generation = generation
        let master = getpid()
        let pid = fork()
        if pid == 0 {
            WorkerProcess.run(runtime: runtime, position: position, area: area, logger: logger, master: master,
                              closing: [loop.epoll.fd, signalFD] + (statsServer?.descriptors ?? []) + (healthChecker?.descriptors ?? [])
                                  + (discovery?.resolver.descriptors.map(\.fd) ?? []))
        }
        if pid < 0 {
            logger.error("fork: \(Syscall.errorString(errno))")
            stats.retireWorker(slot)
            respawns.append((position, Clock.nowMs() + 1000))
            return
        }
        workers.append(Master.ChildWorker(pid: pid, generation: generation, position: position, slot: slot, startedAt: Clock.nowMs()))
        logger.debug("worker \(pid) started (generation \(generation))")
    }

    func reapChildren() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            guard let i = workers.firstIndex(where: { $0.pid == pid }) else { continue }
            let w = workers.remove(at: i)
            // Its counts join the retired totals; its open connections and requests in flight
            // leave the gauges.
            stats.retireWorker(w.slot)
            let how = Master.describe(status)
            if w.draining || stopping {
                logger.info("worker \(pid) (generation \(w.generation)) \(how)")
                if !workers.contains(where: { $0.generation == w.generation }) { drainingRuntimes[w.generation] = nil }
                continue
            }
            restarts[w.position, default: 0] += 1
            let lived = Clock.nowMs() - w.startedAt
            // A worker that dies young is restarted after a growing delay (100 ms doubling, at
            // most 1 s, so a dead worker is still replaced within a second): a crash loop costs
            // at most one fork per second per worker instead of spinning.
            let deaths = lived < 1000 ? (quickDeaths[w.position] ?? 0) + 1 : 0
            quickDeaths[w.position] = deaths
            let delay: Int64 = deaths == 0 ? 0 : min(1000, 100 << min(deaths - 1, 4))
            logger.warn("worker \(pid) \(how); starting a new one\(delay > 0 ? " in \(delay) ms" : "")")
            respawns.append((w.position, Clock.nowMs() + delay))
        }
    }

    func runDueRespawns(now: Int64) {
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

    /// Logs the end of each passive mark (and clears it, so that it is told once): the workers
    /// already treat an expired mark as up.
    func noteEndedPassiveMarks(now: Int64) {
        for b in runtime.backends {
            for s in b.servers {
                let word = s.shared.passive
                let state = PassiveHealth.State(packed: word)
                guard state.downUntil > 0 && now >= state.downUntil else { continue }
                let (old, new) = s.shared.updatePassive { $0 == word ? PassiveHealth.State().packed : $0 }
                if old == word && new != word {
                    s.shared.upSince = now
                    logger.info("server \(s.name) of backend \(b.config.name) back after passive failure")
                }
            }
        }
    }
}
