// Helpers shared by the fuzz targets: checks that trap with a message, exact-size copies (so that
// AddressSanitizer sees any read past the bytes a function was given), a deterministic split of an
// input into arrival pieces, and a field-line scanner for rewritten heads that does not use the
// parser under test.
import HTTP1

/// Traps (libFuzzer saves the input) when an invariant does not hold.
@inline(__always)
public func require(_ condition: Bool, _ message: @autoclosure () -> String,
                    file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError("invariant violated: \(message())", file: file, line: line) }
}

/// A heap copy of `count` bytes, exactly that large. Deallocate it.
public func exactCopy(_ source: UnsafeRawBufferPointer, _ start: Int = 0, _ count: Int? = nil) -> UnsafeMutableRawBufferPointer {
    let n = count ?? source.count - start
    // allocate(byteCount: 0) still returns a unique pointer; ASan flags any access to it.
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 1)
    if n > 0 { copy.baseAddress!.copyMemory(from: source.baseAddress! + start, byteCount: n) }
    return copy
}

/// Runs `body` over an exact-size copy of bytes [start, start + count) of `source`.
public func withExactCopy<R>(_ source: UnsafeRawBufferPointer, _ start: Int = 0, _ count: Int? = nil,
                             _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    let copy = exactCopy(source, start, count)
    defer { copy.deallocate() }
    return try body(UnsafeRawBufferPointer(copy))
}

/// FNV-1a of the bytes: a seed that is a pure function of the input, so a crash reproduces.
public func seed(of bytes: UnsafeRawBufferPointer) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}

/// xorshift64*: small, deterministic pseudo-random numbers.
public struct SplitRandom {
    var state: UInt64

    public init(seed: UInt64) {
        state = seed == 0 ? 0x9e37_79b9_7f4a_7c15 : seed
    }

    public mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_f491_4f6c_dd1d
    }

    /// A piece length: mostly short (1...8), sometimes 0, sometimes longer (up to 300).
    public mutating func pieceLength() -> Int {
        let r = next()
        switch r % 16 {
        case 0: return 0
        case 1, 2: return Int((r >> 8) % 300) + 1
        default: return Int((r >> 8) % 8) + 1
        }
    }

    /// Ends of the arrival prefixes of `total` bytes: increasing, the last one `total`.
    public mutating func prefixEnds(total: Int, maxPieces: Int = 24) -> [Int] {
        var ends: [Int] = []
        var at = 0
        while at < total && ends.count < maxPieces - 1 {
            at = min(total, at + pieceLength())
            ends.append(at)
        }
        if ends.last != total { ends.append(total) }
        return ends
    }
}

/// HeadScanner.headEnd must give the same answer when the bytes arrive in pieces and the caller
/// rescans from max(0, previousCount - 3), as the proxy does; each prefix is an exact-size copy.
/// Returns the end found over all the bytes.
public func checkHeadEndIncremental(_ bytes: UnsafeRawBufferPointer) -> Int? {
    let whole = withExactCopy(bytes) { HeadScanner.headEnd(in: $0, searchFrom: 0) }
    let expected = referenceHeadEnd(bytes)
    require(whole == expected, "headEnd \(String(describing: whole)), expected \(String(describing: expected))")
    if let end = whole {
        require(end >= 1 && end <= bytes.count, "headEnd \(end) outside 1...\(bytes.count)")
        let last = bytes[end - 1]
        require(last == 0x0A || last == 0x0D, "headEnd \(end) not just past a CR or LF")
    }
    var random = SplitRandom(seed: seed(of: bytes))
    var scanFrom = 0
    for count in random.prefixEnds(total: bytes.count) {
        let found = withExactCopy(bytes, 0, count) { HeadScanner.headEnd(in: $0, searchFrom: scanFrom) }
        // From scratch on the same prefix: the rescan shortcut must not change the answer.
        let fresh = withExactCopy(bytes, 0, count) { HeadScanner.headEnd(in: $0, searchFrom: 0) }
        require(found == fresh, "headEnd from \(scanFrom) = \(String(describing: found)), from 0 = \(String(describing: fresh)) on \(count) bytes")
        if let found {
            require(found == whole, "headEnd on a \(count)-byte prefix = \(found), on all bytes = \(String(describing: whole))")
            return whole
        }
        if let w = whole {
            // An end at a bare CR is known only once the byte after it (not LF) has arrived.
            let needed = bytes[w - 1] == 0x0D ? w + 1 : w
            require(needed > count, "headEnd missed the end \(w) within a \(count)-byte prefix")
        }
        scanFrom = max(0, count - 3)
    }
    return whole
}

