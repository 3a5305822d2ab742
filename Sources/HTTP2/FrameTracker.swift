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
/// header against the budgets before nghttp2 sees the frame, and hand input over one frame at a
/// time (it stops between frames when it holds enough events).
struct FrameTracker {
    /// Bytes of the 24-byte client preface still to come (nghttp2 checks them).
    private var prefaceLeft = 24
    private var header: (UInt64, UInt8) = (0, 0)
    private var headerFill = 0
    private var payloadLeft = 0
    /// A HEADERS frame arrived without END_HEADERS and its block is not finished yet.
    private(set) var insideHeaderBlock = false

    /// Between two frames (or before the first).
    var atBoundary: Bool { (prefaceLeft == 0 || prefaceLeft == 24) && headerFill == 0 && payloadLeft == 0 }

    /// How many of `available` bytes at `p` to hand over next (up to the end of the current
    /// frame), and the frame's header when it completes within them.
    mutating func next(_ p: UnsafeRawPointer, _ available: Int) -> (count: Int, header: FrameHeader?) {
        if prefaceLeft > 0 {
            let n = min(prefaceLeft, available)
            prefaceLeft -= n
            return (n, nil)
        }
        var taken = 0
        var completed: FrameHeader?
        if payloadLeft == 0 {
            withUnsafeMutableBytes(of: &header) { h in
                while headerFill < 9 && taken < available {
                    h[headerFill] = p.load(fromByteOffset: taken, as: UInt8.self)
                    headerFill += 1
                    taken += 1
                }
            }
            guard headerFill == 9 else { return (taken, nil) }
            let h = parsedHeader()
            completed = h
            payloadLeft = h.length
            if h.type == FrameType.headers || h.type == FrameType.pushPromise || h.type == FrameType.continuation {
                insideHeaderBlock = h.flags & FrameType.endHeaders == 0
            }
        }
        let payload = min(payloadLeft, available - taken)
        payloadLeft -= payload
        taken += payload
        if payloadLeft == 0 { headerFill = 0 }
        return (taken, completed)
    }

    private func parsedHeader() -> FrameHeader {
        withUnsafeBytes(of: header) { h in
            let length = Int(h[0]) << 16 | Int(h[1]) << 8 | Int(h[2])
            let stream = (UInt32(h[5]) << 24 | UInt32(h[6]) << 16 | UInt32(h[7]) << 8 | UInt32(h[8])) & 0x7fff_ffff
            return FrameHeader(length: length, type: h[3], flags: h[4], stream: Int32(stream))
        }
    }
}
