// swift-tools-version:6.0
import PackageDescription

// The data path's targets skip the run-time exclusivity checks in release builds: every access
// to a connection's stored properties through `inout` went through swift_beginAccess, 4% of a
// worker's CPU under keep-alive load (perf). Debug builds, and so the unit tests, keep them.
// They and the modules they call on every request (Balancer, Stats) are also compiled with
// cross-module optimization, so that generic code such as the balancing algorithms is
// specialized for the data path's types instead of running through witness tables.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"], .when(configuration: .release))]
let calledPerRequest: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "sluice",
    dependencies: [
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
    ],
    targets: [
        // Linux syscalls and headers that Glibc does not export to Swift.
        .target(name: "CLinux"),
        // Pure HTTP/1.1 head parsing, chunked framing and header rewriting (no I/O).
        .target(name: "HTTP1", swiftSettings: hotPath),
        // Configuration lexer, parser and validation (no I/O beyond reading the file).
        .target(name: "Config"),
        // Server selection algorithms (no I/O).
        .target(name: "Balancer", swiftSettings: calledPerRequest),
        // PROXY protocol v1/v2 header parsing and writing (no I/O).
        .target(name: "ProxyProtocol"),
        // The system OpenSSL (Debian's libssl-dev), with wrappers for the macros Swift cannot import.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // The system nghttp2 (Debian's libnghttp2-dev 1.52 with its security backports).
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        // HTTP/2 server sessions driven without I/O; each stream maps to one HTTP/1.1 exchange.
        .target(name: "HTTP2", dependencies: ["CNGHTTP2", "HTTP1"], swiftSettings: hotPath),
        // Non-blocking TLS sessions, certificate selection by SNI, the protocol policy.
        .target(name: "TLS", dependencies: ["COpenSSL", "EventLoop", "Config"]),
        // The system c-ares (Debian's libc-ares-dev): asynchronous DNS with sockets the caller polls.
        .systemLibrary(name: "CAres", pkgConfig: "libcares", providers: [.apt(["libc-ares-dev"])]),
        // DNS discovery of servers for the master: a c-ares resolver driven by the owner's epoll
        // loop, the pure re-query schedule (TTL, floor, ceiling, backoff) and server-list diffs.
        .target(name: "Discovery", dependencies: ["CAres", "EventLoop"]),
        // Counters in shared memory (made before fork) and their JSON / Prometheus / HTML views.
        .target(name: "Stats", dependencies: [.product(name: "Atomics", package: "swift-atomics")], swiftSettings: calledPerRequest),
        // epoll loop, deadlines, thin syscall layer, socket helpers.
        .target(name: "EventLoop", dependencies: ["CLinux"], swiftSettings: hotPath),
        // The worker: its event loop, client and upstream connections, exchanges, routing, access logs.
        .target(name: "DataPath", dependencies: ["CLinux", "EventLoop", "HTTP1", "HTTP2", "Config", "Balancer", "Stats", "TLS", "ProxyProtocol"],
                swiftSettings: hotPath),
        // The master: worker supervision, listeners, signals, reloads, health checks, stats endpoint.
        .target(name: "Supervisor", dependencies: ["CLinux", "EventLoop", "HTTP1", "Config", "Balancer", "Stats", "DataPath", "Discovery"]),
        .executableTarget(name: "sluice", dependencies: [
            "Supervisor", "DataPath", "Config", "TLS",
        ]),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"]),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop"]),
        .testTarget(name: "DataPathTests", dependencies: ["DataPath", "HTTP1", "Config", "EventLoop", "CLinux"]),
        .testTarget(name: "SupervisorTests", dependencies: ["Supervisor", "DataPath", "Config", "EventLoop", "Stats", "HTTP1"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        .testTarget(name: "BalancerTests", dependencies: ["Balancer"]),
        .testTarget(name: "ProxyProtocolTests", dependencies: ["ProxyProtocol"]),
        .testTarget(name: "StatsTests", dependencies: ["Stats"]),
        .testTarget(name: "TLSTests", dependencies: ["TLS", "COpenSSL", "Config"]),
        .testTarget(name: "DiscoveryTests", dependencies: ["Discovery", "EventLoop", "CLinux"]),
        .testTarget(name: "HTTP2Tests", dependencies: ["HTTP2", "HTTP1", "CNGHTTP2"]),
    ]
)