/// headEnd's contract, one byte at a time: just past the first CRLFCRLF, or just past the first
/// LF not preceded by CR, or just past the first CR followed by something other than LF.
public func referenceHeadEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
    for i in bytes.indices {
        switch bytes[i] {
        case 0x0A:
            if i == 0 || bytes[i - 1] != 0x0D { return i + 1 }
            if i >= 3 && bytes[i - 3] == 0x0D && bytes[i - 2] == 0x0A { return i + 1 }
        case 0x0D:
            if i + 1 < bytes.count && bytes[i + 1] != 0x0A { return i + 1 }
        default:
            break
        }
    }
    return nil
}

/// One field line of a head, as found by splitting at CRLF and at the first ":".
public struct RawField {
    /// Lowercased name.
    public var name: String
    /// Value with surrounding spaces and tabs removed.
    public var value: [UInt8]
}

/// tchar (RFC 9110 5.6.2), written out independently of the module's bit masks.
public func isTchar(_ b: UInt8) -> Bool {
    switch b {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
         UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
         UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        return true
    default: return false
    }
}

/// The start line of a head: its bytes before the first CRLF.
public func startLine(_ head: UnsafeRawBufferPointer) -> [UInt8] {
    Array(head.prefix { $0 != 0x0D })
}

/// Splits a head (start line, field lines, empty line) into its field lines without the parser under
/// test, checking RFC 9112's syntax on the way: every line ends with CRLF (no bare CR or LF), a field
/// line is field-name ":" OWS field-value OWS with a tchar name and a value of HTAB, SP, VCHAR and
/// obs-text only (no obs-fold, no whitespace before the colon). Traps on anything else: a head that
/// the parser accepted or the rewriter wrote must pass.
public func rawFields(_ head: UnsafeRawBufferPointer) -> [RawField] {
    let bytes = Array(head)
    require(bytes.count >= 4 && bytes.suffix(4).elementsEqual([13, 10, 13, 10]), "head does not end with CRLFCRLF")
    var lines: [[UInt8]] = []
    var start = 0
    var i = 0
    while i < bytes.count {
        if bytes[i] == 10 {
            require(i > start && bytes[i - 1] == 13, "bare LF at \(i) in head")
            lines.append(Array(bytes[start..<(i - 1)]))
            start = i + 1
        } else if bytes[i] == 13 {
            require(i + 1 < bytes.count && bytes[i + 1] == 10, "bare CR at \(i) in head")
        }
        i += 1
    }
    require(start == bytes.count, "head has bytes after its last CRLF")
    require(lines.count >= 2 && lines.last!.isEmpty, "head lacks the empty line")
    require(!lines.dropLast().contains { $0.isEmpty }, "empty line inside head")
    return lines.dropFirst().dropLast().map { line in
        guard let colon = line.firstIndex(of: 0x3A) else {
            require(false, "field line without colon: \(escaped(line))")
            return RawField(name: "", value: [])
        }
        require(colon > 0 && line[..<colon].allSatisfy(isTchar), "field name not a token: \(escaped(line))")
        require(line[(colon + 1)...].allSatisfy { $0 == 0x09 || $0 >= 0x20 && $0 != 0x7F }, "bad byte in field value: \(escaped(line))")
        var value = line[(colon + 1)...]
        while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
        while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
        return RawField(name: lowercased(line[..<colon]), value: Array(value))
    }
}

public func lowercased<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
}

