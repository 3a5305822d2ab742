import Balancer
import EventLoop
import HTTP1
import Stats

/// One request and its response: every piece of state that belongs to them, created when the
/// request head is parsed (or when the proxy must answer before that) and dropped when the
/// response ends, so nothing can carry over to the next request. A `mode tcp` connection is
/// one exchange whose bytes flow unparsed.
///
/// The methods here deal with the upstream side and do not know the client's codec: they
/// report what happened and the codec decides what the client sees.
struct Exchange {
    enum Kind { case http, tcp }
    let kind: Kind
    /// The request came as an HTTP/2 stream.
    var http2 = false
    /// Known when the head was parsed; `nil` when the proxy answers before (400, 408, ...).
    let request: RequestFacts?
    let startMicros: Int64
    /// Copies of the request line (and referer, user agent) for the access log.
    var logLine = RequestLine()
    /// nil until routed (and for requests answered before routing).
    var backend: Backend? {
        get { backendRef?.takeUnretainedValue() }
        set { backendRef = newValue.map(Unmanaged.passUnretained) }
    }

    // Request: the rewritten head is kept until the response starts, for retries.
    var requestHead = Buffer()
    /// Its `ready` bytes lead the client's input, checked and ready to go upstream.
    var requestBody = BodyProgress()
    /// The connection must close once this response is written (client asked, drain, ...).
    var closeAfterResponse = false

    // Upstream.
    /// `balance hash`: the hash of the request's key (nil: no key, balanced round-robin).
    var keyHash: UInt64?
    /// `sticky cookie`: the server the client's cookie names.
    var stickyServer: Int?
    /// The server's index in the backend; -1 before a pick.
    var serverIndex = -1
    var server: UpstreamServer? {
        get { serverRef?.takeUnretainedValue() }
        set { serverRef = newValue.map(Unmanaged.passUnretained) }
    }
    /// `sticky cookie`: the `Set-Cookie` value the response carries when the client's cookie did
    /// not name the server that answers (none, another, a down or drained one).
    var stickyCookie: [UInt8]? {
        guard let b = backend, b.sticky != nil, serverIndex >= 0, stickyServer != serverIndex else { return nil }
        return b.setCookieValues[serverIndex]
    }
    var upstream: UpstreamConnection? {
        get { upstreamRef?.takeUnretainedValue() }
        set { upstreamRef = newValue.map(Unmanaged.passUnretained) }
    }
    var hasUpstream: Bool { upstreamRef != nil }
    /// The upstream connection lent to `body`, nil when there is none. Reading `upstream` costs
    /// a retain and a release (about 25 per HTTP/2 request on the paths that run per request);
    /// this costs nothing. `body` must not let the connection go (detach, close, retry).
    @inline(__always)
    func withUpstream<R>(_ body: (UpstreamConnection) -> R) -> R? {
        upstreamRef?._withUnsafeGuaranteedRef(body)
    }
    /// The same for a body that also changes the exchange.
    @inline(__always)
    mutating func withUpstream<R>(changing body: (inout Exchange, UpstreamConnection) -> R) -> R? {
        guard let ref = upstreamRef else { return nil }
        return ref._withUnsafeGuaranteedRef { body(&self, $0) }
    }
    /// The upstream connection came from the idle pool (the server may have closed it).
    var upstreamReused = false
    var tried = TriedSet()
    var attempts = 0
    var retriedStale = false
    /// When the current upstream attempt started; 0 when no upstream was involved.
    var upstreamStartMicros: Int64 = 0

    // Response.
    var responseScanFrom = 0
    var responseHeadDone = false
    /// The client has been sent (or will be sent) a response head: no retry, no error page.
    var responseStarted = false
    var status = 0
    /// Its `ready` bytes lead the upstream's input, ready to go to the client.
    var responseBody = BodyProgress()
    var upstreamKeepAlive = false
    /// The response head sent to the client said `Connection: close`.
    var saidClose = false
    var bytesOut = 0

    // The worker's tables own these objects for longer than any exchange lives. Unmanaged, not
    // `unowned(unsafe) var x: T?`: with the latter, Swift 6.3 reads an `Exchange?` holding
    // such a struct as nil (a layout bug, reproduced here), and strong references would add
    // reference counting to every request.
    private var backendRef: Unmanaged<Backend>?
    private var serverRef: Unmanaged<UpstreamServer>?
    private var upstreamRef: Unmanaged<UpstreamConnection>?

    init(_ kind: Kind, request: RequestFacts?, startMicros: Int64) {
        self.kind = kind
        self.request = request
        self.startMicros = startMicros
    }

    var serverName: String { server?.name ?? "?" }

    /// For the per-protocol request counts (a request answered before its head was parsed counts
    /// as HTTP/1.1, unless it came as an HTTP/2 stream).
    var requestProtocol: FrontendCounters.RequestProtocol {
        if http2 { return .http2 }
        return request?.http10 == true ? .http10 : .http11
    }
}

/// What the parsed request head said, as far as the exchange needs it after parsing.
struct RequestFacts {
    let method: Method
    let http10: Bool
    let upgrade: Bool
    let keepAlive: Bool
}
