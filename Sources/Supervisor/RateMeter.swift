import DataPath
import Stats

/// Request rates for the HTML stats page: the master samples the cumulative counters about
/// once a second and keeps the rate over the last interval.
final class RateMeter {
    private var lastSample: Int64 = 0
    private var totals: [String: Int] = [:]
    private var perSecond: [String: Double] = [:]

    func sample(now: Int64, stats: StatsRegion, runtime: Runtime) {
        let elapsed = now - lastSample
        guard elapsed >= 1000 else { return }
        var next: [String: Int] = [:]
        for f in runtime.frontends { next["f " + f.config.name] = stats.frontendValues(f.statsSlot).requestsTotal }
        for b in runtime.backends {
            for s in b.servers { next["s " + b.config.name + " " + s.name] = stats.serverValues(s.statsSlot).requestsTotal }
        }
        for (key, total) in next {
            perSecond[key] = lastSample == 0 ? 0 : Double(max(0, total - (totals[key] ?? total))) * 1000 / Double(elapsed)
        }
        totals = next
        lastSample = now
    }

    func frontend(_ name: String) -> Double { perSecond["f " + name] ?? 0 }
    func server(_ backend: String, _ address: String) -> Double { perSecond["s " + backend + " " + address] ?? 0 }
}
