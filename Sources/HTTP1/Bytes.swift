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
@usableFromInline let UNDERSCORE: UInt8 = 0x5F

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

    /// Do bytes [start, end) of `p`, each passed through `map`, spell `literal`?
    @inline(__always)
    static func matches(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ literal: StaticString,
                        _ map: (UInt8) -> UInt8) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard end - start == n else { return false }
        let l = literal.utf8Start
        var i = 0
        while i < n {
            if map(p[start + i]) != l[i] { return false }
            i += 1
        }
        return true
    }

    /// Case-insensitive comparison of bytes [start, end) of `p` with `literal`, which must be lowercase ASCII.
    @inline(__always)
    static func equals(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        matches(p, start, end, literal, lower)
    }

    /// Case-sensitive comparison of bytes [start, end) of `p` with `literal`.
    @inline(__always)
    static func equalsExactly(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        matches(p, start, end, literal) { $0 }
    }

    /// As `equals`, reading "_" as "-" (how CGI-style servers read field names).
    @inline(__always)
    static func equalsFoldingUnderscore(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        matches(p, start, end, literal) { $0 == UNDERSCORE ? 0x2D : lower($0) }
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

// Word-at-a-time tests: eight bytes per step over the long runs of ordinary bytes in a head.
extension Bytes {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The 8 bytes at `i` (the caller checks that i + 8 <= count).
    @inline(__always) static func word(_ p: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        p.baseAddress.unsafelyUnwrapped.loadUnaligned(fromByteOffset: i, as: UInt64.self)
    }

    /// The high bit of each byte of `x` below `n` (n <= 128): zero when there is none. Bits
    /// above the lowest one may be spurious (a borrow), but the lowest one is exact, so
    /// `firstFlagged` of the mask is the first such byte.
    @inline(__always) static func bytesBelow(_ x: UInt64, _ n: UInt8) -> UInt64 {
        (x &- ones &* UInt64(n)) & ~x & highBits
    }

    /// The same for the bytes of `x` equal to `v`.
    @inline(__always) static func bytesEqual(_ x: UInt64, _ v: UInt8) -> UInt64 {
        bytesBelow(x ^ (ones &* UInt64(v)), 1)
    }

    /// Does any byte of `x` have a value below `n` (n <= 128)?
    @inline(__always) static func hasByteBelow(_ x: UInt64, _ n: UInt8) -> Bool {
        bytesBelow(x, n) != 0
    }

    /// Does any byte of `x` equal `v`?
    @inline(__always) static func hasByte(_ x: UInt64, _ v: UInt8) -> Bool {
        bytesEqual(x, v) != 0
    }

    /// The bytes of `x` that are neither field-vchar nor SP (a CTL, HTAB included, or DEL).
    @inline(__always) static func notPlainValueBytes(_ x: UInt64) -> UInt64 {
        bytesBelow(x, SP) | bytesEqual(x, 0x7F)
    }

    /// The high bit of each byte of `x` at least `n` (n <= 128), exactly (no borrow crosses
    /// bytes: each is lifted to 128 or more before the subtraction).
    @inline(__always) static func bytesAtLeast(_ x: UInt64, _ n: UInt8) -> UInt64 {
        ((x | highBits) &- ones &* UInt64(n)) & highBits
    }

    /// The bytes of `x` that are not a letter, a digit or "-", exactly: the bytes a field name is
    /// made of but for the rare tchars (and "_", which the parser must notice).
    @inline(__always) static func notCommonNameBytes(_ x: UInt64) -> UInt64 {
        let low = x & ~highBits
        // Setting bit 5 lowercases letters and leaves 0x20-0x3F alone; below 0x20 it would make
        // CR "-" and 0x10-0x19 digits, hence the separate test for those bytes.
        let y = low | ones &* 0x20
        let common = (bytesAtLeast(y, 0x61) & ~bytesAtLeast(y, 0x7B))
            | (bytesAtLeast(y, 0x30) & ~bytesAtLeast(y, 0x3A))
            | (bytesAtLeast(y, 0x2D) & ~bytesAtLeast(y, 0x2E))
        return (~common & highBits) | (x & highBits) | (~bytesAtLeast(low, 0x20) & highBits)
    }

    /// The offset in its word of the first byte a non-zero mask flags (words load little-endian).
    @inline(__always) static func firstFlagged(_ mask: UInt64) -> Int {
        mask.trailingZeroBitCount >> 3
    }

    /// Are all 8 bytes visible ASCII (0x21-0x7E)?
    @inline(__always) static func isVisibleASCIIWord(_ x: UInt64) -> Bool {
        x & highBits == 0 && !hasByteBelow(x, 0x21) && !hasByte(x, 0x7F)
    }
}
