// Byte classes and comparisons used by every parser in this module.
// Class tests are bit masks over the 128 ASCII codes, so they need no table in memory.

@usableFromInline let CR: UInt8 = 0x0D
@usableFromInline let LF: UInt8 = 0x0A
@usableFromInline let SP: UInt8 = 0x20
@usableFromInline let HTAB: UInt8 = 0x09
@usableFromInline let COLON: UInt8 = 0x3A
@usableFromInline let COMMA: UInt8 = 0x2C
@usableFromInline let SEMICOLON: UInt8 = 0x3B
@usableFromInline let EQUALS: UInt8 = 0x3D
@usableFromInline let DQUOTE: UInt8 = 0x22
@usableFromInline let BACKSLASH: UInt8 = 0x5C

enum Bytes {
    /// tchar (RFC 9110 5.6.2): ALPHA DIGIT ! # $ % & ' * + - . ^ _ ` | ~
    @inline(__always) static func isTchar(_ b: UInt8) -> Bool {
        if b < 64 { return (0x03ff_6cfa_0000_0000 as UInt64) >> UInt64(b) & 1 != 0 }
        if b < 128 { return (0x57ff_ffff_c7ff_fffe as UInt64) >> UInt64(b &- 64) & 1 != 0 }
        return false
    }

    /// uri-host reg-name bytes (RFC 3986): unreserved, sub-delims and "%" of pct-encoded.
    @inline(__always) static func isRegNameByte(_ b: UInt8) -> Bool {
        if b < 64 { return (0x2bff_7ff2_0000_0000 as UInt64) >> UInt64(b) & 1 != 0 }
        if b < 128 { return (0x47ff_fffe_87ff_fffe as UInt64) >> UInt64(b &- 64) & 1 != 0 }
        return false
    }

    /// field-vchar: VCHAR or obs-text (0x80-0xFF).
    @inline(__always) static func isFieldVchar(_ b: UInt8) -> Bool {
        b > SP && b != 0x7F
    }

    @inline(__always) static func isWhitespace(_ b: UInt8) -> Bool {
        b == SP || b == HTAB
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool {
        b &- 0x30 < 10
    }

    /// Value of a hex digit, or nil.
    @inline(__always) static func hexValue(_ b: UInt8) -> UInt8? {
        if b &- 0x30 < 10 { return b &- 0x30 }
        let l = b | 0x20
        if l &- 0x61 < 6 { return l &- 0x61 &+ 10 }
        return nil
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 {
        b &- 0x41 < 26 ? b | 0x20 : b
    }

    /// Case-insensitive comparison of bytes [start, end) of `p` with `literal`, which must be lowercase ASCII.
    @inline(__always)
    static func equals(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard end - start == n else { return false }
        let l = literal.utf8Start
        var i = 0
        while i < n {
            if lower(p[start + i]) != l[i] { return false }
            i += 1
        }
        return true
    }

    /// Case-insensitive comparison of two byte ranges of `p`.
    static func equals(_ p: UnsafeRawBufferPointer, _ a: Int, _ aEnd: Int, _ b: Int, _ bEnd: Int) -> Bool {
        let n = aEnd - a
        guard bEnd - b == n else { return false }
        var i = 0
        while i < n {
            if lower(p[a + i]) != lower(p[b + i]) { return false }
            i += 1
        }
        return true
    }

    /// Does the case-insensitive literal start `p` at `start` (within `end`)?
    @inline(__always)
    static func hasPrefix(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        return end - start >= n && equals(p, start, start + n, literal)
    }
}

extension Bytes {
    /// Case-sensitive comparison of bytes [start, end) of `p` with `literal`.
    @inline(__always)
    static func equalsExactly(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard end - start == n else { return false }
        let l = literal.utf8Start
        var i = 0
        while i < n {
            if p[start + i] != l[i] { return false }
            i += 1
        }
        return true
    }
}
