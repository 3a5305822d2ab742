import Config
import EventLoop
import HTTP2
import Stats
import TLS

/// A frontend as the data path uses it: limits, trust list and router, resolved once per
/// configuration. `counters` points into the stats area of the worker that serves it.
public final class Frontend {
    public let config: FrontendConfig
    let router: Router
    let isTCP: Bool
    public let statsSlot: Int
    var counters: FrontendCounters!
    let nameBytes: [UInt8]
    /// Certificates of the `listen ... tls` listeners, loaded when the configuration is.
    let tls: TLSServerContext?
    var accessLog: AccessLog?
    /// Memory for the HTTP/2 connections' header decoding, shared by this worker's connections.
    private(set) lazy var http2Pool = H2MemoryPool(
        blockSize: H2Connection.arenaSize(for: H2Settings(maxHeaderListSize: config.maxHeaderSize)))

    init(config: FrontendConfig, router: Router, statsSlot: Int, tls: TLSServerContext?) {
        self.config = config
        self.router = router
        self.statsSlot = statsSlot
        self.tls = tls
        nameBytes = Array(config.name.utf8)
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
