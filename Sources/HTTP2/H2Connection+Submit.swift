// What the data path sends on a stream: the response head, its body and trailers, or a reset;
// and how it ends the connection. Each returns false when the stream is no longer there (its
// `.reset` or `.closed` is on the way) or the call does not fit the stream's state.

import CNGHTTP2
import HTTP1

extension H2Connection {
    /// Submits the upstream's response head (`head` and `headers` from ResponseParser over
    /// `source`). A 1xx other than 101 goes out as informational HEADERS and a final response may
    /// follow; 101 cannot be expressed in HTTP/2 (false: answer 502 instead). A response without
    /// a body (HEAD, 204, 304, Content-Length 0) ends the stream; otherwise the body follows
    /// through `setBody`. `setCookie` adds a `set-cookie` field to a final response.
    @discardableResult
    public func submitResponse(stream: Int32, head: ResponseHead, headers: HeaderTable, source: UnsafeRawBufferPointer,
                               setCookie: UnsafeRawBufferPointer? = nil) -> Bool {
        guard let i = slotIndex(stream), streams.slots[i].announced, !streams.slots[i].responseSubmitted,
              head.status != 101 else { return false }
        ResponseMapping.fill(&nv, head: head, headers: headers, source: source)
        if head.isInterim { return submitInformational(stream) }
        if let setCookie { nv.append("set-cookie", setCookie) }
        return submitFinal(i, withBody: head.framing != .none && head.framing != .contentLength(0))
    }

    /// Submits a bare informational response (100 Continue, 103 Early Hints).
    @discardableResult
    public func submitInterim(stream: Int32, status: Int) -> Bool {
        precondition(status >= 100 && status < 200 && status != 101, "not an informational status")
        guard let i = slotIndex(stream), streams.slots[i].announced, !streams.slots[i].responseSubmitted else { return false }
        nv.removeAll()
        nv.appendStatus(status)
        return submitInformational(stream)
    }

    /// Lends the next response body bytes (already de-chunked) to the stream; they are copied
    /// into DATA frames as the client's window allows, and `.bodyTaken` says when all were. Keep
    /// `bytes` (and `trailers`) valid and unchanged until then. `endStream`: the body is complete
    /// and nothing follows but `trailers`, a trailer section as after a chunked body ("name: value"
    /// CRLF lines). An upstream that breaks off mid-body calls for `resetStream` instead.
    @discardableResult
    public func setBody(stream: Int32, bytes: UnsafeRawBufferPointer, endStream: Bool,
                        trailers: UnsafeRawBufferPointer? = nil) -> Bool {
        guard let i = slotIndex(stream), streams.slots[i].announced, !streams.slots[i].bodyEOF else { return false }
        precondition(streams.slots[i].bodyPending == 0, "setBody before .bodyTaken for the previous bytes")
        streams.slots[i].body = bytes
        streams.slots[i].bodyTaken = 0
        streams.slots[i].bodyEOF = endStream
        streams.slots[i].trailers = trailers
        resumeIfDeferred(i)
        return true
    }

    /// `bytes` of the stream's request body were forwarded: the client may send that many more.
    public func consumed(stream: Int32, bytes: Int) {
        guard let i = slotIndex(stream) else { return }  // closed: the connection got them back
        precondition(bytes >= 0 && bytes <= streams.slots[i].unconsumed, "consumed more than was handed out")
        streams.slots[i].unconsumed -= bytes
        if nghttp2_session_consume(session, stream, bytes) != 0 { dead = true }
    }

    /// Resets the stream (INTERNAL_ERROR when the upstream failed mid-response, CANCEL when the
    /// data path gives up on it). `.reset` follows.
    @discardableResult
    public func resetStream(stream: Int32, code: H2ErrorCode) -> Bool {
        guard let i = slotIndex(stream), streams.slots[i].announced else { return false }
        streams.slots[i].resetRequested = true
        return submitReset(stream, code)
    }

    /// Graceful stop (reload, drain): GOAWAY NO_ERROR naming the last stream handed to the data
    /// path; those streams complete, later ones are refused, and the connection ends when they are done.
    public func goAwayGracefully() {
        let last = nghttp2_session_get_last_proc_stream_id(session)
        if nghttp2_submit_goaway(session, noFlags, last, H2ErrorCode.noError.rawValue, nil, 0) != 0 {
            dead = true
        }
    }

    /// Ends the connection now: GOAWAY(code); streams in flight are abandoned.
    public func goAway(code: H2ErrorCode) {
        terminate(code, limit: nil, detail: "closed by the server")
    }

    /// Answers a stream with one of the proxy's own responses (`CannedResponse`: 502, 503, 504,
    /// 413...), head and body; false when the stream is gone or already has a response.
    @discardableResult
    public func answer(stream: Int32, status: Int) -> Bool {
        guard let i = slotIndex(stream), streams.slots[i].announced, !streams.slots[i].responseSubmitted else { return false }
        return answer(i, status: status)
    }

    /// Submits `CannedResponse.bytes(status:)`: its head as HEADERS, its text as the body.
    @discardableResult
    func answer(_ i: Int, status: Int) -> Bool {
        let canned = CannedResponse.bytes(status: status)
        let headLength = HeadScanner.headEnd(in: canned, searchFrom: 0)!
        guard let head = try? ResponseParser.parse(canned, headLength: headLength, requestMethod: .get, headers: cannedHeaders)
        else { preconditionFailure("a canned response does not parse") }
        ResponseMapping.fill(&nv, head: head, headers: cannedHeaders, source: canned)
        streams.slots[i].body = UnsafeRawBufferPointer(rebasing: canned[headLength...])
        streams.slots[i].bodyEOF = true
        return submitFinal(i, withBody: true)
    }

    /// Submits the final response in `nv`, with the data provider when a body follows.
    private func submitFinal(_ i: Int, withBody: Bool) -> Bool {
        let id = streams.slots[i].id
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: H2Callbacks.bodyReader)
        let rv = withBody ? nghttp2_submit_response(session, id, nv.items, nv.count, &provider)
            : nghttp2_submit_response(session, id, nv.items, nv.count, nil)
        guard rv == 0 else { return false }
        streams.slots[i].responseSubmitted = true
        return true
    }

    /// HEADERS without END_STREAM from `nv`: a 1xx response.
    private func submitInformational(_ stream: Int32) -> Bool {
        nghttp2_submit_headers(session, noFlags, stream, nil, nv.items, nv.count, nil) == 0
    }

    @discardableResult
    func submitReset(_ stream: Int32, _ code: H2ErrorCode) -> Bool {
        nghttp2_submit_rst_stream(session, noFlags, stream, code.rawValue) == 0
    }

    private func resumeIfDeferred(_ i: Int) {
        guard streams.slots[i].deferred else { return }
        streams.slots[i].deferred = false
        if nghttp2_session_resume_data(session, streams.slots[i].id) != 0 { dead = true }
    }

    /// Submits the response trailers (from inside the data provider); false when none remain.
    func submitTrailers(_ id: Int32, _ section: UnsafeRawBufferPointer) -> Bool {
        ResponseMapping.fillTrailers(&nv, section: section)
        guard nv.count > 0 else { return false }
        return nghttp2_submit_trailer(session, id, nv.items, nv.count) == 0
    }
}
