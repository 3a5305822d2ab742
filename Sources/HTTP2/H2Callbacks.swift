// nghttp2's callbacks: C function pointers (closures that capture nothing) that recover the
// connection from user_data and hand over to its methods. They must stay out of main.swift, where
// Swift 6 would isolate them to the main actor.

import CNGHTTP2

/// The flags argument of nghttp2's submit functions, none set.
let noFlags = UInt8(NGHTTP2_FLAG_NONE.rawValue)

enum H2Callbacks {
    /// A server session for `connection`, with the options that bound the work a client can cause.
    static func makeSession(for connection: H2Connection) -> OpaquePointer {
        var option: OpaquePointer?
        precondition(nghttp2_option_new(&option) == 0, "nghttp2 out of memory")
        defer { nghttp2_option_del(option) }
        let budgets = connection.settings.budgets
        // WINDOW_UPDATE only once the data path has forwarded the bytes (`consumed`).
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_max_outbound_ack(option, budgets.maxQueuedAcks)
        nghttp2_option_set_max_settings(option, budgets.maxSettingsEntries)
        nghttp2_option_set_max_continuations(option, budgets.maxContinuations)

        var session: OpaquePointer?
        let user = Unmanaged.passUnretained(connection).toOpaque()
        precondition(nghttp2_session_server_new3(&session, callbacks, user, option, &connection.memory.allocator) == 0,
                     "nghttp2 out of memory")
        return session!
    }

    /// The same for every session (nghttp2 copies them): made once, as sleeping connections wake
    /// up often.
    nonisolated(unsafe) private static let callbacks: OpaquePointer? = {
        var callbacks: OpaquePointer?
        precondition(nghttp2_session_callbacks_new(&callbacks) == 0, "nghttp2 out of memory")
        register(callbacks)
        return callbacks
    }()

    private static func register(_ callbacks: OpaquePointer?) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, user in
            withConnection(user) { $0.beginHeaders(frame!.pointee) }
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, user in
            withConnection(user) { $0.header(frame!.pointee, UnsafeRawBufferPointer(start: name, count: nameLength),
                                             UnsafeRawBufferPointer(start: value, count: valueLength)) }
        }
        // nghttp2 would drop a field it finds invalid (a bad name character, edge whitespace in a
        // value) and pass the rest; RFC 9113 §8.2.1 makes the message malformed: reset the stream.
        nghttp2_session_callbacks_set_on_invalid_header_callback(callbacks) { _, _, _, _, _, _, _, _ in
            NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            withConnection(user) { $0.frameReceived(frame!.pointee) }
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, stream, data, length, user in
            withConnection(user) { $0.dataChunk(stream, UnsafeRawBufferPointer(start: data, count: length)) }
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, stream, code, user in
            withConnection(user) { $0.streamClosed(stream, H2ErrorCode(rawValue: code)) }
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, user in
            withConnection(user) { $0.frameSent(frame!.pointee) }
        }
    }

    /// The body a waking connection sends to nowhere to spend the connection window as its client
    /// left it: `source.fd` bytes (their content is never read).
    static let windowFiller: nghttp2_data_source_read_callback = { _, _, _, length, flags, source, _ in
        let left = Int(source!.pointee.fd)
        let n = min(left, length)
        source!.pointee.fd = Int32(left - n)
        if n == left { flags!.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue }
        return n
    }

    /// The data provider of every response body: reads from the stream's `setBody` source.
    static let bodyReader: nghttp2_data_source_read_callback = { _, stream, buffer, length, flags, _, user in
        withConnection(user) { $0.readBody(stream, buffer!, length, flags!) }
    }
}

/// The connection behind `user`, borrowed for the call: `takeUnretainedValue()` would cost a
/// retain and a release on every callback, several per request.
@inline(__always)
private func withConnection<R>(_ user: UnsafeMutableRawPointer?, _ body: (H2Connection) -> R) -> R {
    Unmanaged<H2Connection>.fromOpaque(user!)._withUnsafeGuaranteedRef(body)
}