public func text(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> [UInt8] {
    Array(bytes[start..<end])
}

extension Array where Element == RawField {
    public func count(named name: String) -> Int { reduce(0) { $0 + ($1.name == name ? 1 : 0) } }
    public func values(named name: String) -> [[UInt8]] { filter { $0.name == name }.map(\.value) }
}

/// Names (lowercased) of the parsed fields in `headers` of `source`, with their hop-by-hop marks.
public func parsedFields(_ source: UnsafeRawBufferPointer, _ headers: HeaderTable) -> [(name: String, known: KnownHeader, hopByHop: Bool, value: [UInt8])] {
    (0..<headers.count).map { i in
        let f = headers[i]
        return (lowercased(source[Int(f.nameStart)..<Int(f.nameEnd)]), f.known, f.hopByHop,
                Array(source[Int(f.valueStart)..<Int(f.valueEnd)]))
    }
}

/// Do two tables hold the same fields, offsets and marks?
public func sameTable(_ a: HeaderTable, _ b: HeaderTable) -> Bool {
    guard a.count == b.count else { return false }
    for i in 0..<a.count {
        let x = a[i], y = b[i]
        guard x.nameStart == y.nameStart, x.nameEnd == y.nameEnd, x.valueStart == y.valueStart, x.valueEnd == y.valueEnd,
              x.known == y.known, x.hopByHop == y.hopByHop, x.hasUnderscore == y.hasUnderscore else { return false }
    }
    return true
}

/// Decimal digits only (leading zeros allowed): the value, or nil.
public func decimal(_ bytes: [UInt8]) -> Int? {
    guard !bytes.isEmpty else { return nil }
    var n = 0
    for b in bytes {
        guard b >= 0x30 && b <= 0x39 else { return nil }
        let (m, o1) = n.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int(b - 0x30))
        if o1 || o2 { return nil }
        n = a
    }
    return n
}

/// Writes with `write` into a buffer of `capacity` bytes and checks the writer's size contract:
/// the same bytes again into a buffer of exactly that size, nil into one byte less (both exact-size
/// heap blocks, so AddressSanitizer sees any write past them). Returns the bytes written.
public func writeChecked(capacity: Int, _ what: String, _ write: (UnsafeMutableRawBufferPointer) -> Int?) -> [UInt8] {
    let big = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
    defer { big.deallocate() }
    guard let n = write(big) else {
        require(false, "\(what): nil into \(capacity) bytes")
        return []
    }
    require(n > 0 && n <= capacity, "\(what): wrote \(n) of \(capacity)")
    let result = Array(big[0..<n])
    let exact = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 1)
    defer { exact.deallocate() }
    require(write(exact) == n && exact.elementsEqual(result), "\(what): different bytes into an exact-size buffer")
    let short = UnsafeMutableRawBufferPointer.allocate(byteCount: n - 1, alignment: 1)
    defer { short.deallocate() }
    require(write(short) == nil, "\(what): did not report nil into \(n - 1) bytes")
    return result
}

public func describe(_ framing: BodyFraming) -> String {
    switch framing {
    case .none: return "none"
    case .contentLength(let n): return "content-length \(n)"
    case .chunked: return "chunked"
    case .untilClose: return "until-close"
    }
}

/// Printable form of bytes for messages.
public func escaped<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var s = ""
    for b in bytes.prefix(400) {
        switch b {
        case 0x0D: s += "\\r"
        case 0x0A: s += "\\n"
        case 0x5C: s += "\\\\"
        case 0x20..<0x7F: s += String(UnicodeScalar(b))
        default:
            let hex = String(b, radix: 16)
            s += "\\x" + (hex.count == 1 ? "0" + hex : hex)
        }
    }
    return s
}

/// Elements of comma-separated list values, OWS-trimmed and lowercased, empty ones left out.
public func listElements(_ values: [[UInt8]]) -> [String] {
    values.flatMap { v in
        v.split(separator: 0x2C, omittingEmptySubsequences: false).map { e -> String in
            var e = e[...]
            while let f = e.first, f == 0x20 || f == 0x09 { e = e.dropFirst() }
            while let l = e.last, l == 0x20 || l == 0x09 { e = e.dropLast() }
            return lowercased(e)
        }
    }.filter { !$0.isEmpty }
}

/// What the Content-Length lines say, read independently: every list element is digits and all
/// have one value (nil when there is no line; traps when they disagree or are not numbers).
public func independentContentLength(_ fields: [RawField]) -> Int? {
    let values = fields.values(named: "content-length")
    guard !values.isEmpty else { return nil }
    var result: Int?
    for v in values {
        for element in v.split(separator: 0x2C, omittingEmptySubsequences: false) {
            var e = element[...]
            while let f = e.first, f == 0x20 || f == 0x09 { e = e.dropFirst() }
            while let l = e.last, l == 0x20 || l == 0x09 { e = e.dropLast() }
            guard let n = decimal(Array(e)) else {
                require(false, "accepted Content-Length element \(escaped(e)) is not a number")
                return nil
            }
            require(result == nil || result == n, "accepted Content-Lengths differ: \(String(describing: result)) and \(n)")
            result = n
        }
    }
    return result
}
