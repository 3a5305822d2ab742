/// A rate budget: `burst` events at once, then `perSecond` more each second (a token bucket).
public struct H2Rate: Sendable {
    public var burst: Int
    public var perSecond: Int

    public init(burst: Int, perSecond: Int) {
        self.burst = burst
        self.perSecond = perSecond
    }
}

/// Per-connection budgets against the known HTTP/2 floods. A connection that spends one ends with
/// GOAWAY ENHANCE_YOUR_CALM and `H2Connection.termination` names the budget.
public struct H2Budgets: Sendable {
    /// RST_STREAM from the client for a stream whose response is not complete (rapid reset,
    /// CVE-2023-44487). A browser leaving a page may cancel a whole set of concurrent streams at
    /// once, hence a burst of 128. nghttp2's own limit (burst 1000, 33/s, answered with
    /// INTERNAL_ERROR) stays behind it.
    public var rapidReset = H2Rate(burst: 128, perSecond: 32)
    /// Streams the client makes the server reset or refuse: malformed requests, streams beyond the
    /// concurrency limit, header lists over the limit (the "MadeYouReset" pattern; HAProxy counts
    /// these as glitches).
    public var streamErrors = H2Rate(burst: 64, perSecond: 8)
    /// SETTINGS, PING and PRIORITY frames, and frames of types the server ignores (CVE-2019-9512
    /// ping flood, -9515 settings flood, -9513 priority churn). Clients send a handful per connection.
    public var controlFrames = H2Rate(burst: 100, perSecond: 20)
    /// DATA without payload or END_STREAM, HEADERS or CONTINUATION with an empty fragment that does
    /// not end the block (CVE-2019-9518; Envoy tolerates one in a row).
    public var emptyFrames = H2Rate(burst: 32, perSecond: 8)
    /// WINDOW_UPDATE frames. Each DATA frame the server sends gives two back, since a client
    /// acknowledges the stream and the connection window (Envoy allows 10 per DATA frame sent).
    public var windowUpdates = H2Rate(burst: 256, perSecond: 64)
    /// CONTINUATION frames after one HEADERS (CVE-2024-28182; nghttp2's default since the fix).
    public var maxContinuations = 8
    /// SETTINGS and PING ACKs nghttp2 may queue while the client does not read them (nghttp2's
    /// default is 1000).
    public var maxQueuedAcks = 100
    /// Entries in one SETTINGS frame (nghttp2's default; answered with ENHANCE_YOUR_CALM by nghttp2).
    public var maxSettingsEntries = 32

    public init() {}
}
