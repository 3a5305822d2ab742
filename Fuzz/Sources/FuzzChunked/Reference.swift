import HTTP1

/// RFC 9112 7.1 read over the whole buffer, one rule per function, with the decoder's limits:
///   chunked-body = *chunk last-chunk trailer-section CRLF
///   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
///   chunk-ext    = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] )
///   trailer      = *( field-name ":" OWS field-value OWS CRLF )
/// A size line (with its CRLF) may hold 4096 bytes, the trailer section 16384, a size 2^62.
/// Records what it read: the data of each chunk and each trailer field.
struct Reference {
    let p: UnsafeRawBufferPointer
    var i = 0
    /// Bytes before this index may be read in the current line or section.
    var limit = 0
    /// The data of each chunk, as ranges of `p`.
    var chunks: [Range<Int>] = []
    /// Each trailer field line: its name, its value (between the colon and the CR, untrimmed) and
    /// the whole line with its CRLF.
    var trailers: [(name: Range<Int>, value: Range<Int>, line: Range<Int>)] = []

    init(_ p: UnsafeRawBufferPointer) {
        self.p = p
    }

    enum Stop: Error {
        case incomplete
        case failed(Int, HTTPError)
    }

    mutating func run() -> Outcome {
        do throws(Stop) {
            while true {
                let size = try sizeLine()
                if size == 0 { break }
                if p.count - i < size { return .incomplete }
                chunks.append(i..<(i + size))
                i += size
                unlimited()
                try expect(0x0D, "missing crlf after chunk data")
                try expect(0x0A, "missing crlf after chunk data")
            }
            try trailerSection()
            return .complete(i)
        } catch {
            switch error {
            case .incomplete: return .incomplete
            case .failed(let at, let e): return .failed(at, e)
            }
        }
    }

    /// Starts a line or section of at most `max` bytes at `i`.
    mutating func bounded(_ max: Int) {
        limit = min(p.count, i + max)
    }

    mutating func unlimited() {
        limit = p.count
    }

    /// The next byte, or why there is none: the end of the input, or the first byte beyond the limit.
    mutating func peek(_ tooLong: StaticString) throws(Stop) -> UInt8 {
        if i < limit { return p[i] }
        if i >= p.count { throw .incomplete }
        throw .failed(i, HTTPError(status: 400, reason: tooLong))
    }

    func fail(_ reason: StaticString) -> Stop { .failed(i, HTTPError(status: 400, reason: reason)) }

    mutating func expect(_ b: UInt8, _ reason: StaticString) throws(Stop) {
        guard try peek(lineReason) == b else { throw fail(reason) }
        i += 1
    }

    var lineReason: StaticString = "chunk size line too long"

    static func isTchar(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(b)
        }
    }

    static func isWS(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

    static func hex(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: return Int(b - 0x30)
        case 0x41...0x46: return Int(b - 0x41 + 10)
        case 0x61...0x66: return Int(b - 0x61 + 10)
        default: return nil
        }
    }

    mutating func skipWS() throws(Stop) {
        while Self.isWS(try peek(lineReason)) { i += 1 }
    }

    /// chunk-size [ chunk-ext ] CRLF; returns the size.
    mutating func sizeLine() throws(Stop) -> Int {
        bounded(4096)
        lineReason = "chunk size line too long"
        guard let first = Self.hex(try peek(lineReason)) else { throw fail("invalid chunk size") }
        var size = first
        i += 1
        while let d = Self.hex(try peek(lineReason)) {
            // size * 16 + d <= 2^62, written so that it cannot overflow
            guard size <= ((1 << 62) - d) / 16 else { throw fail("chunk size too large") }
            size = size * 16 + d
            i += 1
        }
        // The size may be followed by ";", by whitespace before ";", or by the CR.
        var b = try peek(lineReason)
        if b != 0x0D && b != 0x3B && !Self.isWS(b) { throw fail("invalid chunk size") }
        while b != 0x0D {
            try extensionElement()
            b = try peek(lineReason)
        }
        i += 1
        guard try peek(lineReason) == 0x0A else { throw fail("bare cr in chunk size line") }
        i += 1
        return size
    }

    /// BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ], ending before the next
    /// element's whitespace or ";", or before the CR.
    mutating func extensionElement() throws(Stop) {
        try skipWS()
        guard try peek(lineReason) == 0x3B else { throw fail("invalid chunk extension") }
        i += 1
        try skipWS()
        guard Self.isTchar(try peek(lineReason)) else { throw fail("invalid chunk extension") }
        while Self.isTchar(try peek(lineReason)) { i += 1 }
        var b = try peek(lineReason)
        if Self.isWS(b) {
            // Whitespace after a name is BWS before "=" or ";": never before the CR.
            try skipWS()
            b = try peek(lineReason)
            guard b == 0x3D || b == 0x3B else { throw fail("invalid chunk extension") }
        }
        if b == 0x3D {
            i += 1
            try skipWS()
            b = try peek(lineReason)
            if Self.isTchar(b) {
                while Self.isTchar(try peek(lineReason)) { i += 1 }
            } else if b == 0x22 {
                try quotedString()
            } else {
                throw fail("invalid chunk extension")
            }
            b = try peek(lineReason)
        }
        // What may follow an element: the next one's ";" or whitespace (then ";"), or the CR.
        if !(b == 0x3B || b == 0x0D || Self.isWS(b)) { throw fail("invalid chunk extension") }
        if Self.isWS(b) {
            try skipWS()
            guard try peek(lineReason) == 0x3B else { throw fail("invalid chunk extension") }
        }
    }

    /// DQUOTE *( qdtext / quoted-pair ) DQUOTE, where both allow HTAB, SP, VCHAR and obs-text.
    mutating func quotedString() throws(Stop) {
        i += 1
        while true {
            let b = try peek(lineReason)
            i += 1
            if b == 0x22 { return }
            if b == 0x5C {
                let e = try peek(lineReason)
                guard Self.isWS(e) || (e > 0x20 && e != 0x7F) else { throw fail("invalid chunk extension") }
                i += 1
            } else if !(Self.isWS(b) || (b > 0x20 && b != 0x7F)) {
                i -= 1
                throw fail("invalid chunk extension")
            }
        }
    }

    /// *( field-name ":" field-value CRLF ) CRLF, at most 16384 bytes in all.
    mutating func trailerSection() throws(Stop) {
        bounded(16384)
        lineReason = "trailer section too large"
        while true {
            let b = try peek(lineReason)
            if b == 0x0D {
                i += 1
                guard try peek(lineReason) == 0x0A else { throw fail("bare cr in trailer") }
                i += 1
                return
            }
            guard Self.isTchar(b) else { throw fail("invalid trailer field") }
            let lineStart = i
            while Self.isTchar(try peek(lineReason)) { i += 1 }
            let nameEnd = i
            guard try peek(lineReason) == 0x3A else { throw fail("invalid trailer field") }
            i += 1
            while true {
                let v = try peek(lineReason)
                if v == 0x0D { break }
                guard Self.isWS(v) || (v > 0x20 && v != 0x7F) else { throw fail("invalid trailer field") }
                i += 1
            }
            let valueEnd = i
            i += 1
            guard try peek(lineReason) == 0x0A else { throw fail("bare cr in trailer") }
            i += 1
            trailers.append((lineStart..<nameEnd, (nameEnd + 1)..<valueEnd, lineStart..<i))
        }
    }
}
