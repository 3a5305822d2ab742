/// Appends bytes to a caller-provided buffer; remembers if anything did not fit. Shared by the
/// HTTP/1.1 rewriters and the HTTP/2 mapping (inlinable: it is on both hot paths).
public struct ByteWriter {
    public let out: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    @inlinable public var count: Int { used }
    @usableFromInline var used = 0
    @usableFromInline var overflowed = false

    @inlinable
    public init(_ out: UnsafeMutableRawBufferPointer) {
        self.out = out
    }

    /// Bytes written, or nil when `out` was too small.
    @inlinable
    public var result: Int? { overflowed ? nil : used }

    @inlinable @inline(__always)
    public mutating func write(_ src: UnsafeRawPointer?, _ n: Int) {
        guard n > 0 else { return }
        guard !overflowed, let base = out.baseAddress, let src, n <= out.count - used else {
            overflowed = true
            return
        }
        (base + used).copyMemory(from: src, byteCount: n)
        used += n
    }

    /// Bytes [start, end) of `source`.
    @inlinable @inline(__always)
    public mutating func write(_ source: UnsafeRawBufferPointer, _ start: Int, _ end: Int) {
        write(source.baseAddress.map { $0 + start }, end - start)
    }

    @inlinable @inline(__always)
    public mutating func write(_ bytes: UnsafeRawBufferPointer) {
        write(bytes.baseAddress, bytes.count)
    }

    @inlinable @inline(__always)
    public mutating func write(_ s: StaticString) {
        write(UnsafeRawPointer(s.utf8Start), s.utf8CodeUnitCount)
    }

    /// Writes `value` (>= 0) in `radix` 10 or 16, lowercase.
    @inlinable
    public mutating func write(_ value: Int, radix: Int) {
        let n = Self.digits(value, radix: radix)
        guard !overflowed, let base = out.baseAddress, n <= out.count - used else {
            overflowed = true
            return
        }
        var rest = value
        var i = used + n
        repeat {
            i -= 1
            let d = rest % radix
            base.storeBytes(of: UInt8(truncatingIfNeeded: d < 10 ? 0x30 + d : 0x57 + d), toByteOffset: i, as: UInt8.self)
            rest /= radix
        } while rest > 0
        used += n
    }

    /// How many digits `value` (>= 0) has in `radix`.
    @inlinable
    public static func digits(_ value: Int, radix: Int) -> Int {
        var n = 1
        var rest = value
        while rest >= radix {
            rest /= radix
            n += 1
        }
        return n
    }
}
