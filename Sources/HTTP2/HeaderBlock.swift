/// What the mapping finds wrong with a header block that nghttp2 accepted.
enum BlockFault {
    case none
    /// Over `maxHeaderListSize` or `maxHeaderFields`: a request is answered 431.
    case tooLarge
    /// A :path longer than the header list may be on its own: answered 414, as over HTTP/1.1.
    case uriTooLong
    /// Malformed by a rule nghttp2 does not check (RFC 9113 §8.3.1): the stream is reset with PROTOCOL_ERROR.
    case malformed
}

/// The limits a header block is held to (from `H2Settings`).
struct BlockLimits {
    let maxListSize: Int
    let maxFields: Int
    let maxDecoded: Int
}

/// The header block being decoded: one stream's request or trailer fields, written into the arena
/// as HTTP/1.1 field lines as nghttp2 hands them over, each already validated by nghttp2 (names
/// lowercase tokens, values without CR/LF/NUL or edge whitespace, pseudo-headers first and known,
/// no connection-specific fields, TE only "trailers", one content-length of digits).
struct HeaderBlock {
    var stream: Int32 = 0
    var isTrailers = false
    /// Arena offset of the block's first byte.
    var start = 0
    var method = Span()
    var path = Span()
    var authority = Span()
    var hostLine = Span()
    /// Arena offset of the first field line, -1 before it.
    var fieldsStart = -1
    var cookieCount: Int32 = 0
    var contentLength = -1
    var fieldCount = 0
    /// RFC 9113 §6.5.2 size: name + value + 32 per field.
    var listSize = 0
    var decodedBytes = 0
    var fault = BlockFault.none

    init() {}

    init(stream: Int32, trailers: Bool, start: Int) {
        self.stream = stream
        isTrailers = trailers
        self.start = start
    }

    /// Adds one field. Returns a limit when the block decodes to more bytes than any request
    /// may (the connection must end); past `maxListSize` it only counts.
    mutating func add(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, arena: inout Arena,
                      limits: BlockLimits) -> H2Limit? {
        decodedBytes += name.count + value.count
        guard decodedBytes <= limits.maxDecoded else { return .decodedHeaderSize }
        guard fault == .none else { return nil }
        let pseudo = name.first == 0x3A
        let kind = pseudo ? .other : FieldName.classify(name)
        listSize += name.count + value.count + 32
        // Cookie crumbs become one line.
        if !pseudo && !(kind == .cookie && cookieCount > 0) { fieldCount += 1 }
        guard listSize <= limits.maxListSize && fieldCount <= limits.maxFields else {
            let uriAlone = name.count + value.count + 32 > limits.maxListSize && FieldName.equals(name, ":path")
            fault = uriAlone ? .uriTooLong : .tooLarge
            return nil
        }
        if pseudo {
            addPseudo(name, value, &arena)
        } else {
            addRegular(kind, name, value, &arena)
        }
        return nil
    }

    private mutating func addPseudo(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ arena: inout Arena) {
        if FieldName.equals(name, ":scheme") { return }  // the listener decides X-Forwarded-Proto
        guard let stored = arena.store(value) else { return fault = .tooLarge }
        if FieldName.equals(name, ":method") {
            method = stored
        } else if FieldName.equals(name, ":path") {
            path = stored
        } else if FieldName.equals(name, ":authority") {
            authority = stored
        } else {
            fault = .malformed  // :protocol; nghttp2 refuses it while extended CONNECT is off
        }
    }

    private mutating func addRegular(_ kind: FieldName.Kind, _ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                                     _ arena: inout Arena) {
        switch kind {
        case .host:
            if isTrailers { return }
            if !authority.isEmpty {
                // RFC 9113 §8.3.1: a Host naming another entity than :authority is malformed.
                if !FieldName.equalsIgnoringCase(arena.bytes(authority), value) { fault = .malformed }
                return
            }
            let lineStart = arena.used
            writeLine(name, value, &arena)
            hostLine = Span(start: Int32(lineStart), count: Int32(arena.used - lineStart))
        case .cookie:
            if value.isEmpty { return }
            if !isTrailers { cookieCount += 1 }
            writeLine(name, value, &arena)
        case .contentLength:
            // Written by writeHead in canonical form; meaningless in trailers.
            if !isTrailers {
                guard let n = FieldName.decimal(value) else { return fault = .malformed }
                contentLength = n
            }
        case .te:
            return  // only "trailers" gets here, and it is hop-by-hop
        case .other:
            writeLine(name, value, &arena)
        }
    }

    private mutating func writeLine(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ arena: inout Arena) {
        if fieldsStart < 0 { fieldsStart = arena.used }
        let mark = arena.used
        guard arena.append(name), arena.append(": "), arena.append(value), arena.append("\r\n")
        else {
            arena.truncate(to: mark)
            return fault = .tooLarge
        }
    }

    /// The field lines written so far.
    func fields(_ arena: Arena) -> Span {
        let from = fieldsStart < 0 ? arena.used : fieldsStart
        return Span(start: Int32(from), count: Int32(arena.used - from))
    }

    /// Moves every offset back by `delta` after the arena dropped what preceded the block.
    mutating func rebase(by delta: Int) {
        start -= delta
        method.shift(back: delta)
        path.shift(back: delta)
        authority.shift(back: delta)
        hostLine.shift(back: delta)
        if fieldsStart >= 0 { fieldsStart -= delta }
    }
}
