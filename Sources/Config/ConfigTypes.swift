// The typed configuration. Initializer defaults are the documented defaults of each directive.

public enum LogLevel: Int, Comparable, Sendable {
    case debug, info, warn, error

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    public var name: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warn: "warn"
        case .error: "error"
        }
    }
}

public enum LogTarget: Equatable, Sendable {
    case stderr, stdout, file(String)
}

public enum WorkerCount: Equatable, Sendable {
    case auto, count(Int)
}

public struct ListenAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Canonical IP literal without brackets: "0.0.0.0", "::1", ...
    public var host: String
    public var port: UInt16
    public var isIPv6: Bool
    public var tls: Bool
    /// `proxy_protocol`: every connection starts with a PROXY protocol header.
    public var proxyProtocol = false

    public init(host: String, port: UInt16, isIPv6: Bool, tls: Bool = false) {
        self.host = host
        self.port = port
        self.isIPv6 = isIPv6
        self.tls = tls
    }

    /// "127.0.0.1:8080" or "[::1]:8080".
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public struct ServerConfig: Equatable, Sendable {
    /// Host name or IP literal, without brackets.
    public var host: String
    public var port: UInt16
    public var weight: Int
    /// Failures within `failTimeoutMs` that mark the server down; 0 = never.
    public var maxFails: Int
    public var failTimeoutMs: Int
    public var backup: Bool
    public var tls: Bool
    public var tlsVerify: Bool
    public var tlsCA: String?
    public var tlsSNI: String?
    /// `slow_start=D`: the weight ramps up over this long after the server comes up (0: none).
    public var slowStartMs = 0
    /// `send_proxy=v1|v2`: a PROXY protocol header starts every connection to the server.
    public var sendProxy: ProxyProtocolVersion?
    /// `resolve`: the host name is looked up again and again (A and AAAA) through the resolver.
    public var resolve = false
    /// As written, e.g. "127.0.0.1:9001".
    public var address: String
    /// Where the `server` directive stands, for messages about its TLS files; never unequal.
    public var position: SourcePosition
    public var line: Int { position.line }
    public var column: Int { position.column }

    public init(host: String, port: UInt16, address: String, weight: Int = 1, maxFails: Int = 1,
                failTimeoutMs: Int = 10_000, backup: Bool = false, tls: Bool = false,
                tlsVerify: Bool = true, tlsCA: String? = nil, tlsSNI: String? = nil,
                line: Int = 0, column: Int = 0) {
        self.host = host
        self.port = port
        self.address = address
        self.weight = weight
        self.maxFails = maxFails
        self.failTimeoutMs = failTimeoutMs
        self.backup = backup
        self.tls = tls
        self.tlsVerify = tlsVerify
        self.tlsCA = tlsCA
        self.tlsSNI = tlsSNI
        position = SourcePosition(line: line, column: column)
    }
}

public struct HealthCheckConfig: Equatable, Sendable {
    public var path: String
    public var intervalMs: Int
    public var timeoutMs: Int
    public var rise: Int
    public var fall: Int
    /// Inclusive range of status codes counted as healthy.
    public var expectLow: Int
    public var expectHigh: Int

    public init(path: String = "/", intervalMs: Int = 2000, timeoutMs: Int = 1000, rise: Int = 2,
                fall: Int = 3, expectLow: Int = 200, expectHigh: Int = 399) {
        self.path = path
        self.intervalMs = intervalMs
        self.timeoutMs = timeoutMs
        self.rise = rise
        self.fall = fall
        self.expectLow = expectLow
        self.expectHigh = expectHigh
    }
}

public enum BalanceAlgorithm: String, Sendable {
    case roundRobin = "round_robin", leastConn = "least_conn", hash
}

/// What `balance hash` hashes: `hash_key source|uri|header NAME|cookie NAME`.
public enum HashKey: Equatable, Sendable {
    case source, uri, header(String), cookie(String)
}

/// `sticky cookie NAME [max_age=D] [secure] [httponly] [samesite=lax|strict|none]`.
public struct StickyConfig: Equatable, Sendable {
    public var cookie: String
    public var maxAgeMs: Int?
    public var secure = false
    public var httpOnly = false
    /// "Lax", "Strict" or "None" as written in the Set-Cookie attribute; nil for none.
    public var sameSite: String?

    public init(cookie: String) {
        self.cookie = cookie
    }
}

/// `discover srv NAME [max=N]`: the backend's servers are the SRV records of NAME.
public struct DiscoveryConfig: Equatable, Sendable {
    public var name: String
    public var max: Int?

    public init(name: String, max: Int? = nil) {
        self.name = name
        self.max = max
    }
}

/// `resolver ADDR:PORT [valid=D]`: the DNS server for `resolve` and `discover`.
public struct ResolverConfig: Equatable, Sendable {
    /// "127.0.0.1:53" or "[::1]:53", as `Discovery.Resolver` takes it.
    public var address: String
    /// Overrides the records' TTLs when set.
    public var validMs: Int?

    public init(address: String, validMs: Int? = nil) {
        self.address = address
        self.validMs = validMs
    }
}

/// `send_proxy=v1|v2` on a server.
public enum ProxyProtocolVersion: String, Equatable, Sendable {
    case v1, v2
}

public struct BackendConfig: Equatable, Sendable {
    public var name: String
    public var balance: BalanceAlgorithm
    public var servers: [ServerConfig]
    public var healthCheck: HealthCheckConfig?
    public var keepalive: Int
    public var retries: Int
    public var connectTimeoutMs: Int
    public var readTimeoutMs: Int
    public var hashKey = HashKey.source
    /// `hash_balance_factor`: bounded loads, percent of the mean (> 100).
    public var hashBalanceFactor: Int?
    public var sticky: StickyConfig?
    public var discover: DiscoveryConfig?

