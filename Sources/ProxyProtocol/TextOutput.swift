/// Appends text to a caller's buffer without allocating; once a write does not fit, nothing more is
/// written and `length` is nil.
struct TextOutput {
    private let buffer: UnsafeMutableRawBufferPointer
    private var at = 0
    private var overflowed = false

    init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// Bytes written, or nil when something did not fit.
    var length: Int? { overflowed ? nil : at }

    mutating func byte(_ b: UInt8) {
        guard !overflowed, at < buffer.count else {
            overflowed = true
            return
        }
        buffer[at] = b
        at += 1
    }

    mutating func ascii(_ text: StaticString) {
        text.withUTF8Buffer { for b in $0 { byte(b) } }
    }

    /// Decimal, no leading zeros.
    mutating func decimal(_ value: UInt) {
        var divisor: UInt = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            byte(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }

    /// Lowercase hex, no leading zeros.
    mutating func hex(_ value: UInt16) {
        var shift = 12
        while shift > 0 && value >> UInt16(shift) == 0 { shift -= 4 }
        while shift >= 0 {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt16(shift)) & 0xf
            byte(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
            shift -= 4
        }
    }

    /// Dotted quad.
    mutating func ipv4(_ ip: UInt32) {
        for i in 0..<4 {
            if i > 0 { byte(UInt8(ascii: ".")) }
            decimal(UInt(ip >> UInt32(24 - 8 * i) & 0xff))
        }
    }

    /// RFC 5952: lowercase hex groups without leading zeros; the longest run of two or more zero
    /// groups (the first of equal runs) written as "::". Never a dotted IPv4 tail.
    mutating func ipv6(high: UInt64, low: UInt64) {
        func group(_ i: Int) -> UInt16 {
            UInt16(truncatingIfNeeded: (i < 4 ? high : low) >> UInt64(48 - 16 * (i % 4)))
        }
        var bestStart = -1
        var bestLength = 1
        var runStart = -1
        for i in 0...8 {
            if i < 8 && group(i) == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength {
                    bestStart = runStart
                    bestLength = i - runStart
                }
                runStart = -1
            }
        }
        var i = 0
        while i < 8 {
            if i == bestStart {
                ascii("::")
                i += bestLength
                continue
            }
            if i > 0 && i != bestStart + bestLength { byte(UInt8(ascii: ":")) }
            hex(group(i))
            i += 1
        }
    }
}
