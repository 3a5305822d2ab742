/// What became of the client's latest streams, for the frames that arrive on them once they are
/// closed: nghttp2 keeps no closed stream when RFC 7540 priorities are off, so it ignores a frame
/// on one, and cannot tell a stream id the client skipped from one it used. Kept: the highest
/// stream id the client opened and, for it and the 63 odd ids below it, whether the client
/// opened each and whether it ended it (END_STREAM).
struct StreamHistory {
    enum Past { case neverOpened, endedByClient, openedOnly, forgotten }

    private(set) var last: Int32 = 0
    /// Bit k: stream `last - 2k`.
    private var opened: UInt64 = 0
    private var ended: UInt64 = 0

    /// A HEADERS frame opens `id` if it is above every stream the client opened before.
    mutating func headersArrived(on id: Int32) {
        guard id & 1 == 1, id > last else { return }
        let shift = Int(id - last) / 2
        opened = shift >= 64 ? 0 : opened << UInt64(shift)
        ended = shift >= 64 ? 0 : ended << UInt64(shift)
        opened |= 1
        last = id
    }

    mutating func endedByClient(_ id: Int32) {
        guard let bit = bit(id) else { return }
        ended |= bit
    }

    /// What is known of `id`, at most `last`.
    func past(_ id: Int32) -> Past {
        guard let bit = bit(id) else { return .forgotten }
        if ended & bit != 0 { return .endedByClient }
        return opened & bit != 0 ? .openedOnly : .neverOpened
    }

    private func bit(_ id: Int32) -> UInt64? {
        guard id & 1 == 1, id > 0, id <= last, (last - id) / 2 < 64 else { return nil }
        return 1 << UInt64((last - id) / 2)
    }
}
