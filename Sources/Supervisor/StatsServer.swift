import CLinux
import Config
import DataPath
import EventLoop
import Glibc
import HTTP1
import Stats

/// The stats endpoint, served by the master from the shared counters: GET /stats (JSON),
/// /metrics (Prometheus text), / (HTML). One response per connection, then close; peers
/// outside `allow` get 403. Not a hot path: plain arrays and Strings are fine here.
final class StatsServer {
    private struct Connection {
        let fd: Int32
        var input: [UInt8] = []
        var output: [UInt8] = []
        var sent = 0
        let allowed: Bool
        /// The peer's address, for the runtime control's record of who changed what.
        let peer: String
        let deadline: Int64
    }

    /// Answers runtime control requests: method, path, body, peer.
    typealias Control = (String, String, [UInt8], String) -> RuntimeControl.Reply

    private let allow: [CIDR]
    private let listenFDs: [Int32]
    private unowned let loop: MasterLoop
    private let logger: Logger
    private var connections: [Int32: Connection] = [:]
    private var nextID: Int32 = 0
    private let headers = HeaderTable(capacity: 64)
    private let control: Control

    init(config: StatsConfig, loop: MasterLoop, logger: Logger, control: @escaping Control) throws(ProxyError) {
        allow = config.allow
        self.control = control
        self.loop = loop
        self.logger = logger
        var fds: [Int32] = []
        for address in config.listens {
            guard let sa = SocketAddress(ip: address.host, port: address.port) else {
                throw ProxyError("stats: invalid listen address \(address.description)")
            }
            do {
                let fd = try Socket.listen(sa, backlog: 128)
                fds.append(fd)
                try loop.watch(fd, role: .statsListener, owner: Int32(fds.count - 1), events: SL_EPOLLIN)
            } catch {
                for fd in fds { loop.close(fd) }
                throw ProxyError("stats: cannot listen on \(address.description): \(error)")
            }
        }
        listenFDs = fds
    }

    /// Descriptors a forked worker must close.
    var descriptors: [Int32] { listenFDs + connections.values.map(\.fd) }

    func close() {
        for fd in descriptors { loop.close(fd) }
        connections.removeAll()
    }

    func accept(listener: Int32) {
        let listenFD = listenFDs[Int(listener)]
        while true {
            var peer = SocketAddress()
            guard case .bytes(let n) = Syscall.accept(listenFD, into: &peer) else { return }
            let fd = Int32(n)
            let a = peer.mapped128
            let allowed = allow.isEmpty || allow.contains { $0.contains(high: a.high, low: a.low) }
            let id = nextID
            nextID &+= 1
            do {
                try loop.watch(fd, role: .statsConnection, owner: id, events: SL_EPOLLIN | SL_EPOLLOUT | SL_EPOLLRDHUP | SL_EPOLLET)
            } catch {
                Syscall.close(fd)
                continue
            }
            connections[id] = Connection(fd: fd, allowed: allowed, peer: peer.hostText, deadline: Clock.nowMs() + 5000)
        }
    }

    func handle(connection id: Int32, snapshot: () -> StatsSnapshot) {
        guard var c = connections[id] else { return }
        if c.output.isEmpty {
            if !readRequest(&c, snapshot: snapshot) {
                finish(id, c)
                return
            }
        }
        if !c.output.isEmpty {
            if writeResponse(&c) {
                finish(id, c)
                return
            }
        }
        connections[id] = c
    }

    /// Closes connections that took too long.
    func sweep(now: Int64) {
        for (id, c) in connections where c.deadline <= now { finish(id, c) }
    }

