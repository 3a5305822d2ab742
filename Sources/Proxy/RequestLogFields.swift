import HTTP1

/// Copies of the request fields an access-log line needs, taken when the head is parsed (the
/// head's bytes are gone by the time the response completes). Storage is allocated the first
/// time a session serves a frontend with an access log, then reused.
struct RequestLogFields {
    private static let methodCapacity = 32
    private static let targetCapacity = 2048
    private static let refererCapacity = 512
    private static let userAgentCapacity = 512
    private static let total = methodCapacity + targetCapacity + refererCapacity + userAgentCapacity

    private var storage: UnsafeMutableRawPointer?
    private var methodLength = 0
    private var targetLength = 0
    private var refererLength = 0
    private var userAgentLength = 0
    var http10 = false

    var method: UnsafeRawBufferPointer { view(0, methodLength) }
    var target: UnsafeRawBufferPointer { view(Self.methodCapacity, targetLength) }
    var referer: UnsafeRawBufferPointer { view(Self.methodCapacity + Self.targetCapacity, refererLength) }
    var userAgent: UnsafeRawBufferPointer { view(Self.methodCapacity + Self.targetCapacity + Self.refererCapacity, userAgentLength) }

    private func view(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.map { $0 + offset }, count: count)
    }

    mutating func clear() {
        methodLength = 0
        targetLength = 0
        refererLength = 0
        userAgentLength = 0
    }

    mutating func capture(_ head: RequestHead, headers: HeaderTable, source: UnsafeRawBufferPointer) {
        if storage == nil { storage = .allocate(byteCount: Self.total, alignment: 1) }
        http10 = head.version == .http10
        methodLength = copy(source, 0, head.methodEnd, to: 0, capacity: Self.methodCapacity)
        targetLength = copy(source, head.targetStart, head.targetEnd, to: Self.methodCapacity, capacity: Self.targetCapacity)
        refererLength = 0
        userAgentLength = 0
        for i in 0..<headers.count {
            let f = headers[i]
            guard f.known == .other else { continue }
            let name = UnsafeRawBufferPointer(rebasing: source[Int(f.nameStart)..<Int(f.nameEnd)])
            if RequestLogFields.equalsLowercase(name, "referer") {
                refererLength = copy(source, Int(f.valueStart), Int(f.valueEnd), to: Self.methodCapacity + Self.targetCapacity,
                                     capacity: Self.refererCapacity)
            } else if RequestLogFields.equalsLowercase(name, "user-agent") {
                userAgentLength = copy(source, Int(f.valueStart), Int(f.valueEnd),
                                       to: Self.methodCapacity + Self.targetCapacity + Self.refererCapacity,
                                       capacity: Self.userAgentCapacity)
            }
        }
    }

    private func copy(_ source: UnsafeRawBufferPointer, _ start: Int, _ end: Int, to offset: Int, capacity: Int) -> Int {
        let n = min(end - start, capacity)
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
