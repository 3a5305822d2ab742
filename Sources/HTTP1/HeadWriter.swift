/// Appends bytes to a caller-provided buffer; remembers if anything did not fit.
struct HeadWriter {
    let out: UnsafeMutableRawBufferPointer
    var count = 0
    var overflowed = false

    init(_ out: UnsafeMutableRawBufferPointer) {
        self.out = out
    }

    /// Bytes written, or nil when `out` was too small.
    var result: Int? { overflowed ? nil : count }

    @inline(__always)
    mutating func write(_ src: UnsafeRawPointer?, _ n: Int) {
        guard n > 0 else { return }
        guard !overflowed, let base = out.baseAddress, let src, n <= out.count - count else {
            overflowed = true
            return
        }
        (base + count).copyMemory(from: src, byteCount: n)
        count += n
    }

    /// Bytes [start, end) of `source`.
    @inline(__always)
    mutating func write(_ source: UnsafeRawBufferPointer, _ start: Int, _ end: Int) {
        write(source.baseAddress.map { $0 + start }, end - start)
    }

    @inline(__always)
    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        write(bytes.baseAddress, bytes.count)
    }

    @inline(__always)
    mutating func write(_ s: StaticString) {
        write(UnsafeRawPointer(s.utf8Start), s.utf8CodeUnitCount)
    }

    /// The value of field `f` of `source`.
    @inline(__always)
    mutating func writeValue(_ source: UnsafeRawBufferPointer, _ f: HeaderField) {
        write(source, Int(f.valueStart), Int(f.valueEnd))
    }

    /// Writes `value` in decimal.
    mutating func writeDecimal(_ value: Int) {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        guard !overflowed, let base = out.baseAddress, digits <= out.count - count else {
            overflowed = true
            return
        }
        rest = value
        var i = count + digits
        repeat {
            i -= 1
            base.storeBytes(of: UInt8(truncatingIfNeeded: 0x30 + rest % 10), toByteOffset: i, as: UInt8.self)
            rest /= 10
        } while rest > 0
        count += digits
    }

    /// Copies the field lines of `headers` verbatim, in runs of adjacent lines, leaving out hop-by-hop
    /// ones (except Upgrade when `keepUpgrade`) and X-Forwarded-* when `dropForwarded`.
    /// A field line spans from its name to the next one's name; the last ends before the head's final CRLF.
    /// When the parser merged identical Content-Lengths from several lines or a list, they are replaced
    /// by one "Content-Length: n" line after the others, so the next hop cannot read them differently.
    mutating func writeFields(_ source: UnsafeRawBufferPointer, _ headers: HeaderTable, headLength: Int, framing: BodyFraming,
                              keepUpgrade: Bool, dropForwarded: Bool) {
        let merged = Self.mergedContentLength(source, headers, framing)
        var runStart = -1
        for i in 0..<headers.count {
            let f = headers.fields[i]
            let keep = f.hopByHop ? keepUpgrade && f.known == .upgrade
                : !(dropForwarded && f.known.isXForwarded) && !(merged >= 0 && f.known == .contentLength)
            if keep {
                if runStart < 0 { runStart = Int(f.nameStart) }
            } else if runStart >= 0 {
                write(source, runStart, Int(f.nameStart))
                runStart = -1
            }
        }
        if runStart >= 0 { write(source, runStart, headLength - 2) }
        if merged >= 0 {
            write("Content-Length: ")
            writeDecimal(merged)
            write("\r\n")
        }
    }

    /// The body length when it was given by more than one Content-Length line or by a list; else -1.
    static func mergedContentLength(_ source: UnsafeRawBufferPointer, _ headers: HeaderTable, _ framing: BodyFraming) -> Int {
        guard case .contentLength(let n) = framing else { return -1 }
        var seen = false
        for i in 0..<headers.count where headers.fields[i].known == .contentLength {
            if seen { return n }
            seen = true
            let f = headers.fields[i]
            for j in Int(f.valueStart)..<Int(f.valueEnd) where source[j] == COMMA { return n }
        }
        return -1
    }

    /// End of the start line: where the first field line begins, or the head's final CRLF.
    @inline(__always)
    static func startLineEnd(_ headers: HeaderTable, headLength: Int) -> Int {
        headers.count > 0 ? Int(headers.fields[0].nameStart) : headLength - 2
    }
}
