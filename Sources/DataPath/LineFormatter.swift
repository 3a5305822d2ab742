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

    /// The longest line this entry can make: fixed parts plus every field escaped at 4 bytes
    /// per input byte.
    var worstLength: Int {
        256 + 4 * (frontend.count + client.count + line.method.count + line.target.count + line.version.count
                   + line.referer.count + line.userAgent.count + upstream.count)
    }
}

/// Formats access-log lines straight into a buffer (nginx's `combined` plus upstream and
/// timings, or one JSON object per line). Pure: the caller owns the buffer and the file.
struct LineFormatter {
    let buffer: UnsafeMutablePointer<UInt8>
    var used: Int
    let clock: LogClock

    // `CLIENT - - [time] "METHOD TARGET PROTO" STATUS BYTES "REFERER" "UA" "UPSTREAM" TOTAL UPSTREAM`
    mutating func combined(_ e: AccessEntry) {
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

    mutating func json(_ e: AccessEntry) {
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

    // MARK: Byte writers (no allocation; the caller made room for the longest line)

    @inline(__always) private mutating func byte(_ b: UInt8) {
        buffer[used] = b
        used += 1
    }

    private mutating func put(_ s: StaticString) {
        s.withUTF8Buffer { put(UnsafeRawBufferPointer($0)) }
    }

    private mutating func put(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        (buffer + used).update(from: base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        used += bytes.count
    }

    private mutating func put(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { put($0) }
    }

    private mutating func putInt(_ value: Int) {
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
    private mutating func putSeconds(_ micros: Int64) {
        let ms = Int(max(0, micros) / 1000)
        putInt(ms / 1000)
        byte(UInt8(ascii: "."))
        let frac = ms % 1000
        byte(UInt8(truncatingIfNeeded: 48 + frac / 100))
        byte(UInt8(truncatingIfNeeded: 48 + frac / 10 % 10))
        byte(UInt8(truncatingIfNeeded: 48 + frac % 10))
    }

    private static let hex: StaticString = "0123456789abcdef"

    private mutating func hexByte(_ c: UInt8) {
        LineFormatter.hex.withUTF8Buffer { h in
            byte(h[Int(c >> 4)])
            byte(h[Int(c & 15)])
        }
    }

    /// As nginx: `"`, `\` and bytes outside printable ASCII become \xHH.
    private mutating func escapedCombined(_ bytes: UnsafeRawBufferPointer) {
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
    private mutating func escapedJSON(_ bytes: UnsafeRawBufferPointer) {
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
