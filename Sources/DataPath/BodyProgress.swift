import EventLoop
import HTTP1

/// One direction's message body as it streams through a buffer: how much is still to come,
/// whatever its framing, and how many bytes at the front of the buffer are checked and ready to
/// forward. Content-Length and close-delimited bodies are forwarded verbatim; a chunked body is
/// validated and rewritten in place (`ChunkedTranscoder`): in canonical form for an HTTP/1.1
/// client, so the next hop reads exactly what the proxy read, or down to its data bytes for an
/// HTTP/2 one (its kept trailers then follow the data, `trailerLength` bytes). A tunnel is a body
/// that runs until close both ways.
struct BodyProgress {
    enum Kind: UInt8 { case none, length, chunked, untilClose }

    private(set) var kind = Kind.none
    private var remaining = 0
    private var chunked = ChunkedTranscoder(mode: .canonical)
    /// Body bytes seen so far, as they came on the wire (chunk framing included).
    private(set) var total = 0
    var done = true
    /// Bytes at the front of the buffer (from its `start`) ready to forward.
    var ready = 0

    init() {}

    /// `dechunk`: a chunked body becomes its data bytes (for an HTTP/2 client).
    init(_ framing: BodyFraming, dechunk: Bool = false) {
        if dechunk { chunked = ChunkedTranscoder(mode: .dechunk) }
        switch framing {
        case .none: kind = .none; done = true
        case .contentLength(let n): kind = .length; remaining = n; done = n == 0
        case .chunked: kind = .chunked; done = false
        case .untilClose: kind = .untilClose; done = false
        }
    }

    /// Once a dechunked body is complete: the bytes of its kept trailer lines, right after the
    /// ready ones ("name:value\r\n" each).
    var trailerLength: Int { kind == .chunked ? chunked.trailerLength : 0 }

    /// Takes in what arrived in `buffer` after the ready bytes: marks body bytes ready (a chunked
    /// body is rewritten first; the bytes after a body that ended stay after it).
    @inline(__always)
    mutating func absorb(_ buffer: inout Buffer) throws(HTTPError) {
        let from = buffer.start + ready
        guard !done, buffer.end > from, let base = buffer.base else { return }
        let region = UnsafeMutableRawBufferPointer(start: base + from, count: buffer.end - from)
        switch kind {
        case .none:
            return
        case .length:
            let n = min(remaining, region.count)
            remaining -= n
            total += n
            ready += n
            done = remaining == 0
        case .chunked:
            let (output, length) = try chunked.transcode(region)
            total = chunked.total
            buffer.end = from + length
            ready += output
            done = chunked.isComplete
        case .untilClose:
            total += region.count
            ready += region.count
        }
    }
}