    /// Reads until the head is complete and prepares the response. False: close now.
    private func readRequest(_ c: inout Connection, snapshot: () -> StatsSnapshot) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = chunk.withUnsafeMutableBytes { Syscall.read(c.fd, $0.baseAddress!, $0.count) }
            switch result {
            case .bytes(let n):
                c.input += chunk[0..<n]
                if c.input.count > 16384 {
                    c.output = Array(CannedResponse.bytes(status: 431))
                    return true
                }
            case .wouldBlock:
                return prepare(&c, snapshot: snapshot)
            case .endOfFile, .failed:
                return false
            }
        }
    }

    private enum Request {
        case incomplete, invalid, tooLarge
        case valid(Method, method: String, path: String, body: [UInt8])
    }

    /// The request once its head, and the body its Content-Length announces, are in.
    private func parse(_ input: [UInt8]) -> Request {
        input.withUnsafeBytes { raw -> Request in
            guard let end = HeadScanner.headEnd(in: raw, searchFrom: 0) else { return .incomplete }
            guard let head = try? RequestParser.parse(raw, headLength: end, headers: headers) else { return .invalid }
            let length: Int
            switch head.framing {
            case .none: length = 0
            case .contentLength(let n): length = n
            case .chunked, .untilClose: return .invalid
            }
            guard length <= 4096 else { return .tooLarge }
            guard raw.count >= end + length else { return .incomplete }
            var path = String(decoding: raw[head.targetStart..<head.targetEnd], as: UTF8.self)
            if let q = path.firstIndex(of: "?") { path = String(path[..<q]) }
            let method = String(decoding: raw[0..<head.methodEnd], as: UTF8.self)
            return .valid(head.method, method: method, path: path, body: Array(raw[end..<(end + length)]))
        }
    }

    private func prepare(_ c: inout Connection, snapshot: () -> StatsSnapshot) -> Bool {
        switch parse(c.input) {
        case .incomplete:
            return true
        case .invalid:
            c.output = Array(CannedResponse.bytes(status: 400))
        case .tooLarge:
            c.output = Array(CannedResponse.bytes(status: 413))
        case .valid(let kind, let method, let path, let body):
            guard c.allowed else {
                c.output = Array(CannedResponse.bytes(status: 403))
                return true
            }
            if RuntimeControl.handles(path) {
                let reply = control(method, path, body, c.peer)
                c.output = StatsServer.response(status: StatsServer.statusLine(reply.status), type: "application/json",
                                                body: reply.body, head: false)
                return true
            }
            guard kind == .get || kind == .head else {
                c.output = StatsServer.response(status: "405 Method Not Allowed", type: "text/plain", body: "use GET\n", head: false)
                return true
            }
            let head = kind == .head
            switch path {
            case "/stats":
                c.output = StatsServer.response(status: "200 OK", type: "application/json", body: StatsRenderer.json(snapshot()), head: head)
            case "/metrics":
                c.output = StatsServer.response(status: "200 OK", type: "text/plain; version=0.0.4",
                                                body: StatsRenderer.prometheus(snapshot()), head: head)
            case "/":
                c.output = StatsServer.response(status: "200 OK", type: "text/html; charset=utf-8", body: StatsRenderer.html(snapshot()), head: head)
            default:
                c.output = Array(CannedResponse.bytes(status: 404))
            }
        }
        return true
    }

    private static func statusLine(_ status: Int) -> String {
        switch status {
        case 200: return "200 OK"
        case 400: return "400 Bad Request"
        case 403: return "403 Forbidden"
        case 404: return "404 Not Found"
        default: return "405 Method Not Allowed"
        }
    }

    static func response(status: String, type: String, body: String, head: Bool) -> [UInt8] {
        let bytes = Array(body.utf8)
        let text = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
        return Array(text.utf8) + (head ? [] : bytes)
    }

    /// Writes what the socket takes. True when everything has been sent.
    private func writeResponse(_ c: inout Connection) -> Bool {
        while c.sent < c.output.count {
            let sent = c.sent
            let result = c.output.withUnsafeBytes { raw in
                Syscall.write(c.fd, UnsafeRawBufferPointer(rebasing: raw[sent...]), UnsafeRawBufferPointer(start: nil, count: 0))
            }
            switch result {
            case .bytes(let n): c.sent += n
            case .wouldBlock: return false
            case .endOfFile, .failed: return true
            }
        }
        return true
    }

    private func finish(_ id: Int32, _ c: Connection) {
        loop.close(c.fd)
        connections[id] = nil
    }
}
