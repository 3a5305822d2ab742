// What goes to the client: frames from nghttp2's queue, response bodies pulled from the streams'
// `setBody` sources under the client's flow control, and what nghttp2 reports as frames go out.

import CNGHTTP2

extension H2Connection {
    /// Frames are waiting to be copied out.
    public var hasOutput: Bool {
        outputLeft > 0 || (!dead && nghttp2_session_want_write(session) != 0)
    }

    /// `hasOutput`, under the name the event loop's write interest goes by.
    public var wantsWrite: Bool { hasOutput }

    /// The connection still expects frames from the client; false once a GOAWAY has gone either
    /// way and the streams are done, or after a fatal error.
    public var wantsRead: Bool {
        !dead && nghttp2_session_want_read(session) != 0
    }

    /// Response bytes are waiting for the client to open its flow-control window, and nothing else
    /// can be sent meanwhile: the data path arms its send timeout (a zero-window stall).
    public var isBlockedOnPeerWindow: Bool {
        guard !dead && !hasOutput else { return false }
        let connectionWindow = nghttp2_session_get_remote_window_size(session)
        var waiting = false
        for i in 0..<streams.capacity {
            let slot = streams.slots[i]
            guard slot.id != 0 && slot.responseSubmitted && !slot.responseEnded && slot.bodyPending > 0 else { continue }
            if connectionWindow > 0 && nghttp2_session_get_stream_remote_window_size(session, slot.id) > 0 { return false }
            waiting = true
        }
        return waiting
    }

    /// Copies pending frame bytes into `out`; returns how many (0: nothing to send now).
    public func produceOutput(into out: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = out.baseAddress else { return 0 }
        var written = 0
        while written < out.count {
            if outputLeft == 0 {
                guard !dead else { break }
                var chunk: UnsafePointer<UInt8>?
                let n = nghttp2_session_mem_send(session, &chunk)
                if n < 0 {
                    dead = true
                    if requestedTermination == nil {
                        requestedTermination = H2Termination(code: .internalError, limit: nil,
                                                             detail: String(cString: nghttp2_strerror(Int32(truncatingIfNeeded: n))))
                    }
                    break
                }
                guard n > 0, let chunk else { break }
                advertiseStreamLimit(in: chunk, count: n)
                output = chunk
                outputLeft = n
            }
            let k = min(outputLeft, out.count - written)
            (base + written).copyMemory(from: output!, byteCount: k)
            output = output! + k
            outputLeft -= k
            written += k
        }
        returnCredit()
        return written
    }

    /// Puts `settings.maxConcurrentStreams` in place of `engineStreamLimit` if `frame` is a
    /// SETTINGS frame (see `H2Settings.engineStreamLimit`). Each chunk nghttp2's mem_send hands out
    /// starts with a frame header, and a SETTINGS frame comes whole, from nghttp2's outbound buffer
    /// (memory of `EngineMemory`), which nghttp2 does not read back.
    private func advertiseStreamLimit(in frame: UnsafePointer<UInt8>, count: Int) {
        guard count >= 9, frame[3] == FrameType.settings, frame[4] & FrameType.ack == 0 else { return }
        let length = Int(frame[0]) << 16 | Int(frame[1]) << 8 | Int(frame[2])
        guard count >= 9 + length else { return }
        let bytes = UnsafeMutablePointer(mutating: frame)
        let limit = UInt32(settings.maxConcurrentStreams)
        var entry = 9
        while entry + 6 <= 9 + length {
            if UInt16(bytes[entry]) << 8 | UInt16(bytes[entry + 1]) == UInt16(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue) {
                for k in 0..<4 { bytes[entry + 2 + k] = UInt8(truncatingIfNeeded: limit >> (24 - 8 * k)) }
            }
            entry += 6
        }
    }

    /// nghttp2 pulls a response body: copy from the stream's source, or defer until `setBody`.
    func readBody(_ id: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ length: Int,
                  _ flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard let i = slotIndex(id) else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        let pending = streams.slots[i].bodyPending
        if pending == 0 && !streams.slots[i].bodyEOF {
            streams.slots[i].deferred = true
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        let n = min(pending, length)
        if n > 0, let body = streams.slots[i].body {
            UnsafeMutableRawPointer(buffer).copyMemory(from: body.baseAddress! + streams.slots[i].bodyTaken, byteCount: n)
            streams.slots[i].bodyTaken += n
            if n == pending && streams.slots[i].announced { events.append(.bodyTaken(stream: id)) }
        }
        if n == pending && streams.slots[i].bodyEOF {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            if let trailers = streams.slots[i].trailers, submitTrailers(id, trailers) {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
            }
        }
        return n
    }

    func frameSent(_ frame: nghttp2_frame) -> Int32 {
        if resuming { return 0 }
        let id = frame.hd.stream_id
        switch frame.hd.type {
        case FrameType.data, FrameType.headers:
            if frame.hd.type == FrameType.data { flood.dataFrameSent() }
            if frame.hd.flags & FrameType.endStream != 0 { responseEnded(id) }
        case FrameType.rstStream:
            let requested = slotIndex(id).map { streams.slots[$0].resetRequested } ?? false
            if frame.rst_stream.error_code != H2ErrorCode.noError.rawValue && !requested,
               let limit = flood.streamError(now: now) {
                terminate(.enhanceYourCalm, limit: limit, detail: limit.description)
            }
        case FrameType.goAway:
            let code = H2ErrorCode(rawValue: frame.goaway.error_code)
            if code != .noError && sentTermination == nil {
                if let requested = requestedTermination, requested.code == code {
                    sentTermination = requested
                } else {
                    let debug = UnsafeBufferPointer(start: frame.goaway.opaque_data, count: frame.goaway.opaque_data_len)
                    sentTermination = H2Termination(code: code, limit: nil, detail: String(decoding: debug, as: UTF8.self))
                }
            }
        default:
            break
        }
        return 0
    }

    /// The response is complete. If the client is still sending the request, tell it to stop
    /// (RFC 9113 §8.1: RST_STREAM with NO_ERROR after a complete response).
    private func responseEnded(_ id: Int32) {
        guard let i = slotIndex(id) else { return }
        streams.slots[i].responseEnded = true
        if nghttp2_session_get_stream_remote_close(session, id) == 0 {
            submitReset(id, .noError)
        }
    }
}
