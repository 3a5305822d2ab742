// PROXY protocol headers: the parser, given exact-size copies of the input and of its prefixes,
// must agree with a plain reading of HAProxy's doc/proxy-protocol.txt written here (`reference`,
// addresses through glibc's inet_pton), answer every prefix consistently with the whole input,
// never claim more bytes than it was given, and every header it accepts must re-serialise (v1 and
// v2) to a header that parses back to the same addresses; a v1 TCP4 line or a plain v2 header
// re-serialises to its own bytes.
import FuzzSupport
import Glibc
import ProxyProtocol

enum Outcome: Equatable, CustomStringConvertible {
    case needMore
    case invalid
    case header(Int, ProxyAddress?, ProxyAddress?)

    init(_ result: ProxyParseResult) {
        switch result {
        case .needMore: self = .needMore
        case .invalid: self = .invalid
        case .header(let n, let s, let d): self = .header(n, s, d)
        }
    }

    var description: String {
        switch self {
        case .needMore: return "needMore"
        case .invalid: return "invalid"
        case .header(let n, let s, let d): return "header(\(n), \(String(describing: s)), \(String(describing: d)))"
        }
    }
}

func parsed(_ bytes: UnsafeRawBufferPointer, _ count: Int) -> Outcome {
    withExactCopy(bytes, 0, count) { Outcome(ProxyHeaderParser.parse($0)) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProxyProtocol(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let whole = parsed(bytes, size)
    let expected = reference(Array(bytes))
    require(whole == expected, "parser: \(whole), reference: \(expected), input \(escaped(bytes))")
    checkPrefixes(bytes, whole)
    if case .header(let n, let source?, let destination?) = whole {
        require(n >= 16 && n <= size, "header length \(n) of \(size) bytes")
        checkRewrite(bytes, n, source, destination)
        checkText(source)
        checkText(destination)
    } else if case .header(let n, nil, nil) = whole {
        require(n >= 15 && n <= size, "header length \(n) of \(size) bytes")
    }
    return 0
}

/// Each prefix answers needMore until the header is complete, then the same header; an invalid
/// input shows it at some prefix and stays invalid after it.
func checkPrefixes(_ bytes: UnsafeRawBufferPointer, _ whole: Outcome) {
    var random = SplitRandom(seed: seed(of: bytes))
    var ends = Array(0...min(bytes.count, 120)) + random.prefixEnds(total: bytes.count, maxPieces: 40)
    if case .header(let n, _, _) = whole { ends += [n - 1, n] }
    var firstInvalid = Int.max
    for k in Set(ends).sorted() where k <= bytes.count {
        let part = parsed(bytes, k)
        switch whole {
        case .header(let n, _, _):
            require(part == (k < n ? .needMore : whole), "\(k)-byte prefix: \(part), whole: \(whole)")
        case .needMore:
            require(part == .needMore, "\(k)-byte prefix: \(part), whole: needMore")
        case .invalid:
            if part == .invalid { firstInvalid = min(firstInvalid, k) }
            require(part == .invalid || k < firstInvalid, "\(k)-byte prefix: \(part) after invalid at \(firstInvalid)")
            require(part == .invalid || part == .needMore, "\(k)-byte prefix: \(part), whole: invalid")
        }
    }
}

/// v1 and v2 headers written for the addresses parse back to them (as 128-bit values and ports).
func checkRewrite(_ bytes: UnsafeRawBufferPointer, _ n: Int, _ s: ProxyAddress, _ d: ProxyAddress) {
    let one = writeChecked(capacity: ProxyHeaderWriter.maxV1Length, "v1") { ProxyHeaderWriter.writeV1(source: s, destination: d, into: $0) }
    let two = writeChecked(capacity: ProxyHeaderWriter.maxV2Length, "v2") { ProxyHeaderWriter.writeV2(source: s, destination: d, into: $0) }
    for header in [one, two] {
        let again = header.withUnsafeBytes { parsed($0, header.count) }
        guard case .header(let m, let s2?, let d2?) = again, m == header.count else {
            require(false, "written header \(escaped(header)) parses as \(again)")
            return
        }
        require(s2.mapped128 == s.mapped128 && s2.port == s.port && d2.mapped128 == d.mapped128 && d2.port == d.port,
                "\(escaped(header)) parses back to \(s2), \(d2) instead of \(s), \(d)")
    }
    let input = Array(bytes[0..<n])
    if input.starts(with: Array("PROXY TCP4 ".utf8)) {
        require(one == input, "TCP4 line \(escaped(input)) re-serialised as \(escaped(one))")
    }
    let plainV2 = input.count > 13 && input[0] == 0x0D && input[12] == 0x21
        && (input[13] == 0x11 && n == 28 || input[13] == 0x21 && n == 52 && s.family == .ipv6 && d.family == .ipv6
            && !(isMapped(s) && isMapped(d)))
    if plainV2 {
        require(two == input, "v2 header \(escaped(input)) re-serialised as \(escaped(two))")
    }
}

func isMapped(_ a: ProxyAddress) -> Bool { ProxyAddress(mapped: a.high, low: a.low, port: 0).family == .ipv4 }

/// The IP's text reads back (inet_pton) as the same address.
func checkText(_ a: ProxyAddress) {
    let text = writeChecked(capacity: ProxyAddress.maxIPTextLength, "ip text") { a.writeIP(into: $0) }
    let string = String(decoding: text, as: UTF8.self)
    if a.family == .ipv4 || isMapped(a) {
        require(ptonIPv4(string) == UInt32(truncatingIfNeeded: a.mapped128.low), "IPv4 text \(string) of \(a)")
    } else {
        let back = ptonIPv6(string)
        require(back?.0 == a.high && back?.1 == a.low, "IPv6 text \(string) of \(a)")
    }
}

func ptonIPv4(_ s: String) -> UInt32? {
    var a = in_addr()
    return inet_pton(AF_INET, s, &a) == 1 ? UInt32(bigEndian: a.s_addr) : nil
}

func ptonIPv6(_ s: String) -> (UInt64, UInt64)? {
    var a = in6_addr()
    guard inet_pton(AF_INET6, s, &a) == 1 else { return nil }
    return withUnsafeBytes(of: &a) {
        (UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)), UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }
}

// MARK: - The spec, read plainly over the whole input

func reference(_ b: [UInt8]) -> Outcome {
    switch b.first {
    case nil: return .needMore
    case 0x50: return referenceV1(b)
    case 0x0D: return referenceV2(b)
    default: return .invalid
    }
}

/// "PROXY " then printable ASCII up to a CRLF that ends within 107 bytes.
func referenceV1(_ b: [UInt8]) -> Outcome {
    guard zip(b, Array("PROXY ".utf8)).allSatisfy({ $0 == $1 }) else { return .invalid }
    for (i, c) in b.prefix(107).enumerated() {
        if c == 0x0D {
            guard i <= 105 else { return .invalid }
            guard i + 1 < b.count else { return .needMore }
            return b[i + 1] == 0x0A ? referenceLine(String(decoding: b[0..<i], as: UTF8.self), length: i + 2) : .invalid
        }
        guard c >= 0x20 && c < 0x7F else { return .invalid }
    }
    return b.count >= 107 ? .invalid : .needMore
}

func referenceLine(_ line: String, length: Int) -> Outcome {
    let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    if fields.count >= 2 && fields[1] == "UNKNOWN" { return .header(length, nil, nil) }
    guard fields.count == 6, fields[1] == "TCP4" || fields[1] == "TCP6",
          let sp = referencePort(fields[4]), let dp = referencePort(fields[5]) else { return .invalid }
    if fields[1] == "TCP4" {
        guard let s = ptonIPv4(fields[2]), let d = ptonIPv4(fields[3]) else { return .invalid }
        return .header(length, ProxyAddress(ipv4: s, port: sp), ProxyAddress(ipv4: d, port: dp))
    }
    guard let s = ptonIPv6(fields[2]), let d = ptonIPv6(fields[3]) else { return .invalid }
    return .header(length, ProxyAddress(ipv6High: s.0, low: s.1, port: sp), ProxyAddress(ipv6High: d.0, low: d.1, port: dp))
}

/// 0 to 65535 in decimal, without a leading zero.
func referencePort(_ s: String) -> UInt16? {
    guard !s.isEmpty, s.count <= 5, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), s == "0" || !s.hasPrefix("0") else { return nil }
    return UInt16(s)
}

