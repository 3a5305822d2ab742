/// An HTTP/2 error code (RFC 9113 §7) as carried by RST_STREAM and GOAWAY. A peer may send a code
/// this list does not name; it keeps its raw value.
public struct H2ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    public static let noError = H2ErrorCode(rawValue: 0x0)
    public static let protocolError = H2ErrorCode(rawValue: 0x1)
    public static let internalError = H2ErrorCode(rawValue: 0x2)
    public static let flowControlError = H2ErrorCode(rawValue: 0x3)
    public static let settingsTimeout = H2ErrorCode(rawValue: 0x4)
    public static let streamClosed = H2ErrorCode(rawValue: 0x5)
    public static let frameSizeError = H2ErrorCode(rawValue: 0x6)
    public static let refusedStream = H2ErrorCode(rawValue: 0x7)
    public static let cancel = H2ErrorCode(rawValue: 0x8)
    public static let compressionError = H2ErrorCode(rawValue: 0x9)
    public static let connectError = H2ErrorCode(rawValue: 0xa)
    public static let enhanceYourCalm = H2ErrorCode(rawValue: 0xb)
    public static let inadequateSecurity = H2ErrorCode(rawValue: 0xc)
    public static let http11Required = H2ErrorCode(rawValue: 0xd)

    /// The RFC's name ("ENHANCE_YOUR_CALM"), or nil for a code it does not define.
    public var name: StaticString? {
        switch rawValue {
        case 0x0: return "NO_ERROR"
        case 0x1: return "PROTOCOL_ERROR"
        case 0x2: return "INTERNAL_ERROR"
        case 0x3: return "FLOW_CONTROL_ERROR"
        case 0x4: return "SETTINGS_TIMEOUT"
        case 0x5: return "STREAM_CLOSED"
        case 0x6: return "FRAME_SIZE_ERROR"
        case 0x7: return "REFUSED_STREAM"
        case 0x8: return "CANCEL"
        case 0x9: return "COMPRESSION_ERROR"
        case 0xa: return "CONNECT_ERROR"
        case 0xb: return "ENHANCE_YOUR_CALM"
        case 0xc: return "INADEQUATE_SECURITY"
        case 0xd: return "HTTP_1_1_REQUIRED"
        default: return nil
        }
    }

    public var description: String {
        if let name { return name.description }
        return "0x" + String(rawValue, radix: 16)
    }
}