    public init(name: String, balance: BalanceAlgorithm = .roundRobin, servers: [ServerConfig] = [],
                healthCheck: HealthCheckConfig? = nil, keepalive: Int = 32, retries: Int = 2,
                connectTimeoutMs: Int = 5000, readTimeoutMs: Int = 60_000) {
        self.name = name
        self.balance = balance
        self.servers = servers
        self.healthCheck = healthCheck
        self.keepalive = keepalive
        self.retries = retries
        self.connectTimeoutMs = connectTimeoutMs
        self.readTimeoutMs = readTimeoutMs
    }
}

public enum FrontendMode: String, Sendable {
    case http, tcp
}

public struct CertificateConfig: Equatable, Sendable {
    public var certificatePath: String
    public var keyPath: String
    /// Where the `certificate` directive stands, for messages about its files; never unequal.
    public var position: SourcePosition
    public var line: Int { position.line }
    public var column: Int { position.column }

    public init(certificatePath: String, keyPath: String, line: Int = 0, column: Int = 0) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        position = SourcePosition(line: line, column: column)
    }
}

public struct RouteConfig: Equatable, Sendable {
    /// Lowercased.
    public var host: String?
    public var pathPrefix: String?
    public var backend: String

    public init(host: String? = nil, pathPrefix: String? = nil, backend: String) {
        self.host = host
        self.pathPrefix = pathPrefix
        self.backend = backend
    }
}

public enum AccessLogFormat: String, Sendable {
    case combined, json
}

public struct AccessLogConfig: Equatable, Sendable {
    /// nil = off.
    public var target: LogTarget?
    public var format: AccessLogFormat

    public init(target: LogTarget? = nil, format: AccessLogFormat = .combined) {
        self.target = target
        self.format = format
    }
}

public struct FrontendConfig: Equatable, Sendable {
    public var name: String
    public var mode: FrontendMode
    public var listens: [ListenAddress]
    /// Chosen by SNI; the first is the default.
    public var certificates: [CertificateConfig]
    public var trustedProxies: [CIDR]
    /// In file order; the first match wins.
    public var routes: [RouteConfig]
    public var defaultBackend: String?
    public var accessLog: AccessLogConfig
    public var headerTimeoutMs: Int
    public var idleTimeoutMs: Int
    /// A write to the client that makes no progress for this long closes the connection.
    public var sendTimeoutMs: Int
    public var maxHeaderSize: Int
    /// 0 = unlimited.
    public var maxBodySize: Int
    /// Forward request field names containing `_` (nginx's `underscores_in_headers`).
    public var underscoresInHeaders: Bool
    /// Speak HTTP/2 to clients: ALPN `h2` on TLS listeners, the preface on cleartext ones.
    public var http2: Bool

    public init(name: String, mode: FrontendMode = .http, listens: [ListenAddress] = [],
                certificates: [CertificateConfig] = [], trustedProxies: [CIDR] = [],
                routes: [RouteConfig] = [], defaultBackend: String? = nil,
                accessLog: AccessLogConfig = AccessLogConfig(), headerTimeoutMs: Int = 10_000,
                idleTimeoutMs: Int = 75_000, sendTimeoutMs: Int = 60_000, maxHeaderSize: Int = 16 * 1024,
                maxBodySize: Int = 0, underscoresInHeaders: Bool = false, http2: Bool = true) {
        self.name = name
        self.mode = mode
        self.listens = listens
        self.certificates = certificates
        self.trustedProxies = trustedProxies
        self.routes = routes
        self.defaultBackend = defaultBackend
        self.accessLog = accessLog
        self.headerTimeoutMs = headerTimeoutMs
        self.idleTimeoutMs = idleTimeoutMs
        self.sendTimeoutMs = sendTimeoutMs
        self.maxHeaderSize = maxHeaderSize
        self.maxBodySize = maxBodySize
        self.underscoresInHeaders = underscoresInHeaders
        self.http2 = http2
    }
}

public struct StatsConfig: Equatable, Sendable {
    public var listens: [ListenAddress]
    /// Empty = every peer is allowed.
    public var allow: [CIDR]
    /// `admin on`: runtime control of servers (drain, disable, enable, weight) on this listener.
    public var admin = false

    public init(listens: [ListenAddress] = [], allow: [CIDR] = []) {
        self.listens = listens
        self.allow = allow
    }
}

public struct ProxyConfig: Equatable, Sendable {
    public var workers: WorkerCount
    public var pidFile: String?
    public var errorLog: LogTarget
    public var logLevel: LogLevel
    public var drainTimeoutMs: Int
    public var maxConnections: Int
    public var stats: StatsConfig?
    public var resolver: ResolverConfig?
    public var backends: [BackendConfig]
    public var frontends: [FrontendConfig]

    public init(workers: WorkerCount = .auto, pidFile: String? = nil, errorLog: LogTarget = .stderr,
                logLevel: LogLevel = .info, drainTimeoutMs: Int = 30_000, maxConnections: Int = 10_000,
                stats: StatsConfig? = nil, backends: [BackendConfig] = [], frontends: [FrontendConfig] = []) {
        self.workers = workers
        self.pidFile = pidFile
        self.errorLog = errorLog
        self.logLevel = logLevel
        self.drainTimeoutMs = drainTimeoutMs
        self.maxConnections = maxConnections
        self.stats = stats
        self.backends = backends
        self.frontends = frontends
    }

    public func backend(named name: String) -> BackendConfig? {
        backends.first { $0.name == name }
    }
}
