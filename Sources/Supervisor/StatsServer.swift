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
        let deadline: Int64
    }

    private let allow: [CIDR]
    private let listenFDs: [Int32]
    private unowned let loop: MasterLoop
    private let logger: Logger
    private var connections: [Int32: Connection] = [:]
    private var nextID: Int32 = 0
    private let headers = HeaderTable(capacity: 64)

    init(config: StatsConfig, loop: MasterLoop, logger: Logger) throws(ProxyError) {
        allow = config.allow
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
            connections[id] = Connection(fd: fd, allowed: allowed, deadline: Clock.nowMs() + 5000)
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
        case incomplete, invalid
        case valid(Method, path: String)
    }

    private func prepare(_ c: inout Connection, snapshot: () -> StatsSnapshot) -> Bool {
        let request: Request = c.input.withUnsafeBytes { raw in
            guard let end = HeadScanner.headEnd(in: raw, searchFrom: 0) else { return .incomplete }
            guard let head = try? RequestParser.parse(raw, headLength: end, headers: headers) else { return .invalid }
            var path = String(decoding: raw[head.targetStart..<head.targetEnd], as: UTF8.self)
            if let q = path.firstIndex(of: "?") { path = String(path[..<q]) }
            return .valid(head.method, path: path)
        }
        switch request {
        case .incomplete:
            return true
        case .invalid:
            c.output = Array(CannedResponse.bytes(status: 400))
        case .valid:
            guard c.allowed else {
                c.output = Array(CannedResponse.bytes(status: 403))
                return true
            }
            guard case .valid(let method, let path) = request, method == .get || method == .head else {
                c.output = StatsServer.response(status: "405 Method Not Allowed", type: "text/plain", body: "use GET\n", head: false)
                return true
            }
            let head = method == .head
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
