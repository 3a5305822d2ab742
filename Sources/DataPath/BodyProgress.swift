import HTTP1

/// Tracks how much of a message body is still to come, whatever its framing. The proxy forwards
/// body bytes verbatim; this only says where the body ends and rejects bad chunked framing.
struct BodyProgress {
    enum Kind: UInt8 { case none, length, chunked, untilClose }

    private(set) var kind = Kind.none
    private var remaining = 0
    private var decoder = ChunkedDecoder()
    /// Bytes of the body seen so far (wire bytes, chunk framing included).
    private(set) var total = 0
    var done = true

    init() {}

    init(_ framing: BodyFraming) {
        switch framing {
        case .none: kind = .none; done = true
        case .contentLength(let n): kind = .length; remaining = n; done = n == 0
        case .chunked: kind = .chunked; done = false
        case .untilClose: kind = .untilClose; done = false
        }
    }

    /// Returns how many of `bytes` belong to the body (all of them unless it ends inside).
    @inline(__always)
    mutating func advance(_ bytes: UnsafeRawBufferPointer) throws(HTTPError) -> Int {
        if done || bytes.isEmpty { return 0 }
        switch kind {
        case .none:
            return 0
        case .length:
            let n = min(remaining, bytes.count)
            remaining -= n
            total += n
            done = remaining == 0
            return n
        case .chunked:
            let n = try decoder.consume(bytes)
            total += n
            done = decoder.isComplete
            return n
        case .untilClose:
            total += bytes.count
            return bytes.count
        }
    }
}
