import Balancer
import CLinux
import Config
import DataPath
import EventLoop
import Glibc
import HTTP1

/// Active health checks, run by the master so that each server is checked once per interval for
/// the whole process group. A check is `GET path` on a new connection with `Connection: close`;
/// a status within `expect` is a success. `fall` consecutive failures mark the server down,
/// `rise` consecutive successes mark it up again; the state goes to the server's shared words
/// (`checkDown`), where every worker's balancer reads it.
final class HealthChecker {
    private enum Phase { case idle, connecting, sending, reading }

    private struct Check {
        let backend: String
        let server: UpstreamServer
        let config: HealthCheckConfig
        let request: [UInt8]
        var phase = Phase.idle
        var fd: Int32 = -1
        var nextAt: Int64
        var deadline: Int64 = 0
        var sent = 0
        var response: [UInt8] = []
        var successes = 0
        var failures = 0
    }

    private var checks: [Check] = []
    private unowned let loop: MasterLoop
    private let logger: Logger
    private let headers = HeaderTable(capacity: 64)

    init(runtime: Runtime, loop: MasterLoop, logger: Logger) {
        self.loop = loop
        self.logger = logger
        let now = Clock.nowMs()
        for b in runtime.backends {
            guard let hc = b.config.healthCheck else { continue }
            for s in b.servers {
                let host = s.config.port == 80 ? s.config.host : "\(s.config.host):\(s.config.port)"
                let text = "GET \(hc.path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: sluice-health-check\r\nConnection: close\r\n\r\n"
                checks.append(Check(backend: b.config.name, server: s, config: hc, request: Array(text.utf8), nextAt: now))
            }
        }
    }

    var descriptors: [Int32] { checks.map(\.fd).filter { $0 >= 0 } }

    func close() {
        for i in checks.indices where checks[i].fd >= 0 {
            loop.close(checks[i].fd)
            checks[i].fd = -1
        }
    }

    /// Starts checks that are due and fails those past their timeout.
    func tick(now: Int64) {
        for i in checks.indices {
            if checks[i].phase == .idle && now >= checks[i].nextAt {
                start(i, now: now)
            } else if checks[i].phase != .idle && now >= checks[i].deadline {
                finish(i, healthy: false, why: "timed out", now: now)
            }
        }
    }

    func handle(check i: Int) {
        guard i < checks.count, checks[i].phase != .idle else { return }
        advance(i, now: Clock.nowMs())
    }

    private func start(_ i: Int, now: Int64) {
        checks[i].deadline = now + Int64(checks[i].config.timeoutMs)
        checks[i].sent = 0
        checks[i].response.removeAll(keepingCapacity: true)
        switch Socket.connect(checks[i].server.address) {
        case .connected(let fd), .inProgress(let fd):
            checks[i].fd = fd
            checks[i].phase = .connecting
            do {
                try loop.watch(fd, role: .healthCheck, owner: Int32(i), events: SL_EPOLLIN | SL_EPOLLOUT | SL_EPOLLRDHUP | SL_EPOLLET)
            } catch {
                finish(i, healthy: false, why: "\(error)", now: now)
            }
        case .failed(let e):
            finish(i, healthy: false, why: Syscall.errorString(e), now: now)
        }
    }

    private func advance(_ i: Int, now: Int64) {
        let fd = checks[i].fd
        if checks[i].phase == .connecting {
            let err = Socket.pendingError(fd)
            if err != 0 { return finish(i, healthy: false, why: Syscall.errorString(err), now: now) }
            checks[i].phase = .sending
        }
        if checks[i].phase == .sending {
            let sent = checks[i].sent
            let result = checks[i].request.withUnsafeBytes {
                Syscall.write(fd, UnsafeRawBufferPointer(rebasing: $0[sent...]), UnsafeRawBufferPointer(start: nil, count: 0))
            }
            switch result {
            case .bytes(let n):
                checks[i].sent += n
                if checks[i].sent < checks[i].request.count { return }
                checks[i].phase = .reading
            case .wouldBlock: return
            case .endOfFile, .failed: return finish(i, healthy: false, why: "connection closed while sending", now: now)
            }
        }
        var chunk = [UInt8](repeating: 0, count: 2048)
        while true {
            let result = chunk.withUnsafeMutableBytes { Syscall.read(fd, $0.baseAddress!, $0.count) }
            switch result {
            case .bytes(let n):
                checks[i].response += chunk[0..<n]
                switch checks[i].response.withUnsafeBytes({ HealthCheckResponse.verdict($0, headers: headers) }) {
                case .incomplete:
                    continue
                case .status(let status):
                    let c = checks[i].config
                    return finish(i, healthy: status >= c.expectLow && status <= c.expectHigh, why: "status \(status)", now: now)
                case .malformed(let why):
                    return finish(i, healthy: false, why: why, now: now)
                }
            case .wouldBlock:
                return
            case .endOfFile, .failed:
                return finish(i, healthy: false, why: "connection closed before a complete response head", now: now)
            }
        }
    }

    private func finish(_ i: Int, healthy: Bool, why: String, now: Int64) {
        if checks[i].fd >= 0 {
            loop.close(checks[i].fd)
            checks[i].fd = -1
        }
        checks[i].phase = .idle
        checks[i].nextAt = now + Int64(checks[i].config.intervalMs)
        let server = checks[i].server
        let label = "server \(server.name) of backend \(checks[i].backend)"
        if healthy {
            checks[i].failures = 0
            checks[i].successes += 1
            guard checks[i].successes >= checks[i].config.rise else { return }
            // A passing check outranks passive failures: a restarted server is back as soon as
            // it answers its checks, not only when `fail_timeout` runs out.
            let (old, _) = server.shared.updatePassive { _ in PassiveHealth.State().packed }
            if PassiveHealth.State(packed: old).downUntil > now {
                logger.info("\(label) passed \(checks[i].successes) health checks; clearing its passive failures")
            }
            if server.shared.checkDown {
                server.shared.checkDown = false
                server.shared.upSince = now
                logger.info("\(label) is up (\(checks[i].successes) successful health checks)")
            }
        } else {
            checks[i].successes = 0
            checks[i].failures += 1
            if !server.shared.checkDown && checks[i].failures >= checks[i].config.fall {
                server.shared.checkDown = true
                logger.warn("\(label) is down (health check: \(why); \(checks[i].failures) failures in a row)")
            }
        }
    }
}
