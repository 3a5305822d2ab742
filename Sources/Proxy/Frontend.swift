import Config
import EventLoop
import Stats
import TLS

/// A frontend as the worker uses it: limits, trust list and router, resolved once per config.
final class Frontend {
    let config: FrontendConfig
    let router: Router
    let isTCP: Bool
    let counters: FrontendCounters
    let nameBytes: [UInt8]
    /// Certificates of the `listen ... tls` listeners, loaded when the configuration is.
    let tls: TLSServerContext?

    init(config: FrontendConfig, backendIndex: [String: Int], counters: FrontendCounters, tls: TLSServerContext?) {
        self.config = config
        self.counters = counters
        self.tls = tls
        nameBytes = Array(config.name.utf8)
        router = Router(routes: config.routes, defaultBackend: config.defaultBackend, backendIndex: backendIndex)
        isTCP = config.mode == .tcp
    }

    @inline(__always)
    func trusts(_ peer: SocketAddress) -> Bool {
        if config.trustedProxies.isEmpty { return false }
        let a = peer.mapped128
        for cidr in config.trustedProxies where cidr.contains(high: a.high, low: a.low) { return true }
        return false
    }
}

/// A listening socket shared by the workers, with the text of its port for X-Forwarded-Port.
struct Listener {
    let fd: Int32
    let frontend: Int
    let https: Bool
    let address: ListenAddress
    let portText: UnsafeRawBufferPointer

    init(fd: Int32, frontend: Int, address: ListenAddress) {
        self.fd = fd
        self.frontend = frontend
        self.address = address
        https = address.tls
        let text = Array(String(address.port).utf8)
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: text.count, alignment: 1)
        storage.copyBytes(from: text)
        portText = UnsafeRawBufferPointer(storage)
    }
}
