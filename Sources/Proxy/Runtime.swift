import Config
import EventLoop

/// A configuration made ready to serve: server names resolved, frontends and backends indexed,
/// listeners opened. Built once per load; workers only read it.
final class Runtime {
    let config: ProxyConfig
    let frontends: [Frontend]
    let backends: [Backend]
    private(set) var listeners: [Listener] = []
    /// Size of every pooled buffer: large enough for the largest allowed request head.
    let bufferSize: Int

    init(config: ProxyConfig) throws(ProxyError) {
        self.config = config
        var index: [String: Int] = [:]
        for (i, b) in config.backends.enumerated() { index[b.name] = i }
        var backends: [Backend] = []
        for (i, b) in config.backends.enumerated() {
            var servers: [UpstreamServer] = []
            for s in b.servers {
                do {
                    servers.append(UpstreamServer(config: s, address: try SocketAddress.resolve(host: s.host, port: s.port)))
                } catch {
                    throw ProxyError("backend \(b.name): server \(s.address): \(error.call)")
                }
            }
            backends.append(Backend(config: b, index: i, servers: servers))
        }
        self.backends = backends
        frontends = config.frontends.map { Frontend(config: $0, backendIndex: index) }
        let largestHead = config.frontends.map(\.maxHeaderSize).max() ?? 0
        bufferSize = max(64 * 1024, (largestHead + 4096 + 4095) / 4096 * 4096)
    }

    /// Opens every listener of every frontend.
    func openListeners() throws(ProxyError) {
        for (i, fe) in config.frontends.enumerated() {
            for address in fe.listens {
                guard let sa = SocketAddress(ip: address.host, port: address.port) else {
                    throw ProxyError("frontend \(fe.name): invalid listen address \(address.description)")
                }
                do {
                    let fd = try Socket.listen(sa)
                    listeners.append(Listener(fd: fd, frontend: i, address: address))
                } catch {
                    throw ProxyError("frontend \(fe.name): cannot listen on \(address.description): \(Syscall.errorString(error.code))")
                }
            }
        }
    }
}
