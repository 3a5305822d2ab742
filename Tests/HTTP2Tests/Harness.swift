import HTTP1
import HTTP2
import XCTest

/// A server event copied out of the connection (its bytes are only valid until the next receive).
enum Seen: Equatable {
    case request(stream: Int32, head: String, hasBody: Bool, chunked: Bool)
    case data(stream: Int32, bytes: [UInt8], end: Bool)
    case trailers(stream: Int32, lines: String)
    case bodyTaken(Int32)
    case reset(Int32, H2ErrorCode)
    case closed(Int32)
}

/// A server H2Connection fed by hand or by a TestClient, with its events collected.
final class Harness {
    private(set) var server: H2Connection
    let settings: H2Settings
    var now: Int64 = 1_000
    var seen: [Seen] = []
    /// Hand request body bytes back (`consumed`) as soon as they are seen.
    var autoConsume = true
    var lastResult = H2ReceiveResult.consumed(0)
    /// Each request head, re-parsed by HTTP1's RequestParser.
    var parsedHeads: [Int32: RequestHead] = [:]

    init(_ settings: H2Settings = H2Settings()) {
        self.settings = settings
        server = H2Connection(settings: settings, now: now)
    }

    /// Puts the server to sleep, pumping `client` while it asks the client for something first
    /// (an empty HPACK table, its acknowledgement); false when it cannot sleep.
    func sleep(_ client: TestClient) -> H2Dormant? {
        for _ in 0..<4 {
            switch server.sleep() {
            case .asleep(let dormant): return dormant
            case .notYet: pump(client)
            case .cannot: return nil
            }
        }
        return nil
    }

    /// A new server engine from `dormant`, as the data path builds one when the client sends again.
    func wake(_ dormant: H2Dormant) -> Bool {
        guard let woken = H2Connection(waking: dormant, settings: settings, now: now, pool: nil) else { return false }
        server = woken
        return true
    }

    /// Sleeps and wakes; false if either failed.
    func sleepAndWake(_ client: TestClient) -> Bool {
        guard let dormant = sleep(client) else { return false }
        return wake(dormant)
    }

    var requests: [(stream: Int32, head: String)] {
        seen.compactMap { if case .request(let s, let h, _, _) = $0 { return (s, h) } else { return nil } }
    }

    /// Feeds `bytes` to the server, draining its events whenever it stops early.
    @discardableResult
    func receive(_ bytes: [UInt8]) -> H2ReceiveResult {
        bytes.withUnsafeBytes { buf in
            var offset = 0
            while true {
                lastResult = server.receive(UnsafeRawBufferPointer(rebasing: buf[offset...]), now: now)
                collect()
                guard case .consumed(let n) = lastResult else { return }
                offset += n
                if offset == buf.count { return }
                precondition(n > 0 || server.nextEvent() == nil, "receive made no progress")
            }
        }
        return lastResult
    }

    /// Everything the server has to send, with the events that come with it.
    func output() -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while server.hasOutput {
            let n = buffer.withUnsafeMutableBytes { server.produceOutput(into: $0) }
            if n == 0 { break }
            out += buffer[0..<n]
            collect()
        }
        collect()
        return out
    }

    /// The server's output as frames (asserting that it is made of whole frames).
    func frames(file: StaticString = #filePath, line: UInt = #line) -> [Frame] {
        let out = output()
        guard let frames = Frame.parse(out) else {
            XCTFail("server output is not a sequence of frames", file: file, line: line)
            return []
        }
        return frames
    }

    /// Moves bytes both ways until neither side has anything to say.
    func pump(_ client: TestClient, rounds: Int = 100) {
        for _ in 0..<rounds {
            let up = client.output()
            if !up.isEmpty { receive(up) }
            let down = output()
            if !down.isEmpty { client.input(down) }
            if up.isEmpty && down.isEmpty { return }
        }
    }

    func collect() {
        while let event = server.nextEvent() {
            switch event {
            case .request(let r):
                var head = [UInt8](repeating: 0, count: r.headLength + 16)
                let n = head.withUnsafeMutableBytes { server.writeHead(of: r, into: $0) }
                precondition(n == r.headLength, "headLength \(r.headLength) but wrote \(String(describing: n))")
                let bytes = Array(head[0..<n!])
                if let parsed = try? bytes.withUnsafeBytes({ try RequestParser.parse($0, headLength: n!, headers: HeaderTable()) }) {
                    parsedHeads[r.stream] = parsed
                }
                seen.append(.request(stream: r.stream, head: String(decoding: bytes, as: UTF8.self), hasBody: r.hasBody, chunked: r.isChunked))
            case .data(let s, let bytes, let end):
                seen.append(.data(stream: s, bytes: Array(bytes), end: end))
                if autoConsume { server.consumed(stream: s, bytes: bytes.count) }
            case .trailers(let s, let fields):
                seen.append(.trailers(stream: s, lines: String(decoding: server.bytes(of: fields), as: UTF8.self)))
            case .bodyTaken(let s):
                seen.append(.bodyTaken(s))
            case .reset(let s, let code):
                seen.append(.reset(s, code))
            case .closed(let s):
                seen.append(.closed(s))
            }
        }
    }

    /// The events that concern `stream`.
    func events(of stream: Int32) -> [Seen] {
        seen.filter {
            switch $0 {
            case .request(let s, _, _, _), .data(let s, _, _), .trailers(let s, _), .bodyTaken(let s), .reset(let s, _), .closed(let s):
                return s == stream
            }
        }
    }

    /// The request body bytes seen for `stream`, and whether it ended.
    func body(_ stream: Int32) -> (bytes: [UInt8], ended: Bool) {
        var bytes: [UInt8] = []
        var ended = false
        for case .data(stream, let b, let end) in seen {
            bytes += b
            ended = ended || end
        }
        return (bytes, ended)
    }
}

/// An upstream response as the data path's ResponseParser would produce it.
final class UpstreamResponse {
    let bytes: [UInt8]
    let headLength: Int
    let headers: HeaderTable
    let head: ResponseHead

    init(_ text: String, method: HTTP1.Method = .get) {
        let bytes = Array(text.utf8)
        let headers = HeaderTable()
        let headLength = bytes.withUnsafeBytes { HeadScanner.headEnd(in: $0, searchFrom: 0)! }
        head = try! bytes.withUnsafeBytes { try ResponseParser.parse($0, headLength: headLength, requestMethod: method, headers: headers) }
        self.bytes = bytes
        self.headers = headers
        self.headLength = headLength
    }

    var body: [UInt8] { Array(bytes[headLength...]) }

    @discardableResult
    func submit(to server: H2Connection, stream: Int32) -> Bool {
        bytes.withUnsafeBytes { server.submitResponse(stream: stream, head: head, headers: headers, source: $0) }
    }
}
