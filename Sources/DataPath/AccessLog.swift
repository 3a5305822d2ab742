import Config
import Glibc

/// What one access-log line says about a request.
struct AccessEntry {
    var frontend: UnsafeRawBufferPointer
    var client: UnsafeRawBufferPointer
    var line: RequestLine
    var status: Int
    var bytes: Int
    var upstream: UnsafeRawBufferPointer
    var totalMicros: Int64
    /// -1 when no upstream was involved.
    var upstreamMicros: Int64
}

/// One frontend's access log in one worker. Lines are formatted straight into a buffer and
/// written in batches (when the buffer is three-quarters full, and by the worker's 100 ms
/// sweep), not one write per request. O_APPEND keeps lines of several workers whole.
final class AccessLog {
    private let format: AccessLogFormat
    private let target: LogTarget
    private var fd: Int32 = -1
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 256 * 1024
    private var used = 0
    private let logger: Logger
    private let clock: LogClock
    /// Lines that found the buffer full even after a flush (the log cannot take writes).
    private var dropped = 0

    init(target: LogTarget, format: AccessLogFormat, logger: Logger, clock: LogClock) {
        self.target = target
        self.format = format
        self.logger = logger
        self.clock = clock
        buffer = .allocate(capacity: capacity)
        open()
    }

    private func open() {
        switch target {
        case .stdout: fd = 1
        case .stderr: fd = 2
        case .file(let path):
            let newFD = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            if newFD < 0 {
                logger.error("cannot open access_log \(path): \(String(cString: strerror(errno)))")
                return
            }
            if fd > 2 { close(fd) }
            fd = newFD
        }
    }

    /// SIGUSR1: write what is buffered to the old file, then continue in a new one.
    func reopen() {
        flush()
        open()
    }

