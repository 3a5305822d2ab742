import CNGHTTP2

extension H2Connection {
    /// Charges a frame to the budgets from its header, before nghttp2 sees the frame (nghttp2 does
    /// not report the frames it ignores, such as unknown types or DATA on closed streams), and
    /// checks what nghttp2 leaves unchecked. False when the connection must end (GOAWAY queued).
    func screen(_ h: FrameHeader) -> Bool {
        if h.type != FrameType.priority && h.type != FrameType.rstStream && clientResets.contains(h.stream) {
            submitReset(h.stream, .streamClosed)
        }
        if h.type == FrameType.priority && h.stream == 0 {
            // nghttp2 skips PRIORITY frames altogether once RFC 7540 priorities are off.
            terminate(.protocolError, limit: nil, detail: "PRIORITY: stream_id == 0")
            return false
        }
        if let (code, detail) = closedStreamError(h) {
            terminate(code, limit: nil, detail: detail)
            return false
        }
        if h.type == FrameType.headers { history.headersArrived(on: h.stream) }
        if (h.type == FrameType.headers || h.type == FrameType.data) && h.flags & FrameType.endStream != 0 {
            history.endedByClient(h.stream)
        }
        guard let limit = charge(h) else { return true }
        terminate(.enhanceYourCalm, limit: limit, detail: limit.description)
        return false
    }

    /// The connection error a HEADERS or DATA frame on a closed stream of the client's calls for
    /// (nghttp2 would ignore it, see StreamHistory): after the client ended the stream, STREAM_CLOSED
    /// (RFC 9113 §5.1 allows a connection error); a HEADERS frame on an id the client skipped,
    /// PROTOCOL_ERROR (§5.1.1). A stream the client opened but did not end may have been reset by
    /// this side while the client still sent on it: its frames stay ignored.
    private func closedStreamError(_ h: FrameHeader) -> (H2ErrorCode, String)? {
        guard h.type == FrameType.headers || h.type == FrameType.data, h.stream > 0, h.stream <= history.last else { return nil }
        let error: (H2ErrorCode, String)
        switch history.past(h.stream) {
        case .endedByClient:
            error = (.streamClosed, "\(h.type == FrameType.data ? "DATA" : "HEADERS") on closed stream \(h.stream)")
        case .neverOpened where h.type == FrameType.headers:
            error = (.protocolError, "HEADERS: stream \(h.stream) below the last opened, \(history.last)")
        default:
            return nil
        }
        // A stream nghttp2 still holds (half-closed on the client's side) gets its own answer.
        return nghttp2_session_find_stream(session, h.stream) == nil ? error : nil
    }

    /// Checks a complete frame whose payload nghttp2 ignored.
    func inspect(_ h: FrameHeader) {
        // RFC 9113 §5.3.1: a stream cannot depend on itself (the dependency opens the payload).
        if h.type == FrameType.priority && h.length == 5 && Int32(tracker.payloadWord(at: 0) & 0x7fff_ffff) == h.stream {
            // nghttp2 sends no RST_STREAM for an idle stream (every even one: nothing is pushed):
            // the stream error becomes a connection error (RFC 9113 §5.4.1 allows it).
            if h.stream & 1 == 0 || h.stream > history.last {
                terminate(.protocolError, limit: nil, detail: "PRIORITY: idle stream \(h.stream) depends on itself")
            } else {
                submitReset(h.stream, .protocolError)
            }
        }
    }

    /// The limit the frame exceeds, if any.
    private func charge(_ h: FrameHeader) -> H2Limit? {
        switch h.type {
        case FrameType.data:
            return h.length == 0 && h.flags & FrameType.endStream == 0 ? flood.emptyFrame(now: now) : nil
        case FrameType.headers:
            // A table size update it owed opens this block (nghttp2 checks it).
            expectsTableUpdate = false
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
            clientResets.insert(h.stream)
            return flood.clientReset(now: now)
        case FrameType.rstStream:
            if slotIndex(h.stream) != nil { clientResets.insert(h.stream) }
            return flood.controlFrame(now: now)
        case FrameType.windowUpdate:
            return flood.windowUpdate(now: now)
        case FrameType.settings where h.flags & FrameType.ack != 0:
            return nil  // nghttp2 answers an unexpected ACK with PROTOCOL_ERROR
        case FrameType.goAway, FrameType.pushPromise:
            return nil  // the connection ends either way
        default:
            // SETTINGS, PING, PRIORITY, unknown types.
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
