// What nghttp2 reports while it reads: header blocks become `.request` and `.trailers`, DATA
// becomes `.data`, closed streams `.closed` or `.reset`. Callbacks return 0, or a failure when a
// budget ran out (`tripped` says which).

import CNGHTTP2

extension H2Connection {
    func beginHeaders(_ frame: nghttp2_frame) -> Int32 {
        let id = frame.hd.stream_id
        if resuming { return 0 }
        // A block nghttp2 gave up on (a malformed field) left bytes behind.
        if block.stream != 0 { arena.truncate(to: block.start) }
        block = HeaderBlock()
        if frame.headers.cat == NGHTTP2_HCAT_REQUEST {
            guard let i = streams.allocate(id) else {
                // Beyond maxConcurrentStreams, the table's size (nghttp2 allows more: see
                // H2Settings.engineStreamLimit). Sending the RST_STREAM charges the stream-error budget.
                submitReset(id, .refusedStream)
                return 0
            }
            nghttp2_session_set_stream_user_data(session, id, UnsafeMutableRawPointer(bitPattern: i + 1))
            block = HeaderBlock(stream: id, trailers: false, start: arena.used)
        } else if let i = slotIndex(id), streams.slots[i].announced {
            block = HeaderBlock(stream: id, trailers: true, start: arena.used)
        }
        return 0
    }

    func header(_ frame: nghttp2_frame, _ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Int32 {
        guard block.stream != 0 && block.stream == frame.hd.stream_id else { return 0 }
        return stop(block.add(name: name, value: value, arena: &arena, limits: limits))
    }

    func frameReceived(_ frame: nghttp2_frame) -> Int32 {
        let id = frame.hd.stream_id
        let endStream = frame.hd.flags & FrameType.endStream != 0
        switch frame.hd.type {
        case FrameType.headers where block.stream == id && id != 0:
            return block.isTrailers ? finishTrailers() : finishRequest(hasBody: !endStream)
        case FrameType.data:
            // Padding alone moves nothing forward either (the frame header showed a length).
            if frame.hd.length > 0 && frame.hd.length == frame.data.padlen && !endStream {
                return stop(flood.emptyFrame(now: now))
            }
            if endStream, let i = slotIndex(id), streams.slots[i].announced {
                endBody(id)
            }
            return 0
        case FrameType.settings:
            if frame.hd.flags & FrameType.ack != 0 { settingsAcknowledged() } else { clientSettingsSeen = true }
            return 0
        default:
            return 0
        }
    }

    private func finishRequest(hasBody: Bool) -> Int32 {
        let id = block.stream
        let request = block.finishRequest(arena: arena, hasBody: hasBody, maxHeadLength: settings.maxHeaderListSize)
        block.stream = 0
        guard let i = slotIndex(id) else { return 0 }
        if let request {
            streams.slots[i].announced = true
            flood.counters.requests += 1
            events.append(.request(request))
            return 0
        }
        arena.truncate(to: block.start)
        if block.fault != .malformed {
            answer(i, status: block.fault == .uriTooLong ? 414 : 431)
            return stop(flood.streamError(now: now))
        }
        // Counted as a stream error when the RST_STREAM goes out, as nghttp2's own are.
        submitReset(id, .protocolError)
        return 0
    }

    private func finishTrailers() -> Int32 {
        let id = block.stream
        block.stream = 0
        if block.fault == .none {
            events.append(.trailers(stream: id, fields: H2Fields(span: block.fields(arena))))
        } else {
            // The head went upstream already; a trailer section over the advertised limit ends the stream.
            arena.truncate(to: block.start)
            submitReset(id, .enhanceYourCalm)
        }
        return 0
    }

    /// The request body ended with a DATA frame: mark its last `.data`, or add an empty one.
    private func endBody(_ id: Int32) {
        if events.count > eventsRead, case .data(id, let bytes, false) = events[events.count - 1] {
            events[events.count - 1] = .data(stream: id, bytes: bytes, endStream: true)
        } else {
            events.append(.data(stream: id, bytes: UnsafeRawBufferPointer(start: nil, count: 0), endStream: true))
        }
    }

    func dataChunk(_ id: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard !bytes.isEmpty else { return 0 }
        guard let i = slotIndex(id), streams.slots[i].announced else {
            // Not the data path's (answered 431 or 414, malformed): the connection window gets them back at once.
            connectionCredit += bytes.count
            return 0
        }
        streams.slots[i].unconsumed += bytes.count
        events.append(.data(stream: id, bytes: bytes, endStream: false))
        return 0
    }

    func streamClosed(_ id: Int32, _ code: H2ErrorCode) -> Int32 {
        guard let i = slotIndex(id) else { return 0 }
        let slot = streams.slots[i]
        if slot.announced {
            events.append(slot.responseEnded ? .closed(stream: id) : .reset(stream: id, code: code))
        }
        // Bytes the data path still holds will never be consumed through the stream.
        connectionCredit += slot.unconsumed
        streams.release(i)
        return 0
    }

    /// Records a budget that ran out, making the callback fail so that nghttp2 stops at once.
    func stop(_ limit: H2Limit?) -> Int32 {
        guard let limit else { return 0 }
        tripped = limit
        return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue
    }
}