    /// Writes what the log takes; a short write or EAGAIN keeps the rest, in order, for the
    /// next flush.
    func flush() {
        var offset = 0
        while offset < used && fd >= 0 {
            let n = write(fd, buffer + offset, used - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
        if offset > 0 && offset < used { buffer.update(from: buffer + offset, count: used - offset) }
        used -= offset
        if dropped > 0 && used == 0 {
            logger.error("access log: \(dropped) line(s) dropped while the log could not be written")
            dropped = 0
        }
    }

    func append(_ e: AccessEntry) {
        let line = e.line
        // The longest line: fixed parts plus every field escaped at 4 bytes per input byte.
        let worst = 256 + 4 * (e.frontend.count + e.client.count + line.method.count + line.target.count
            + line.version.count + line.referer.count + line.userAgent.count + e.upstream.count)
        if used + worst > capacity { flush() }
        guard used + worst <= capacity else {
            dropped += 1
            return
        }
        switch format {
        case .combined: combined(e)
        case .json: json(e)
        }
        if used > capacity * 3 / 4 { flush() }
    }

    // `CLIENT - - [time] "METHOD TARGET PROTO" STATUS BYTES "REFERER" "UA" "UPSTREAM" TOTAL UPSTREAM`
    private func combined(_ e: AccessEntry) {
        let line = e.line
        put(e.client)
        put(" - - ")
        put(clock.combined)
        put(" \"")
        if line.method.isEmpty && line.target.isEmpty {
            put("-")
        } else {
            escapedCombined(line.method)
            put(" ")
            escapedCombined(line.target)
            put(" ")
            escapedCombined(line.version)
        }
        put("\" ")
        putInt(e.status)
        put(" ")
        putInt(e.bytes)
        put(" \"")
        if line.referer.isEmpty { put("-") } else { escapedCombined(line.referer) }
        put("\" \"")
        if line.userAgent.isEmpty { put("-") } else { escapedCombined(line.userAgent) }
        put("\" \"")
        if e.upstream.isEmpty { put("-") } else { put(e.upstream) }
        put("\" ")
        putSeconds(e.totalMicros)
        put(" ")
        if e.upstreamMicros < 0 { put("-") } else { putSeconds(e.upstreamMicros) }
        put("\n")
    }

    private func json(_ e: AccessEntry) {
        let line = e.line
        put("{\"time\":\"")
        put(clock.iso)
        put("\",\"frontend\":\"")
        escapedJSON(e.frontend)
        put("\",\"client\":\"")
        put(e.client)
        put("\",\"method\":\"")
        escapedJSON(line.method)
        put("\",\"target\":\"")
        escapedJSON(line.target)
        put("\",\"protocol\":\"")
        escapedJSON(line.version)
        put("\",\"status\":")
        putInt(e.status)
        put(",\"bytes\":")
        putInt(e.bytes)
        put(",\"referer\":\"")
        escapedJSON(line.referer)
        put("\",\"user_agent\":\"")
        escapedJSON(line.userAgent)
        put("\",\"upstream\":")
        if e.upstream.isEmpty { put("null") } else {
            put("\"")
            put(e.upstream)
            put("\"")
        }
        put(",\"request_time\":")
        putSeconds(e.totalMicros)
        put(",\"upstream_time\":")
        if e.upstreamMicros < 0 { put("null") } else { putSeconds(e.upstreamMicros) }
        put("}\n")
    }

    // MARK: Byte writers (no allocation)

    @inline(__always) private func byte(_ b: UInt8) {
        buffer[used] = b
        used += 1
    }

    private func put(_ s: StaticString) {
        s.withUTF8Buffer { put(UnsafeRawBufferPointer($0)) }
    }

    private func put(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        (buffer + used).update(from: base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        used += bytes.count
    }

    private func put(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { put($0) }
    }

    private func putInt(_ value: Int) {
        var v = value
        if v < 0 { byte(UInt8(ascii: "-")); v = -v }
        var digits = 1
        var probe = v
        while probe >= 10 { probe /= 10; digits += 1 }
        var i = used + digits - 1
        repeat {
            buffer[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
            v /= 10
            i -= 1
        } while v > 0
        used += digits
    }

    /// Seconds with millisecond precision, as nginx prints $request_time: `0.003`.
    private func putSeconds(_ micros: Int64) {
        let ms = Int(max(0, micros) / 1000)
        putInt(ms / 1000)
        byte(UInt8(ascii: "."))
        let frac = ms % 1000
        byte(UInt8(truncatingIfNeeded: 48 + frac / 100))
        byte(UInt8(truncatingIfNeeded: 48 + frac / 10 % 10))
        byte(UInt8(truncatingIfNeeded: 48 + frac % 10))
    }

    private static let hex: StaticString = "0123456789abcdef"

    private func hexByte(_ c: UInt8) {
        AccessLog.hex.withUTF8Buffer { h in
            byte(h[Int(c >> 4)])
            byte(h[Int(c & 15)])
        }
    }

    /// As nginx: `"`, `\` and bytes outside printable ASCII become \xHH.
    private func escapedCombined(_ bytes: UnsafeRawBufferPointer) {
        for c in bytes {
            if c < 0x20 || c >= 0x7f || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                byte(UInt8(ascii: "\\"))
                byte(UInt8(ascii: "x"))
                hexByte(c)
            } else {
                byte(c)
            }
        }
    }

    /// JSON string content: `"`, `\` and control bytes escaped; other bytes copied (a request
    /// may carry non-UTF-8 bytes; they are escaped as \u00HH so the line stays valid JSON).
    private func escapedJSON(_ bytes: UnsafeRawBufferPointer) {
        for c in bytes {
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                byte(UInt8(ascii: "\\"))
                byte(c)
            } else if c < 0x20 || c >= 0x7f {
                put("\\u00")
                hexByte(c)
            } else {
                byte(c)
            }
        }
    }
}

/// The current time as access logs print it, formatted once per second.
final class LogClock {
    private(set) var combined: [UInt8] = []
    private(set) var iso: [UInt8] = []
    private var second = -1

    func update() {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        guard ts.tv_sec != second else { return }
        second = ts.tv_sec
        var t = ts.tv_sec
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
