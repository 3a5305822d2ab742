import EventLoop

/// A peer's numeric address as text ("127.0.0.1", "::1"), held inline (no allocation): for
/// X-Forwarded-For, access logs and messages.
struct AddressText {
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private(set) var count = 0

    init(_ address: SocketAddress) {
        count = withUnsafeMutableBytes(of: &storage) { raw in
            address.formatHost(into: raw.baseAddress!.assumingMemoryBound(to: CChar.self), capacity: raw.count)
        }
    }

    @inline(__always)
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var copy = storage
        let n = count
        return withUnsafeBytes(of: &copy) { body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }

    var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }
}