func referenceV2(_ b: [UInt8]) -> Outcome {
    let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    guard zip(b, signature).allSatisfy({ $0 == $1 }) else { return .invalid }
    if b.count > 12 && b[12] != 0x20 && b[12] != 0x21 { return .invalid }
    if b.count > 13 && !(b[13] >> 4 <= 3 && b[13] & 0x0F <= 2) { return .invalid }
    guard b.count >= 16 else { return .needMore }
    let n = 16 + Int(b[14]) * 256 + Int(b[15])
    guard n <= ProxyHeaderParser.maxV2Length else { return .invalid }
    guard b.count >= n else { return .needMore }
    let family = b[13] >> 4, transport = b[13] & 0x0F
    if b[12] == 0x20 || family == 0 || transport == 0 { return .header(n, nil, nil) }
    let block = [1: 12, 2: 36, 3: 216][Int(family)]!
    guard n - 16 >= block else { return .invalid }
    var tlvs = b[(16 + block)..<n]
    while !tlvs.isEmpty {
        guard tlvs.count >= 3 else { return .invalid }
        let length = 3 + Int(tlvs[tlvs.startIndex + 1]) * 256 + Int(tlvs[tlvs.startIndex + 2])
        guard tlvs.count >= length else { return .invalid }
        tlvs = tlvs.dropFirst(length)
    }
    guard transport == 1 && family != 3 else { return .header(n, nil, nil) }
    func number(_ at: Int, _ bytes: Int) -> UInt64 { b[at..<(at + bytes)].reduce(0) { $0 << 8 | UInt64($1) } }
    if family == 1 {
        return .header(n, ProxyAddress(ipv4: UInt32(number(16, 4)), port: UInt16(number(24, 2))),
                       ProxyAddress(ipv4: UInt32(number(20, 4)), port: UInt16(number(26, 2))))
    }
    return .header(n, ProxyAddress(ipv6High: number(16, 8), low: number(24, 8), port: UInt16(number(48, 2))),
                   ProxyAddress(ipv6High: number(32, 8), low: number(40, 8), port: UInt16(number(50, 2))))
}
