import Glibc

/// The current time as access logs print it, formatted once per second.
final class LogClock {
    private(set) var combined: [UInt8] = []
    private(set) var iso: [UInt8] = []
    private var second = -1

    func update() {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        update(seconds: ts.tv_sec)
    }

    /// Sets the time shown to `seconds` since the epoch (reformatting only when it changed).
    func update(seconds: Int) {
        guard seconds != second else { return }
        second = seconds
        var t = seconds
        var parts = tm()
        gmtime_r(&t, &parts)
        combined = LogClock.format(&parts, "[%d/%b/%Y:%H:%M:%S +0000]")
        iso = LogClock.format(&parts, "%Y-%m-%dT%H:%M:%SZ")
    }

    private static func format(_ parts: inout tm, _ pattern: String) -> [UInt8] {
        var out = [CChar](repeating: 0, count: 64)
        let n = strftime(&out, 64, pattern, &parts)
        return out[0..<n].map { UInt8(bitPattern: $0) }
    }
}
