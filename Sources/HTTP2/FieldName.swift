/// Byte comparisons on field names and values as nghttp2 hands them over (names already lowercase).
enum FieldName {
    /// The regular fields the request mapping treats specially.
    enum Kind {
        case host, cookie, contentLength, te, other
    }

    static func classify(_ name: UnsafeRawBufferPointer) -> Kind {
        switch name.count {
        case 2: return equals(name, "te") ? .te : .other
        case 4: return equals(name, "host") ? .host : .other
        case 6: return equals(name, "cookie") ? .cookie : .other
        case 14: return equals(name, "content-length") ? .contentLength : .other
        default: return .other
        }
    }

    /// Exact comparison with `literal`.
    @inline(__always)
    static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard bytes.count == n else { return false }
        let l = literal.utf8Start
        for i in 0..<n where bytes[i] != l[i] { return false }
        return true
    }

    /// ASCII case-insensitive comparison (host names compare that way).
    static func equalsIgnoringCase(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where lower(a[i]) != lower(b[i]) { return false }
        return true
    }

    /// ASCII case-insensitive comparison with a lowercase literal.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        equalsIgnoringCase(bytes, UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 {
        b &- 0x41 < 26 ? b | 0x20 : b
    }

    /// 1*DIGIT that fits in Int, else nil.
    static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var n = 0
        for b in bytes {
            guard b &- 0x30 < 10 else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(b &- 0x30))
            if o1 || o2 { return nil }
            n = s
        }
        return n
    }
}
