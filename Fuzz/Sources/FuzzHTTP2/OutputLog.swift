import FuzzSupport
import HTTP2

/// The server's output, checked frame by frame as it arrives: SETTINGS first, only frame types a
/// server sends, on the streams they belong to, no larger than the client allows by default.
struct OutputLog {
    var bytes: [UInt8] = []
    var checked = 0
    var frames = 0
    var lastType: UInt8 = 0
    var goAwayCode: UInt32?

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        bytes += chunk
        while bytes.count - checked >= 9 {
            let length = Int(bytes[checked]) << 16 | Int(bytes[checked + 1]) << 8 | Int(bytes[checked + 2])
            guard bytes.count - checked - 9 >= length else { return }
            check(type: bytes[checked + 3], flags: bytes[checked + 4], length: length,
                  stream: Int32(bitPattern: UInt32(bytes[checked + 5]) << 24 | UInt32(bytes[checked + 6]) << 16
                                | UInt32(bytes[checked + 7]) << 8 | UInt32(bytes[checked + 8])),
                  payload: checked + 9)
            checked += 9 + length
        }
    }

    private mutating func check(type: UInt8, flags: UInt8, length: Int, stream: Int32, payload: Int) {
        if frames == 0 { require(type == 0x4 && flags == 0, "the server preface is not SETTINGS") }
        frames += 1
        lastType = type
        require(length <= 16_384, "frame of \(length) bytes")
        switch type {
        case 0x0, 0x1, 0x9:  // DATA, HEADERS, CONTINUATION: responses on client streams
            require(stream > 0 && stream % 2 == 1, "frame type \(type) on stream \(stream)")
        case 0x3:  // RST_STREAM
            require(stream > 0 && length == 4, "RST_STREAM on stream \(stream), \(length) bytes")
        case 0x4, 0x6:  // SETTINGS, PING
            require(stream == 0, "frame type \(type) on stream \(stream)")
        case 0x7:  // GOAWAY
            require(stream == 0 && length >= 8, "GOAWAY on stream \(stream), \(length) bytes")
            goAwayCode = UInt32(bytes[payload + 4]) << 24 | UInt32(bytes[payload + 5]) << 16
                | UInt32(bytes[payload + 6]) << 8 | UInt32(bytes[payload + 7])
        case 0x8:  // WINDOW_UPDATE
            require(length == 4, "WINDOW_UPDATE of \(length) bytes")
        default:
            require(false, "the server sent frame type \(type)")
        }
    }

    /// At the end: whole frames only, and an ended connection said so with its GOAWAY code.
    func finish(termination: H2Termination?) {
        require(checked == bytes.count, "output ends inside a frame")
        if let termination, termination.code != .noError, termination.detail != "closed by the server" {
            require(goAwayCode == termination.code.rawValue,
                    "termination \(termination) but GOAWAY code \(String(describing: goAwayCode))")
        }
    }
}
