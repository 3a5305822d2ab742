/// Strict readers of the numbers and addresses in a PROXY v1 line, each over bytes [start, end) of
/// a buffer, all or nothing: nil unless the whole range is one well-formed value.
enum TextInput {
    /// A port: decimal 0...65535, no leading zeros ("0" itself is fine).
    static func port(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> UInt16? {
        guard end > start, end - start <= 5, p[start] != UInt8(ascii: "0") || end - start == 1 else { return nil }
        var value = 0
        for i in start..<end {
            guard let d = digit(p[i]) else { return nil }
            value = value * 10 + d
        }
        return value <= 65535 ? UInt16(value) : nil
    }

    /// A dotted quad: exactly four decimal numbers 0...255 without leading zeros, one dot between
    /// each (as inet_pton and the PROXY protocol's spec read it).
    static func ipv4(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> UInt32? {
        var ip: UInt32 = 0
        var at = start
        for part in 0..<4 {
            if part > 0 {
                guard at < end, p[at] == UInt8(ascii: ".") else { return nil }
                at += 1
            }
            let partStart = at
            var value = 0
            while at < end, let d = digit(p[at]) {
                guard at == partStart || p[partStart] != UInt8(ascii: "0") else { return nil }
                value = value * 10 + d
                guard value <= 255 else { return nil }
                at += 1
            }
            guard at > partStart else { return nil }
            ip = ip << 8 | UInt32(value)
        }
        return at == end ? ip : nil
    }

    /// An IPv6 address as inet_pton reads it: groups of 1 to 4 hex digits (either case) separated by
    /// ":", at most one "::" standing for one or more zero groups, and optionally a dotted quad for
    /// the last 32 bits; 128 bits in all. Returns (high, low).
    static func ipv6(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> (UInt64, UInt64)? {
        var head = Groups()   // before "::", or all of them without one
        var tail = Groups()   // after "::"
        var gap = false
        var at = start
        if at < end && p[at] == UInt8(ascii: ":") {
            guard at + 1 < end, p[at + 1] == UInt8(ascii: ":") else { return nil }
            gap = true
            at += 2
        }
        while at < end {
            let groupStart = at
            var value: UInt64 = 0
            while at < end, let d = hexDigit(p[at]) {
                guard at - groupStart < 4 else { return nil }
                value = value << 4 | UInt64(d)
                at += 1
            }
            if at < end && p[at] == UInt8(ascii: ".") {
                // A dotted quad ends the address and fills its last two groups.
                guard let v4 = ipv4(p, groupStart, end), head.count + tail.count <= 6 else { return nil }
                gap ? tail.append(UInt64(v4), groups: 2) : head.append(UInt64(v4), groups: 2)
                break
            }
            guard at > groupStart, head.count + tail.count < 8 else { return nil }
            gap ? tail.append(value, groups: 1) : head.append(value, groups: 1)
            if at == end { break }
            guard p[at] == UInt8(ascii: ":") else { return nil }
            at += 1
            if at < end && p[at] == UInt8(ascii: ":") {
                guard !gap else { return nil }
                gap = true
                at += 1
            } else if at == end {
                return nil  // a single trailing ":"
            }
        }
        // "::" stands for at least one zero group.
        guard gap ? head.count + tail.count < 8 : head.count == 8 else { return nil }
        head.append(0, groups: 8 - head.count)  // up to the top, leaving the tail's groups below
        return (head.high | tail.high, head.low | tail.low)
    }

    /// 16-bit groups shifted in from the right of a 128-bit value.
    private struct Groups {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var count = 0

        /// Shifts in `groups` groups holding `value`'s low 16 * groups bits.
        mutating func append(_ value: UInt64, groups: Int) {
            for _ in 0..<groups {
                high = high << 16 | low >> 48
                low <<= 16
            }
            low |= value
            count += groups
        }
    }

    @inline(__always)
    static func digit(_ b: UInt8) -> Int? {
        b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") ? Int(b - UInt8(ascii: "0")) : nil
    }

    @inline(__always)
    static func hexDigit(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(b - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(b - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }
}
