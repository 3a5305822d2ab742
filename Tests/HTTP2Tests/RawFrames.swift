// Frames built and read byte by byte, for traffic a well-behaved nghttp2 client would never send.

/// Frame types and flags, as numbers.
enum T {
    static let data: UInt8 = 0, headers: UInt8 = 1, priority: UInt8 = 2, rst: UInt8 = 3, settings: UInt8 = 4
    static let pushPromise: UInt8 = 5, ping: UInt8 = 6, goAway: UInt8 = 7, windowUpdate: UInt8 = 8, continuation: UInt8 = 9
    static let endStream: UInt8 = 0x1, ack: UInt8 = 0x1, endHeaders: UInt8 = 0x4, padded: UInt8 = 0x8
}

enum Raw {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func frame(_ type: UInt8, _ flags: UInt8, _ stream: Int32, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        var out: [UInt8] = [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags]
        out += be32(UInt32(bitPattern: stream))
        return out + payload
    }

    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }

    static func settings(_ entries: [(UInt16, UInt32)] = []) -> [UInt8] {
        var p: [UInt8] = []
        for (id, value) in entries { p += [UInt8(id >> 8), UInt8(id & 0xff)] + be32(value) }
        return frame(T.settings, 0, 0, p)
    }

    static let settingsAck = frame(T.settings, T.ack, 0, [])

    /// The preface and an empty SETTINGS: what starts every raw test.
    static let start = preface + settings()

    static func headers(_ stream: Int32, _ block: [UInt8], endStream: Bool = true, endHeaders: Bool = true) -> [UInt8] {
        frame(T.headers, (endStream ? T.endStream : 0) | (endHeaders ? T.endHeaders : 0), stream, block)
    }

    static func continuation(_ stream: Int32, _ block: [UInt8], endHeaders: Bool) -> [UInt8] {
        frame(T.continuation, endHeaders ? T.endHeaders : 0, stream, block)
    }

    static func data(_ stream: Int32, _ bytes: [UInt8], endStream: Bool = false) -> [UInt8] {
        frame(T.data, endStream ? T.endStream : 0, stream, bytes)
    }

    static func rst(_ stream: Int32, _ code: UInt32 = 8) -> [UInt8] {
        frame(T.rst, 0, stream, be32(code))
    }

    static func ping(_ payload: [UInt8] = Array(repeating: 0, count: 8)) -> [UInt8] {
        frame(T.ping, 0, 0, payload)
    }

    static func windowUpdate(_ stream: Int32, _ increment: UInt32) -> [UInt8] {
        frame(T.windowUpdate, 0, stream, be32(increment))
    }

    static func priority(_ stream: Int32, dependsOn: Int32 = 0) -> [UInt8] {
        frame(T.priority, 0, stream, be32(UInt32(dependsOn)) + [16])
    }
}

/// HPACK (RFC 7541) without Huffman coding, enough to write any field, valid or not.
enum HPACK {
    static func integer(_ value: Int, prefixBits: Int, first: UInt8) -> [UInt8] {
        let max = (1 << prefixBits) - 1
        if value < max { return [first | UInt8(value)] }
        var out: [UInt8] = [first | UInt8(max)]
        var rest = value - max
        while rest >= 128 {
            out.append(UInt8(rest & 0x7f | 0x80))
            rest >>= 7
        }
        return out + [UInt8(rest)]
    }

    static func string(_ s: [UInt8]) -> [UInt8] {
        integer(s.count, prefixBits: 7, first: 0) + s
    }

    /// Literal header field without indexing, new name (§6.2.2).
    static func literal(_ name: String, _ value: String) -> [UInt8] {
        literal(Array(name.utf8), Array(value.utf8))
    }

    static func literal(_ name: [UInt8], _ value: [UInt8]) -> [UInt8] {
        [0x00] + string(name) + string(value)
    }

    /// Literal header field with incremental indexing, new name (§6.2.1): enters the dynamic table.
    static func indexedLiteral(_ name: String, _ value: [UInt8]) -> [UInt8] {
        [0x40] + string(Array(name.utf8)) + string(value)
    }

    /// Indexed header field (§6.1): 62 is the newest dynamic table entry.
    static func indexed(_ index: Int) -> [UInt8] {
        integer(index, prefixBits: 7, first: 0x80)
    }

    static func block(_ fields: [(String, String)]) -> [UInt8] {
        fields.flatMap { literal($0.0, $0.1) }
    }

    static let get: [(String, String)] = [(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "example.com")]
}

/// A frame the server sent.
struct Frame {
    var type: UInt8
    var flags: UInt8
    var stream: Int32
    var payload: [UInt8]

    var errorCode: UInt32 {
        let p = type == T.goAway ? Array(payload[4..<8]) : payload
        return UInt32(p[0]) << 24 | UInt32(p[1]) << 16 | UInt32(p[2]) << 8 | UInt32(p[3])
    }

    var lastStream: Int32 {
        Int32(bitPattern: (UInt32(payload[0]) << 24 | UInt32(payload[1]) << 16 | UInt32(payload[2]) << 8 | UInt32(payload[3])) & 0x7fff_ffff)
    }

    /// The value of setting `id` in a SETTINGS frame.
    func settingValue(_ id: UInt16) -> UInt32? {
        stride(from: 0, to: payload.count - 5, by: 6).first { UInt16(payload[$0]) << 8 | UInt16(payload[$0 + 1]) == id }.map { i in
            payload[(i + 2)..<(i + 6)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }
    }

    /// Splits the server's output into frames; nil when it is not a whole number of well-formed frames.
    static func parse(_ bytes: [UInt8]) -> [Frame]? {
        var frames: [Frame] = []
        var i = 0
        while i < bytes.count {
            guard bytes.count - i >= 9 else { return nil }
            let n = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            guard bytes.count - i - 9 >= n else { return nil }
            let stream = Int32(bitPattern: UInt32(bytes[i + 5]) << 24 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 8 | UInt32(bytes[i + 8]))
            frames.append(Frame(type: bytes[i + 3], flags: bytes[i + 4], stream: stream, payload: Array(bytes[(i + 9)..<(i + 9 + n)])))
            i += 9 + n
        }
        return frames
    }
}
