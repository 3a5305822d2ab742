import HTTP1

/// The bytes of a parsed request that balancing and stickiness read: a field's value, a
/// cookie's value. Pure; allocation-free.
enum RequestKeys {
    /// The value of the first field named `name` (lowercase ASCII).
    static func field(_ name: [UInt8], headers: HeaderTable, source: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        for i in 0..<headers.count {
            let f = headers[i]
            if equalsLowercased(source, Int(f.nameStart), Int(f.nameEnd), name) {
                return UnsafeRawBufferPointer(rebasing: source[Int(f.valueStart)..<Int(f.valueEnd)])
            }
        }
        return nil
    }

    /// The value of cookie `name` (case-sensitive) in the request's Cookie fields
    /// (`a=1; b=2`, RFC 6265 §5.4), nil when it has none.
    static func cookie(_ name: [UInt8], headers: HeaderTable, source: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        for i in 0..<headers.count {
            let f = headers[i]
            guard equalsLowercased(source, Int(f.nameStart), Int(f.nameEnd), cookieField) else { continue }
            var pos = Int(f.valueStart)
            let end = Int(f.valueEnd)
            while pos < end {
                while pos < end && (source[pos] == 0x20 || source[pos] == 0x3B) { pos += 1 }
                let pairStart = pos
                while pos < end && source[pos] != 0x3B { pos += 1 }
                var eq = pairStart
                while eq < pos && source[eq] != 0x3D { eq += 1 }
                if eq < pos && eq - pairStart == name.count && equalsExactly(source, pairStart, name) {
                    var valueEnd = pos
                    while valueEnd > eq + 1 && source[valueEnd - 1] == 0x20 { valueEnd -= 1 }
                    return UnsafeRawBufferPointer(rebasing: source[(eq + 1)..<valueEnd])
                }
            }
        }
        return nil
    }

    /// Made once: a literal array built in the function would be allocated on every request.
    private static let cookieField: [UInt8] = Array("cookie".utf8)

    private static func equalsLowercased(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ lower: [UInt8]) -> Bool {
        guard end - start == lower.count else { return false }
        for i in 0..<lower.count {
            var c = p[start + i]
            if c >= 0x41 && c <= 0x5A { c |= 0x20 }
            if c != lower[i] { return false }
        }
        return true
    }

    private static func equalsExactly(_ p: UnsafeRawBufferPointer, _ start: Int, _ bytes: [UInt8]) -> Bool {
        for i in 0..<bytes.count where p[start + i] != bytes[i] { return false }
        return true
    }
}
