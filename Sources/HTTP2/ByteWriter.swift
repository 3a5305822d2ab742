/// Appends bytes to a caller-provided buffer; remembers if anything did not fit.
struct ByteWriter {
    let out: UnsafeMutableRawBufferPointer
    private(set) var count = 0
    private var overflowed = false

    init(_ out: UnsafeMutableRawBufferPointer) {
        self.out = out
    }

    /// Bytes written, or nil when `out` was too small.
    var result: Int? { overflowed ? nil : count }

    @inline(__always)
    mutating func write(_ src: UnsafeRawPointer?, _ n: Int) {
        guard n > 0 else { return }
        guard !overflowed, let base = out.baseAddress, let src, n <= out.count - count else {
            overflowed = true
            return
        }
        (base + count).copyMemory(from: src, byteCount: n)
        count += n
    }

    @inline(__always)
    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        write(bytes.baseAddress, bytes.count)
    }

    @inline(__always)
    mutating func write(_ s: StaticString) {
        write(UnsafeRawPointer(s.utf8Start), s.utf8CodeUnitCount)
    }

    /// Writes `value` (>= 0) in `radix` 10 or 16, lowercase.
    mutating func write(_ value: Int, radix: Int) {
        let n = Self.digits(value, radix: radix)
        guard !overflowed, let base = out.baseAddress, n <= out.count - count else {
            overflowed = true
            return
        }
        var rest = value
        var i = count + n
        repeat {
            i -= 1
            let d = rest % radix
            base.storeBytes(of: UInt8(truncatingIfNeeded: d < 10 ? 0x30 + d : 0x57 + d), toByteOffset: i, as: UInt8.self)
            rest /= radix
        } while rest > 0
        count += n
    }

    static func digits(_ value: Int, radix: Int) -> Int {
        var n = 1
        var rest = value
        while rest >= radix {
            rest /= radix
            n += 1
        }
        return n
    }
}
