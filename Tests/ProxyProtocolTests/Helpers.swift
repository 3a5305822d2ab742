import XCTest
@testable import ProxyProtocol

/// The parser's answer in a comparable form.
enum Outcome: Equatable, CustomStringConvertible {
    case needMore
    case invalid(String)
    case header(Int, ProxyAddress?, ProxyAddress?)

    init(_ result: ProxyParseResult) {
        switch result {
        case .needMore: self = .needMore
        case .invalid(let reason): self = .invalid(reason.description)
        case .header(let length, let source, let destination): self = .header(length, source, destination)
        }
    }

    var isInvalid: Bool {
        if case .invalid = self { return true }
        return false
    }

    var description: String {
        switch self {
        case .needMore: return "needMore"
        case .invalid(let reason): return "invalid(\(reason))"
        case .header(let n, let s, let d): return "header(\(n), \(s.map(text) ?? "nil"), \(d.map(text) ?? "nil"))"
        }
    }
}

/// Parses an exact-size copy of `bytes`.
func parse(_ bytes: [UInt8]) -> Outcome {
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
    defer { copy.deallocate() }
    copy.copyBytes(from: bytes)
    return Outcome(ProxyHeaderParser.parse(UnsafeRawBufferPointer(copy)))
}

func parse(_ text: String) -> Outcome { parse(Array(text.utf8)) }

/// "ip:port" or "[ip]:port" through `writeIP`.
func text(_ a: ProxyAddress) -> String {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ProxyAddress.maxIPTextLength, alignment: 1)
    defer { buffer.deallocate() }
    let ip = String(decoding: buffer[0..<a.writeIP(into: buffer)!], as: UTF8.self)
    return a.unmapped.family == .ipv6 ? "[\(ip)]:\(a.port)" : "\(ip):\(a.port)"
}

func v4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) -> ProxyAddress {
    ProxyAddress(ipv4: UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d), port: port)
}

func v6(_ high: UInt64, _ low: UInt64, port: UInt16) -> ProxyAddress {
    ProxyAddress(ipv6High: high, low: low, port: port)
}

/// Runs a writer into a buffer of `capacity` bytes.
func written(capacity: Int, _ write: (UnsafeMutableRawBufferPointer) -> Int?) -> [UInt8]? {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
    defer { buffer.deallocate() }
    return write(buffer).map { Array(buffer[0..<$0]) }
}

let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

/// A v2 header: signature, version/command, family/transport, length, then `body`.
func v2(_ verCmd: UInt8, _ famProto: UInt8, _ body: [UInt8], length: Int? = nil) -> [UInt8] {
    let n = length ?? body.count
    return v2Signature + [verCmd, famProto, UInt8(n >> 8), UInt8(n & 0xff)] + body
}

func assertEveryPrefixNeedsMore(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
    for n in 0..<bytes.count {
        XCTAssertEqual(parse(Array(bytes[0..<n])), .needMore, "prefix of \(n) bytes", file: file, line: line)
    }
}

/// SplitMix64: reproducible pseudo-random numbers for generated cases.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
