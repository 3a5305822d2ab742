/// What an `H2Connection` advertises to the client and enforces. The defaults follow SPEC §6; set
/// `maxHeaderListSize` to the frontend's `max_header_size`.
public struct H2Settings: Sendable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS (nginx http2_max_concurrent_streams 128; HAProxy 100).
    public var maxConcurrentStreams = 128
    /// The limit nghttp2 itself is told. Past an acknowledged limit nghttp2 1.52 ends the connection
    /// (GOAWAY PROTOCOL_ERROR), where RFC 9113 §5.1.2 asks for a stream error and SPEC §6 for
    /// REFUSED_STREAM. So nghttp2 gets twice the limit, the SETTINGS frame on the wire carries
    /// `maxConcurrentStreams` (`H2Connection.advertiseStreamLimit`), and the stream table, sized
    /// to `maxConcurrentStreams`, refuses the streams in between; each refusal is charged to the
    /// stream-error budget, which ends a flood of them long before nghttp2's limit.
    var engineStreamLimit: Int { 2 * maxConcurrentStreams }
    /// SETTINGS_INITIAL_WINDOW_SIZE: request body a stream may send before the data path has
    /// forwarded (consumed) it (nginx http2_body_preread_size 64k).
    public var initialStreamWindow = 65_536
    /// The connection's receive window: the full windows of 16 streams at once.
    public var connectionWindow = 1 << 20
    /// SETTINGS_MAX_FRAME_SIZE: the protocol's default, also the largest DATA frame sent.
    public var maxFrameSize = 16_384
    /// SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2: name + value + 32 per field). A request
    /// beyond it is answered 431 (414 when :path alone is) and never reaches the data path; its
    /// HTTP/1.1 head is never longer.
    /// Set by `init`, which derives the two limits below from it.
    public let maxHeaderListSize: Int
    /// Regular fields per request beyond which it is answered 431: HTTP1's HeaderTable holds 128,
    /// and the mapping adds Host and a framing line.
    public var maxHeaderFields = 126
    /// SETTINGS_HEADER_TABLE_SIZE: the HPACK decoder's dynamic table (protocol default; nginx and
    /// HAProxy use 4096 too).
    public var headerTableSize = 4096
    /// Wire bytes of one header block (HEADERS and its CONTINUATIONs) beyond which the connection
    /// ends with ENHANCE_YOUR_CALM: room for a full header list, padding and literal encoding.
    public var maxHeaderBlockBytes: Int
    /// Decoded bytes of one header block beyond which the connection ends with ENHANCE_YOUR_CALM
    /// (HPACK amplification: one byte on the wire may name a 4 KiB table entry).
    public var maxDecodedHeaderBytes: Int
    public var budgets = H2Budgets()

    public init(maxHeaderListSize: Int = 16_384) {
        self.maxHeaderListSize = maxHeaderListSize
        maxHeaderBlockBytes = 2 * maxHeaderListSize + 16_384
        maxDecodedHeaderBytes = 4 * maxHeaderListSize
    }

    func validate() {
        precondition(maxConcurrentStreams >= 1, "maxConcurrentStreams must be positive")
        precondition(initialStreamWindow >= 1 && initialStreamWindow <= Int(Int32.max), "initialStreamWindow out of range")
        precondition(connectionWindow >= 65_535 && connectionWindow <= Int(Int32.max), "connectionWindow out of range")
        precondition(maxFrameSize >= 16_384 && maxFrameSize <= 16_777_215, "maxFrameSize out of range")
        precondition(maxHeaderListSize >= 1024 && maxHeaderListSize <= 1 << 24, "maxHeaderListSize out of range")
        precondition(maxHeaderFields >= 1, "maxHeaderFields must be positive")
        precondition(maxHeaderBlockBytes >= maxHeaderListSize, "maxHeaderBlockBytes below maxHeaderListSize")
        precondition(maxDecodedHeaderBytes >= maxHeaderListSize, "maxDecodedHeaderBytes below maxHeaderListSize")
    }
}
