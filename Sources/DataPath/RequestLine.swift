import HTTP1

/// Copies of the request fields an access-log line needs, taken when the head is parsed (the
/// head's bytes are gone by the time the response completes). The bytes live in storage the
/// client connection owns (allocated once per connection, when its frontend logs); this value
/// holds their lengths and belongs to one exchange.
struct RequestLine {
    static let methodCapacity = 32
    static let targetCapacity = 2048
    static let protocolCapacity = 16
    static let refererCapacity = 512
    static let userAgentCapacity = 512
    static let storageSize = methodCapacity + targetCapacity + protocolCapacity + refererCapacity + userAgentCapacity

    private static let targetAt = methodCapacity
    private static let protocolAt = targetAt + targetCapacity
    private static let refererAt = protocolAt + protocolCapacity
    private static let userAgentAt = refererAt + refererCapacity

    private var storage: UnsafeMutableRawPointer?
    private var methodLength = 0
    private var targetLength = 0
    private var protocolLength = 0
    private var refererLength = 0
    private var userAgentLength = 0

    var method: UnsafeRawBufferPointer { view(0, methodLength) }
    var target: UnsafeRawBufferPointer { view(Self.targetAt, targetLength) }
    var version: UnsafeRawBufferPointer { view(Self.protocolAt, protocolLength) }
    var referer: UnsafeRawBufferPointer { view(Self.refererAt, refererLength) }
    var userAgent: UnsafeRawBufferPointer { view(Self.userAgentAt, userAgentLength) }

    init() {}

    /// The fields of a parsed request head; `http2`: it came as an HTTP/2 stream (its HTTP/1.1
    /// form was parsed), logged as `HTTP/2.0`.
    init(_ head: RequestHead, headers: HeaderTable, source: UnsafeRawBufferPointer, storage: UnsafeMutableRawPointer,
         http2: Bool = false) {
        self.storage = storage
        methodLength = copy(source, 0, head.methodEnd, to: 0, capacity: Self.methodCapacity)
        targetLength = copy(source, head.targetStart, head.targetEnd, to: Self.targetAt, capacity: Self.targetCapacity)
        if http2 {
            let version: StaticString = "HTTP/2.0"
            protocolLength = copy(UnsafeRawBufferPointer(start: version.utf8Start, count: version.utf8CodeUnitCount),
                                  0, version.utf8CodeUnitCount, to: Self.protocolAt, capacity: Self.protocolCapacity)
        } else {
            protocolLength = copy(source, head.targetEnd + 1, head.targetEnd + 9, to: Self.protocolAt, capacity: Self.protocolCapacity)
        }
        for i in 0..<headers.count {
            let f = headers[i]
            guard f.known == .other else { continue }
            let name = UnsafeRawBufferPointer(rebasing: source[Int(f.nameStart)..<Int(f.nameEnd)])
            if RequestLine.equalsLowercase(name, "referer") {
                refererLength = copy(source, Int(f.valueStart), Int(f.valueEnd), to: Self.refererAt, capacity: Self.refererCapacity)
            } else if RequestLine.equalsLowercase(name, "user-agent") {
                userAgentLength = copy(source, Int(f.valueStart), Int(f.valueEnd), to: Self.userAgentAt, capacity: Self.userAgentCapacity)
            }
        }
    }

    /// What can be read of a request line the parser rejected: up to three space-separated
    /// words of its first line (the log escapes whatever bytes they hold).
    init(rejected source: UnsafeRawBufferPointer, storage: UnsafeMutableRawPointer) {
        self.storage = storage
        var lineEnd = 0
        while lineEnd < source.count && source[lineEnd] != 0x0D && source[lineEnd] != 0x0A { lineEnd += 1 }
        var words: [(Int, Int)] = []
        var i = 0
        while i < lineEnd && words.count < 3 {
            let start = i
            while i < lineEnd && source[i] != 0x20 { i += 1 }
            words.append((start, i))
            i += 1
        }
        if words.count > 0 { methodLength = copy(source, words[0].0, words[0].1, to: 0, capacity: Self.methodCapacity) }
        if words.count > 1 { targetLength = copy(source, words[1].0, words[1].1, to: Self.targetAt, capacity: Self.targetCapacity) }
        if words.count > 2 { protocolLength = copy(source, words[2].0, words[2].1, to: Self.protocolAt, capacity: Self.protocolCapacity) }
    }

    private func view(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.map { $0 + offset }, count: count)
    }

    private func copy(_ source: UnsafeRawBufferPointer, _ start: Int, _ end: Int, to offset: Int, capacity: Int) -> Int {
        let n = min(min(end, source.count) - start, capacity)
        guard n > 0, let storage else { return 0 }
        (storage + offset).copyMemory(from: source.baseAddress! + start, byteCount: n)
        return n
    }

    private static func equalsLowercase(_ a: UnsafeRawBufferPointer, _ b: StaticString) -> Bool {
        guard a.count == b.utf8CodeUnitCount else { return false }
        return b.withUTF8Buffer { lower in
            for i in 0..<a.count {
                var c = a[i]
                if c >= 65 && c <= 90 { c |= 0x20 }
                if c != lower[i] { return false }
            }
            return true
        }
    }
}
