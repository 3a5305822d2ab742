import CAres
import Glibc

/// How long c-ares waits for an answer. Try n (from 0) waits `timeoutMs << n` (c-ares doubles it),
/// so the defaults give up on a silent server after 1 + 2 = 3 seconds.
public struct ResolverOptions: Sendable {
    public var timeoutMs: Int
    public var tries: Int

    public init(timeoutMs: Int = 1000, tries: Int = 2) {
        self.timeoutMs = timeoutMs
        self.tries = tries
    }
}

public struct ResolverError: Error, CustomStringConvertible {
    public let description: String
}

/// A c-ares channel asking one DNS server (the `resolver ADDR:PORT` directive), non-blocking, its
/// sockets polled by the owner's event loop:
/// - every socket c-ares opens, changes interest in, or closes is reported to `onSocketChange`
///   (add / modify / remove), which the owner applies to its epoll set;
/// - when one is ready, the owner calls `process(fd:readable:writable:)`;
/// - on every loop tick (or once `nextTimeoutMs` has passed) it calls `processTimeouts()`.
/// Completions of lookups run inside those calls; they may start new lookups but must not close
/// the resolver. Single-threaded, like the loop that owns it.
public final class Resolver {
    /// The server as given, checked: "ip:port" or "[ip6]:port".
    public let server: String
    private var channel: ares_channel?
    private let sockets: SocketTable

    public init(server: String, options: ResolverOptions = ResolverOptions(),
                onSocketChange: @escaping (SocketChange) -> Void) throws(ResolverError) {
        guard let csv = Resolver.serverText(server) else {
            throw ResolverError(description: "resolver \"\(server)\": expected IPv4:PORT or [IPv6]:PORT")
        }
        guard aresLibraryStatus == ARES_SUCCESS else {
            throw ResolverError(description: "c-ares: " + String(cString: ares_strerror(aresLibraryStatus)))
        }
        self.server = csv
        sockets = SocketTable(onChange: onSocketChange)
        var settings = ares_options()
        // With one server, c-ares' own handling of SERVFAIL / REFUSED / NOTIMP (try the next
        // server) only resends to the same one and then ends as "connection refused" (1.18);
        // unchecked, the answer's rcode is reported as is and the plan's backoff does the retry.
        settings.flags = ARES_FLAG_NOCHECKRESP
        settings.timeout = Int32(clamping: options.timeoutMs)
        settings.tries = Int32(clamping: options.tries)
        settings.sock_state_cb = socketStateCallback
        settings.sock_state_cb_data = Unmanaged.passUnretained(sockets).toOpaque()
        // c-ares still reads /etc/resolv.conf for its defaults; the server list is replaced below,
        // and nothing else from there (search domains, ndots, sortlist) applies to ares_query.
        var made: ares_channel?
        var status = ares_init_options(&made, &settings, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB)
        if status == ARES_SUCCESS, let made {
            status = ares_set_servers_ports_csv(made, csv)
            if status != ARES_SUCCESS { ares_destroy(made) }
        }
        guard status == ARES_SUCCESS, let made else {
            throw ResolverError(description: "c-ares channel for \(csv): " + String(cString: ares_strerror(status)))
        }
        channel = made
    }

    deinit { close() }

    /// Ends every pending lookup without calling its completion, reports `.remove` for each open
    /// socket and closes it. Later calls do nothing.
    public func close() {
        guard let open = channel else { return }
        channel = nil
        ares_destroy(open)
    }

    /// The sockets open now, for an owner that registers late or must close them in a child
    /// process after fork.
    public var descriptors: [SocketInterest] { sockets.interests.values.sorted { $0.fd < $1.fd } }

    /// Reads answers (or writes queued TCP queries) on a ready socket, then handles timeouts.
    /// Pass EPOLLERR / EPOLLHUP as readable: c-ares reads the error and retries or fails.
    public func process(fd: Int32, readable: Bool, writable: Bool) {
        guard let channel else { return }
        ares_process_fd(channel, readable ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD)
    }

    /// Retries or fails the queries whose time is up. Cheap when nothing is pending.
    public func processTimeouts() {
        guard let channel else { return }
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD)
    }

    /// Milliseconds until the earliest query timeout (rounded up); nil when nothing is pending.
    public var nextTimeoutMs: Int? {
        guard let channel else { return nil }
        var storage = timeval()
        guard let due = ares_timeout(channel, nil, &storage) else { return nil }
        return Int(due.pointee.tv_sec) * 1000 + (Int(due.pointee.tv_usec) + 999) / 1000
    }

    enum RecordType: Int32 {
        case a = 1, aaaa = 28, srv = 33
    }

    /// Sends one query; `completion` gets the raw answer or the failure (c-ares maps NXDOMAIN,
    /// SERVFAIL, REFUSED and an empty NOERROR answer to failures). Dropped once closed.
    func query(_ name: String, _ type: RecordType, completion: @escaping (Result<[UInt8], DNSFailure>) -> Void) {
        guard let channel else { return }
        let context = Unmanaged.passRetained(QueryContext(completion)).toOpaque()
        ares_query(channel, name, Int32(DNSMessage.classIN), type.rawValue, queryCallback, context)
    }

    /// "ip:port" or "[ip6]:port" with a numeric address and a port in 1...65535, as c-ares'
    /// server list takes it; nil otherwise (a name, a missing port, a list).
    static func serverText(_ text: String) -> String? {
        let host: Substring
        let port: Substring
        let family: Int32
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
            family = AF_INET6
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            (host, port, family) = (parts[0], parts[1], AF_INET)
        }
        var address = in6_addr()
        guard let number = UInt16(port), number > 0, inet_pton(family, String(host), &address) == 1 else { return nil }
        return family == AF_INET6 ? "[\(host)]:\(number)" : "\(host):\(number)"
    }
}

/// `ares_library_init` once per process, before the first channel (a lazily set global).
private let aresLibraryStatus = ares_library_init(ARES_LIB_INIT_ALL)
