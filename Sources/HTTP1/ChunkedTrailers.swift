// The trailer section of a chunked body: which lines ChunkedTranscoder keeps and how it writes
// them, and how the caller reads the lines a `.dechunk` transcoder kept.

extension ChunkedTranscoder {
    /// Copies the complete trailer line region[start..<end] (CRLF included) to `w` unless it names a
    /// field the proxy manages: as it came (.canonical), or as "name:value\r\n" (.dechunk). Returns
    /// the index after what was written.
    @inline(__always)
    func endTrailerLine(_ p: UnsafeRawBufferPointer, _ base: UnsafeMutableRawPointer, from start: Int, to end: Int, at w: Int) -> Int {
        var colon = start
        while p[colon] != COLON { colon += 1 }
        if KnownHeader.classify(p, start, colon).isProxyManaged { return w }
        if mode == .canonical {
            Self.move(base, from: start, to: w, end - start)
            return w + end - start
        }
        // Each byte goes to an index no higher than its own, so copying forward is safe.
        var o = w
        for i in start..<colon {
            base.storeBytes(of: Bytes.lower(p[i]), toByteOffset: o, as: UInt8.self)
            o += 1
        }
        base.storeBytes(of: COLON, toByteOffset: o, as: UInt8.self)
        o += 1
        var valueStart = colon + 1
        var valueEnd = end - 2
        while valueStart < valueEnd && Bytes.isWhitespace(p[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart && Bytes.isWhitespace(p[valueEnd - 1]) { valueEnd -= 1 }
        Self.move(base, from: valueStart, to: o, valueEnd - valueStart)
        o += valueEnd - valueStart
        base.storeBytes(of: CR, toByteOffset: o, as: UInt8.self)
        base.storeBytes(of: LF, toByteOffset: o + 1, as: UInt8.self)
        return o + 2
    }
}

/// The trailer fields a `.dechunk` ChunkedTranscoder kept, read from the "name:value\r\n" lines it
/// wrote (names lowercase, values without surrounding whitespace): region[output..<output + trailerLength]
/// of the call that completed the body.
public struct TrailerFields: IteratorProtocol {
    let lines: UnsafeRawBufferPointer
    var pos = 0

    public init(_ lines: UnsafeRawBufferPointer) {
        self.lines = lines
    }

    #if !DEBUG
    @_noAllocation  // checked by the compiler in optimized builds
    #endif
    public mutating func next() -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        guard pos < lines.count else { return nil }
        var colon = pos
        while lines[colon] != COLON { colon += 1 }
        var end = colon + 1
        while lines[end] != CR { end += 1 }
        defer { pos = end + 2 }
        return (UnsafeRawBufferPointer(rebasing: lines[pos..<colon]), UnsafeRawBufferPointer(rebasing: lines[(colon + 1)..<end]))
    }
}
