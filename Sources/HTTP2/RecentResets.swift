/// The streams the client reset most recently. RFC 9113 §5.1: a frame other than PRIORITY on a
/// stream after its RST_STREAM is a stream error STREAM_CLOSED; nghttp2 forgets closed streams
/// and would ignore it.
struct RecentResets {
    private var ids = InlineArray<16, Int32>(repeating: 0)
    private var next = 0

    mutating func insert(_ id: Int32) {
        ids[next] = id
        next = (next + 1) % ids.count
    }

    func contains(_ id: Int32) -> Bool {
        guard id > 0 else { return false }
        for i in ids.indices where ids[i] == id { return true }
        return false
    }
}
