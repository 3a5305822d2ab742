import HTTP1

/// HTTP/1.1 chunked framing (RFC 9112 §7.1) around request body bytes that arrive as DATA frames,
/// for requests whose head says `Transfer-Encoding: chunked` (`H2Request.isChunked`).
/// Per non-empty DATA payload: `writeChunkHeader`, the bytes, `chunkEnd`; at the end of the body
/// (`.data` with endStream, or `.trailers`): `writeLastChunk`.
public enum ChunkFraming {
    /// Longest chunk header: 16 hex digits and CRLF.
    public static let maxChunkHeader = 18
    /// Bytes of framing for `payload` bytes (none when 0) and, with `end`, the last chunk around
    /// `trailers` bytes of trailer fields.
    public static func overhead(payload: Int, end: Bool, trailers: Int) -> Int {
        var n = 0
        if payload > 0 {
            var digits = 1
            while payload >> (4 * digits) > 0 { digits += 1 }
            n += digits + 4
        }
        if end { n += 5 + trailers }
        return n
    }

    /// Writes "<size in hex>\r\n"; nil when `out` is too small. Never frame an empty payload: a
    /// zero size would end the body.
    public static func writeChunkHeader(size: Int, into out: UnsafeMutableRawBufferPointer) -> Int? {
        precondition(size > 0, "an empty chunk would end the body")
        var w = ByteWriter(out)
        w.write(size, radix: 16)
        w.write("\r\n")
        return w.result
    }

    /// The CRLF after a chunk's bytes.
    nonisolated(unsafe) public static let chunkEnd: UnsafeRawBufferPointer = {
        let crlf: StaticString = "\r\n"
        return UnsafeRawBufferPointer(start: crlf.utf8Start, count: crlf.utf8CodeUnitCount)
    }()

    /// Writes the last chunk, the trailer field lines (as in `.trailers`, possibly empty) and the
    /// final CRLF: "0\r\n" trailers "\r\n". nil when `out` is too small.
    public static func writeLastChunk(trailers: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        var w = ByteWriter(out)
        w.write("0\r\n")
        w.write(trailers)
        w.write("\r\n")
        return w.result
    }
}
