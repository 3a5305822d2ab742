/// A request whose header block was complete and valid. Its bytes live in the connection until the
/// next `receive`: write its HTTP/1.1 head with `H2Connection.writeHead(of:into:)` before that.
public struct H2Request: Sendable {
    public let stream: Int32
    /// A body follows in `.data` events (the HEADERS frame did not end the stream).
    public let hasBody: Bool
    /// The client's content-length, or -1 without one.
    public let contentLength: Int
    /// Bytes `writeHead` writes; never more than `H2Settings.maxHeaderListSize`.
    public let headLength: Int
    /// The head says `Transfer-Encoding: chunked`: frame the body with `ChunkFraming`.
    public var isChunked: Bool { hasBody && contentLength < 0 }

    let method: Span
    /// :path, or :authority for CONNECT.
    let target: Span
    /// :authority, else the host field's value.
    let host: Span
    /// HTTP/1.1 field lines ("name: value\r\n"), in the client's order.
    let fields: Span
    /// The host field's line inside `fields` when it stands in for :authority (written first as Host).
    let hostLine: Span
    /// Cookie lines inside `fields`; two or more are joined into one line by `writeHead`.
    let cookieCount: Int32
}

/// Trailer fields of a request as HTTP/1.1 field lines ("name: value\r\n"), valid until the next
/// `receive`; read them with `H2Connection.bytes(of:)`.
public struct H2Fields: Sendable {
    let span: Span
}

/// What happened on the connection, in order. Drain them with `H2Connection.nextEvent()` after
/// every `receive` and every `produceOutput`.
public enum H2Event {
    /// A new request. Exactly one `.closed` or `.reset` follows for its stream.
    case request(H2Request)
    /// Request body bytes, pointing into the buffer given to `receive` (copy what cannot be
    /// forwarded before that buffer is reused). Call `consumed(stream:bytes:)` once they are
    /// forwarded: that is what reopens the client's window. `endStream` ends the body; the bytes may
    /// then be empty.
    case data(stream: Int32, bytes: UnsafeRawBufferPointer, endStream: Bool)
    /// The request's trailers; they end the body. Forward them only when the body is chunk-framed.
    case trailers(stream: Int32, fields: H2Fields)
    /// Every byte given with `setBody` was copied out: the buffer may be reused and more supplied.
    case bodyTaken(stream: Int32)
    /// The stream ended before its response was complete (client RST_STREAM, a stream error, a
    /// reset asked by `resetStream`, or the connection closing). Release its upstream work.
    case reset(stream: Int32, code: H2ErrorCode)
    /// The stream's response went out complete and the stream is gone.
    case closed(stream: Int32)
}

/// The outcome of `H2Connection.receive`.
public enum H2ReceiveResult: Equatable, Sendable {
    /// That many bytes were taken. Fewer than given means the connection holds as many events as
    /// it will buffer: drain them and call `receive` again with the rest. (A protocol error nghttp2
    /// found is answered too: its GOAWAY is in the output, after which `wantsRead` and
    /// `wantsWrite` turn false.)
    case consumed(Int)
    /// The connection is ending (see `termination`): read no more, flush the output (it holds
    /// the GOAWAY), then close.
    case fatal
}

/// Why a connection ended, for the log line ("GOAWAY ENHANCE_YOUR_CALM: rapid reset").
public struct H2Termination: Sendable, CustomStringConvertible {
    /// The GOAWAY code sent (or that would have been sent when the output failed).
    public var code: H2ErrorCode
    /// The budget that ran out, when that is the reason.
    public var limit: H2Limit?
    /// nghttp2's debug text for the protocol errors it detects, else a short reason.
    public var detail: String

    public var description: String {
        "GOAWAY \(code): \(limit.map { $0.description } ?? detail)"
    }
}
