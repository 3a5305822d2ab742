import DataPath
import EventLoop
import Glibc
import Stats

/// What the stats endpoint shows, gathered from the region and the master's own bookkeeping.
extension Master {
    func snapshot() -> StatsSnapshot {
        let now = Clock.nowMs()
        let workerSnapshots = workers.map { w -> WorkerSnapshot in
            let v = stats.area(w.slot).worker.read()
            return WorkerSnapshot(pid: w.pid, generation: w.generation, connectionsActive: v.connectionsActive,
                                  requestsTotal: v.requestsTotal, restarts: restarts[w.position] ?? 0)
        }
        let frontends = runtime.frontends.map {
            FrontendSnapshot(name: $0.config.name, values: stats.frontendValues($0.statsSlot), requestRate: rates.frontend($0.config.name))
        }
        var backends: [BackendSnapshot] = runtime.backends.map { b in
            BackendSnapshot(name: b.config.name, balance: b.config.balance.rawValue, histogram: stats.backendHistogram(b.statsSlot),
                            servers: b.servers.map { s in
                                ServerSnapshot(address: s.name, weight: s.weight, backup: s.config.backup,
                                               state: s.state(now: now), values: stats.serverValues(s.statsSlot),
                                               requestRate: rates.server(b.config.name, s.name),
                                               adminState: RuntimeControl.adminWord(s.shared.adminState),
                                               adminChange: adminChanges[Master.adminKey(b.config.name, s.name)])
                            })
        }
        // Servers that only older, still draining workers use.
        for old in drainingRuntimes.values {
            for b in old.backends {
                let i = backends.firstIndex { $0.name == b.config.name }
                for s in b.servers where i == nil || !backends[i!].servers.contains(where: { $0.address == s.name }) {
                    let server = ServerSnapshot(address: s.name, weight: s.config.weight, backup: s.config.backup,
                                                state: "draining", values: stats.serverValues(s.statsSlot))
                    if let i { backends[i].servers.append(server) } else {
                        backends.append(BackendSnapshot(name: b.config.name, balance: b.config.balance.rawValue,
                                                        histogram: stats.backendHistogram(b.statsSlot), servers: [server]))
                    }
                }
            }
        }
        return StatsSnapshot(version: Version.string, pid: getpid(), uptimeSeconds: Double(now - startedAt) / 1000,
                             generation: runtime.generation, reloadsSucceeded: reloadsSucceeded,
                             reloadsFailed: reloadsFailed, lastReloadError: lastReloadError,
                             workers: workerSnapshots, frontends: frontends, backends: backends,
                             discovery: discoverySnapshots())
    }
}
