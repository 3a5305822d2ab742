import CNGHTTP2

/// What the client saw of one stream.
struct ClientStream {
    /// One entry per HEADERS block: informational responses, the final response, trailers.
    var blocks: [[(String, String)]] = []
    var body: [UInt8] = []
    var ended = false
    var closeCode: UInt32?

    var status: String? { blocks.last(where: { $0.contains { $0.0 == ":status" && !$0.1.hasPrefix("1") } })?.first { $0.0 == ":status" }?.1 }

    /// The final response's fields (no :status).
    var fields: [(String, String)] {
        guard let final = blocks.first(where: { $0.contains { $0.0 == ":status" && !$0.1.hasPrefix("1") } }) else { return [] }
        return final.filter { $0.0 != ":status" }
    }
}

/// An nghttp2 client session in memory: what a browser or curl would send, validated by nghttp2.
final class TestClient {
    var session: OpaquePointer!
    var streams: [Int32: ClientStream] = [:]
    var goAway: (code: UInt32, lastStream: Int32)?
    var framesReceived: [(type: UInt8, stream: Int32, flags: UInt8)] = []
    /// Request bodies waiting to be sent: bytes, how many went, whether more will come.
    var bodies: [Int32: (bytes: [UInt8], sent: Int, eof: Bool)] = [:]

    init(settings: [(nghttp2_settings_id, UInt32)] = []) {
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, user in
            client(user).streams[frame!.pointee.hd.stream_id, default: ClientStream()].blocks.append([])
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, user in
            let c = client(user)
            let id = frame!.pointee.hd.stream_id
            let n = String(decoding: UnsafeBufferPointer(start: name, count: nameLength), as: UTF8.self)
            let v = String(decoding: UnsafeBufferPointer(start: value, count: valueLength), as: UTF8.self)
            c.streams[id]!.blocks[c.streams[id]!.blocks.count - 1].append((n, v))
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, id, data, length, user in
            client(user).streams[id, default: ClientStream()].body += UnsafeBufferPointer(start: data, count: length)
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            let c = client(user)
            let hd = frame!.pointee.hd
            c.framesReceived.append((hd.type, hd.stream_id, hd.flags))
            if hd.type == T.goAway {
                c.goAway = (frame!.pointee.goaway.error_code, frame!.pointee.goaway.last_stream_id)
            }
            if (hd.type == T.data || hd.type == T.headers) && hd.flags & T.endStream != 0 {
                c.streams[hd.stream_id, default: ClientStream()].ended = true
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, id, code, user in
            client(user).streams[id, default: ClientStream()].closeCode = code
            return 0
        }
        nghttp2_session_client_new(&session, callbacks, Unmanaged.passUnretained(self).toOpaque())
        let iv = settings.map { nghttp2_settings_entry(settings_id: Int32($0.0.rawValue), value: $0.1) }
        nghttp2_submit_settings(session, 0, iv, iv.count)
    }

    deinit {
        nghttp2_session_del(session)
    }

    /// Submits a request; with `body` (possibly empty) and `more`, the body stays open for `send(stream:...)`.
    @discardableResult
    func request(_ fields: [(String, String)], body: [UInt8]? = nil, more: Bool = false) -> Int32 {
        withNV(fields) { nva, n in
            guard body != nil else { return nghttp2_submit_request(session, nil, nva, n, nil, nil) }
            var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: readBody)
            let id = nghttp2_submit_request(session, nil, nva, n, &provider, nil)
            bodies[id] = (body!, 0, !more)
            return id
        }
    }

    /// More request body for a stream opened with `more`.
    func send(stream: Int32, _ bytes: [UInt8], eof: Bool) {
        bodies[stream]!.bytes += bytes
        bodies[stream]!.eof = eof
        nghttp2_session_resume_data(session, stream)
    }

    func submitTrailers(stream: Int32, _ fields: [(String, String)]) {
        _ = withNV(fields) { nva, n in nghttp2_submit_trailer(session, stream, nva, n) }
    }

    func output() -> [UInt8] {
        var out: [UInt8] = []
        while true {
            var p: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &p)
            guard n > 0 else { break }
            out += UnsafeBufferPointer(start: p, count: n)
        }
        return out
    }

    func input(_ bytes: [UInt8]) {
        let rv = bytes.withUnsafeBufferPointer { nghttp2_session_mem_recv(session, $0.baseAddress, $0.count) }
        precondition(rv == bytes.count, "the test client rejected the server's output: \(rv)")
    }

    private func withNV<R>(_ fields: [(String, String)], _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
        var buffers: [UnsafeMutablePointer<UInt8>] = []
        defer { buffers.forEach { $0.deallocate() } }
        func copy(_ s: String) -> (UnsafeMutablePointer<UInt8>, Int) {
            let bytes = Array(s.utf8)
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
            p.initialize(from: bytes, count: bytes.count)
            buffers.append(p)
            return (p, bytes.count)
        }
        let nva = fields.map { f -> nghttp2_nv in
            let (n, nl) = copy(f.0)
            let (v, vl) = copy(f.1)
            return nghttp2_nv(name: n, value: v, namelen: nl, valuelen: vl, flags: 0)
        }
        return nva.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
    }
}

private let readBody: nghttp2_data_source_read_callback = { _, id, buffer, length, flags, _, user in
    let c = client(user)
    guard let body = c.bodies[id] else { return Int(NGHTTP2_ERR_DEFERRED.rawValue) }
    let n = min(length, body.bytes.count - body.sent)
    if n == 0 && !body.eof { return Int(NGHTTP2_ERR_DEFERRED.rawValue) }
    body.bytes.withUnsafeBytes { UnsafeMutableRawPointer(buffer!).copyMemory(from: $0.baseAddress! + body.sent, byteCount: n) }
    c.bodies[id]!.sent += n
    if body.eof && body.sent + n == body.bytes.count { flags!.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue }
    return n
}

private func client(_ user: UnsafeMutableRawPointer?) -> TestClient {
    Unmanaged<TestClient>.fromOpaque(user!).takeUnretainedValue()
}
