import CNGHTTP2

extension H2Connection {
    /// Charges a frame to the budgets from its header, before nghttp2 sees the frame (nghttp2 does
    /// not report the frames it ignores, such as unknown types or DATA on closed streams).
    /// Returns the limit reached, if any.
    func screen(_ h: FrameHeader) -> H2Limit? {
        switch h.type {
        case FrameType.data:
            return h.length == 0 && h.flags & FrameType.endStream == 0 ? flood.emptyFrame(now: now) : nil
        case FrameType.headers:
            continuations = 0
            headerBlockBytes = h.length
            return checkHeaderBlock(h)
        case FrameType.continuation:
            flood.counters.continuations += 1
            continuations += 1
            headerBlockBytes += h.length
            if continuations > settings.budgets.maxContinuations { return .continuations }
            return checkHeaderBlock(h)
        case FrameType.rstStream where isInFlight(h.stream):
            return flood.clientReset(now: now)
        case FrameType.windowUpdate:
            return flood.windowUpdate(now: now)
        case FrameType.settings where h.flags & FrameType.ack != 0:
            return nil  // nghttp2 answers an unexpected ACK with PROTOCOL_ERROR
        case FrameType.goAway, FrameType.pushPromise:
            return nil  // the connection ends either way
        default:
            // SETTINGS, PING, PRIORITY, RST_STREAM of streams no longer in flight, unknown types.
            return flood.controlFrame(now: now)
        }
    }

    private func checkHeaderBlock(_ h: FrameHeader) -> H2Limit? {
        if headerBlockBytes > settings.maxHeaderBlockBytes { return .headerBlockSize }
        // An empty fragment that does not end the block moves nothing forward.
        if h.length == 0 && h.flags & FrameType.endHeaders == 0 { return flood.emptyFrame(now: now) }
        return nil
    }

    /// A stream the data path is working on: its request went out and its response is not complete.
    private func isInFlight(_ id: Int32) -> Bool {
        guard let i = slotIndex(id) else { return false }
        return streams.slots[i].announced && !streams.slots[i].responseEnded
    }

    /// The slot of stream `id`, through nghttp2's stream user data (index + 1).
    func slotIndex(_ id: Int32) -> Int? {
        guard id > 0, let p = nghttp2_session_get_stream_user_data(session, id) else { return nil }
        return Int(bitPattern: p) - 1
    }
}
