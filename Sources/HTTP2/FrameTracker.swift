/// A frame header (RFC 9113 §4.1) as it arrives from the client.
struct FrameHeader {
    var length: Int
    var type: UInt8
    var flags: UInt8
    var stream: Int32
}

/// Frame types and flags the connection looks at itself.
enum FrameType {
    static let data: UInt8 = 0x0
    static let headers: UInt8 = 0x1
    static let priority: UInt8 = 0x2
    static let rstStream: UInt8 = 0x3
    static let settings: UInt8 = 0x4
    static let pushPromise: UInt8 = 0x5
    static let ping: UInt8 = 0x6
    static let goAway: UInt8 = 0x7
    static let windowUpdate: UInt8 = 0x8
    static let continuation: UInt8 = 0x9

    static let endStream: UInt8 = 0x1
    static let ack: UInt8 = 0x1
    static let endHeaders: UInt8 = 0x4
}

/// Follows frame boundaries in the client's bytes, so that the connection can screen every frame
/// header against the budgets before nghttp2 sees the frame, check small frames nghttp2 ignores
/// once they are complete, and hand input over one frame at a time (it stops between frames when
/// it holds enough events).
struct FrameTracker {
    /// Bytes of the 24-byte client preface still to come (nghttp2 checks them).
    private var prefaceLeft: Int
    private var header: (UInt64, UInt8) = (0, 0)
    private var headerFill = 0
    private var payloadLeft = 0
    /// The frame being read (valid once its header is complete).
    private(set) var current = FrameHeader(length: 0, type: 0, flags: 0, stream: 0)
    /// The first bytes of its payload (up to 8).
    private var prefix: UInt64 = 0
    private var prefixFill = 0
    /// A HEADERS frame arrived without END_HEADERS and its block is not finished yet.
    private(set) var insideHeaderBlock = false

    /// `afterPreface`: for a connection that woke up (its preface came long ago).
    init(afterPreface: Bool = false) {
        prefaceLeft = afterPreface ? 0 : 24
    }

    /// Between two frames (or before the first).
    var atBoundary: Bool { (prefaceLeft == 0 || prefaceLeft == 24) && headerFill == 0 && payloadLeft == 0 }

    /// What `next` handed over: how many bytes, and whether a frame's header or the whole frame
    /// completed within them (both for a frame that fits).
    struct Step {
        var count: Int
        var headerDone: Bool
        var frameDone: Bool
    }

    /// How many of `available` bytes at `p` to hand over next: up to the end of the current frame.
    mutating func next(_ p: UnsafeRawPointer, _ available: Int) -> Step {
        if prefaceLeft > 0 {
            let n = min(prefaceLeft, available)
            prefaceLeft -= n
            return Step(count: n, headerDone: false, frameDone: false)
        }
        var taken = 0
        var headerDone = false
        if headerFill < 9 {
            withUnsafeMutableBytes(of: &header) { h in
                while headerFill < 9 && taken < available {
                    h[headerFill] = p.load(fromByteOffset: taken, as: UInt8.self)
                    headerFill += 1
                    taken += 1
                }
            }
            guard headerFill == 9 else { return Step(count: taken, headerDone: false, frameDone: false) }
            headerDone = true
            current = parsedHeader()
            payloadLeft = current.length
            prefixFill = 0
            if current.type == FrameType.headers || current.type == FrameType.pushPromise || current.type == FrameType.continuation {
                insideHeaderBlock = current.flags & FrameType.endHeaders == 0
            }
        }
        let payload = min(payloadLeft, available - taken)
        withUnsafeMutableBytes(of: &prefix) { b in
            var i = 0
            while prefixFill < 8 && i < payload {
                b[prefixFill] = p.load(fromByteOffset: taken + i, as: UInt8.self)
                prefixFill += 1
                i += 1
            }
        }
        payloadLeft -= payload
        taken += payload
        let frameDone = payloadLeft == 0
        if frameDone { headerFill = 0 }
        return Step(count: taken, headerDone: headerDone, frameDone: frameDone)
    }

    /// Payload bytes `offset..<offset + 4` of the frame just completed, big-endian (0 when the
    /// frame was shorter).
    func payloadWord(at offset: Int) -> UInt32 {
        guard offset + 4 <= prefixFill else { return 0 }
        return withUnsafeBytes(of: prefix) { b in
            UInt32(b[offset]) << 24 | UInt32(b[offset + 1]) << 16 | UInt32(b[offset + 2]) << 8 | UInt32(b[offset + 3])
        }
    }

    private func parsedHeader() -> FrameHeader {
        withUnsafeBytes(of: header) { h in
            let length = Int(h[0]) << 16 | Int(h[1]) << 8 | Int(h[2])
            let stream = (UInt32(h[5]) << 24 | UInt32(h[6]) << 16 | UInt32(h[7]) << 8 | UInt32(h[8])) & 0x7fff_ffff
            return FrameHeader(length: length, type: h[3], flags: h[4], stream: Int32(stream))
        }
    }
}
