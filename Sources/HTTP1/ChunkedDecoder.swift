/// Validates a chunked body as it streams (RFC 9112 7.1). The caller forwards the bytes verbatim;
/// this only finds where the body ends and rejects bad framing with 400. Line lengths are bounded
/// (chunk-size line with extensions <= 4096 bytes, trailer section <= 16k) to bound the work.
/// ChunkedTranscoder drives the same state machine (`step`, `takeData`) to rewrite the body.
public struct ChunkedDecoder: Sendable {
    static let maxSizeLine = 4096
    static let maxTrailerSection = 16384
    static let maxChunkSize = 1 << 62

    /// The order matters: `step` bounds the size line and the trailer section by ranges of raw values.
    enum State: UInt8, Sendable {
        case sizeStart, size
        // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
        case extSemicolon, extNameStart, extName, extAfterName, extValueStart, extToken, extQuoted, extQuotedPair, extAfterQuoted
        case sizeLF, data, dataCR, dataLF
        case trailerLineStart, trailerName, trailerValue, trailerLF, finalLF
        case complete
    }

    var state = State.sizeStart
    /// The chunk size being read, then the data bytes still expected.
    var remaining = 0
    /// Bytes of the current chunk-size line, or of the trailer section.
    var lineBytes = 0

    public init() {}

    public var isComplete: Bool { state == .complete }

    /// Consumes from `bytes`; returns how many bytes belong to this body (all of them unless the
    /// body ended inside `bytes`). Throws HTTPError(400) on bad framing.
    #if !DEBUG
    @_noAllocation  // checked by the compiler in optimized builds
    #endif
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(HTTPError) -> Int {
        let n = bytes.count
        var i = 0
        while i < n && state != .complete {
            if state == .data {
                i += takeData(n - i)
                continue
            }
            try step(bytes[i])
            i += 1
        }
        return i
    }

    /// In state .data: takes up to `available` bytes of the chunk's data; returns how many.
    @inline(__always)
    mutating func takeData(_ available: Int) -> Int {
        let take = min(remaining, available)
        remaining -= take
        if remaining == 0 { state = .dataCR }
        return take
    }

    /// In the trailer section, or past the body's end.
    var inTrailers: Bool { state.rawValue >= State.trailerLineStart.rawValue }

    @inline(__always) static func fail(_ reason: StaticString) -> HTTPError {
        HTTPError(status: 400, reason: reason)
    }

    @inline(__always)
    mutating func step(_ b: UInt8) throws(HTTPError) {
        if state.rawValue <= State.sizeLF.rawValue {
            lineBytes += 1
            guard lineBytes <= Self.maxSizeLine else { throw Self.fail("chunk size line too long") }
        } else if state.rawValue >= State.trailerLineStart.rawValue {
            lineBytes += 1
            guard lineBytes <= Self.maxTrailerSection else { throw Self.fail("trailer section too large") }
        }
        switch state {
        case .sizeStart, .size:
            if let d = Bytes.hexValue(b) {
                guard remaining <= (Self.maxChunkSize - Int(d)) >> 4 else { throw Self.fail("chunk size too large") }
                remaining = remaining << 4 | Int(d)
                state = .size
            } else if state == .sizeStart {
                throw Self.fail("invalid chunk size")
            } else {
                try afterValue(b, "invalid chunk size")
            }
        case .extSemicolon:
            if b == SEMICOLON { state = .extNameStart } else if !Bytes.isWhitespace(b) { throw Self.fail("invalid chunk extension") }
        case .extNameStart:
            if Bytes.isTchar(b) { state = .extName } else if !Bytes.isWhitespace(b) { throw Self.fail("invalid chunk extension") }
        case .extName:
            if Bytes.isTchar(b) { return }
            if Bytes.isWhitespace(b) { state = .extAfterName } else if b == EQUALS { state = .extValueStart } else { try afterValue(b, "invalid chunk extension") }
        case .extAfterName:
            if b == EQUALS { state = .extValueStart } else if b == SEMICOLON { state = .extNameStart } else if !Bytes.isWhitespace(b) { throw Self.fail("invalid chunk extension") }
        case .extValueStart:
            if Bytes.isTchar(b) { state = .extToken } else if b == DQUOTE { state = .extQuoted } else if !Bytes.isWhitespace(b) { throw Self.fail("invalid chunk extension") }
        case .extToken:
            if !Bytes.isTchar(b) { try afterValue(b, "invalid chunk extension") }
        case .extQuoted:
            // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
            if b == DQUOTE { state = .extAfterQuoted } else if b == BACKSLASH { state = .extQuotedPair } else if !(Bytes.isFieldVchar(b) || Bytes.isWhitespace(b)) { throw Self.fail("invalid chunk extension") }
        case .extQuotedPair:
            guard Bytes.isFieldVchar(b) || Bytes.isWhitespace(b) else { throw Self.fail("invalid chunk extension") }
            state = .extQuoted
        case .extAfterQuoted:
            try afterValue(b, "invalid chunk extension")
        case .sizeLF:
            guard b == LF else { throw Self.fail("bare cr in chunk size line") }
            if remaining == 0 {
                state = .trailerLineStart
                lineBytes = 0
            } else {
                state = .data
            }
        case .dataCR:
            guard b == CR else { throw Self.fail("missing crlf after chunk data") }
            state = .dataLF
        case .dataLF:
            guard b == LF else { throw Self.fail("missing crlf after chunk data") }
            state = .sizeStart
            lineBytes = 0
        // trailer-section = *( field-line CRLF ) CRLF, with the same field rules as a head.
        case .trailerLineStart:
            if b == CR { state = .finalLF } else if Bytes.isTchar(b) { state = .trailerName } else { throw Self.fail("invalid trailer field") }
        case .trailerName:
            if b == COLON { state = .trailerValue } else if !Bytes.isTchar(b) { throw Self.fail("invalid trailer field") }
        case .trailerValue:
            if b == CR { state = .trailerLF } else if !(Bytes.isFieldVchar(b) || Bytes.isWhitespace(b)) { throw Self.fail("invalid trailer field") }
        case .trailerLF:
            guard b == LF else { throw Self.fail("bare cr in trailer") }
            state = .trailerLineStart
        case .finalLF:
            guard b == LF else { throw Self.fail("bare cr in trailer") }
            state = .complete
        case .data, .complete:
            preconditionFailure("data and completion are handled by the caller of step")
        }
    }

    /// After the size, an extension name or value: whitespace before ";", ";", or the line's CR.
    @inline(__always)
    mutating func afterValue(_ b: UInt8, _ reason: StaticString) throws(HTTPError) {
        switch b {
        case SEMICOLON: state = .extNameStart
        case SP, HTAB: state = .extSemicolon
        case CR: state = .sizeLF
        default: throw Self.fail(reason)
        }
    }
}
