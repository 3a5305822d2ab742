// Idle connections sleep. nghttp2 keeps about 25 KB per session for its whole life (a 16 KiB
// outbound frame buffer, the HPACK contexts, the stream map): 30 times an idle HTTP/1.1
// connection. A connection with no stream, nothing to send and nothing half-received gives its
// engine up for an `H2Dormant` of a few hundred bytes, and `H2Connection(waking:)` builds an
// engine in the same protocol state when the client sends again.
//
// nghttp2 cannot be told a state directly, so the new session is fed frames standing for what
// the old one had seen (the client's SETTINGS, its window credit, the last stream), and what it
// answers is dropped: the client had those answers long ago. What cannot be replayed must be
// empty before sleeping: the HPACK table the client fills (it is asked to empty it with
// SETTINGS_HEADER_TABLE_SIZE 0, and told the full size again on waking), request body credit not
// yet returned (a WINDOW_UPDATE returns it), and SETTINGS not yet acknowledged. The table this side
// fills needs nothing: a new encoder only refers to entries it added itself, and the client's
// decoder evicts the older entries first.

import CNGHTTP2

/// What a sleeping HTTP/2 connection keeps (see H2Connection+Dormancy.swift).
public struct H2Dormant: Sendable {
    /// The client's SETTINGS values, by `H2Dormant.settingIDs`.
    var clientSettings = InlineArray<8, UInt32>(repeating: 0)
    /// The last stream the client opened: a new one must be higher.
    var lastStreamID: Int32 = 0
    /// What this side may still send on the connection (the client's window for it).
    var sendWindow: Int32 = 65_535
    /// SETTINGS_HEADER_TABLE_SIZE as the client acknowledged it, and whether its next header block
    /// must open with a table size update.
    var tableSize: UInt32 = 4096
    var expectsTableUpdate = false
    var flood: FloodGuard
    var clientResets: RecentResets
    var history: StreamHistory

    /// (Index 3 is the client's initial stream window.)
    static let settingIDs: InlineArray<8, nghttp2_settings_id> = [
        NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, NGHTTP2_SETTINGS_ENABLE_PUSH, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
        NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, NGHTTP2_SETTINGS_MAX_FRAME_SIZE, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
        NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES,
    ]

    /// What this side sent beyond the client's credit: a new session starts with 65,535 and only
    /// DATA brings it lower, so the waking engine sends that many bytes to nowhere on the last stream.
    var windowDeficit: Int { max(0, 65_535 - Int(sendWindow)) }

    /// The frames that bring a new server session to this state, as if from the client: the
    /// preface and its SETTINGS, its window credit beyond the initial 65,535, the ACK of the
    /// waking connection's SETTINGS, and a stream `lastStreamID` opened and closed, so that
    /// nghttp2 holds lower ids as closed. The stream is cancelled, or given the window its
    /// response needs to consume `windowDeficit`. Its header block names static entries only; it
    /// opens with the table size update the client already sent when its table is 0 and owes none.
    func resumeFrames() -> [UInt8] {
        var out = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        var entries: [UInt8] = []
        for i in clientSettings.indices {
            let id = UInt16(Self.settingIDs[i].rawValue)
            entries += [UInt8(id >> 8), UInt8(id & 0xff)] + Self.bigEndian(clientSettings[i])
        }
        Self.frame(&out, type: FrameType.settings, flags: 0, stream: 0, entries)
        if sendWindow > 65_535 {
            Self.frame(&out, type: FrameType.windowUpdate, flags: 0, stream: 0, Self.bigEndian(UInt32(sendWindow - 65_535)))
        }
        // :method GET, :scheme http, :path / (static table entries 2, 6 and 4), :authority x (a
        // literal not indexed: nghttp2 requires one).
        let request: [UInt8] = [0x82, 0x86, 0x84, 0x01, 0x01, 0x78]
        if expectsTableUpdate {
            openAndCloseLastStream(&out, block: request)
            Self.frame(&out, type: FrameType.settings, flags: FrameType.ack, stream: 0, [])
        } else {
            Self.frame(&out, type: FrameType.settings, flags: FrameType.ack, stream: 0, [])
            openAndCloseLastStream(&out, block: tableSize == 0 ? [0x20] + request : request)
        }
        return out
    }

    private func openAndCloseLastStream(_ out: inout [UInt8], block: [UInt8]) {
        guard lastStreamID > 0 else { return }
        Self.frame(&out, type: FrameType.headers, flags: FrameType.endStream | FrameType.endHeaders, stream: lastStreamID, block)
        let deficit = windowDeficit
        if deficit == 0 {
            Self.frame(&out, type: FrameType.rstStream, flags: 0, stream: lastStreamID, Self.bigEndian(H2ErrorCode.cancel.rawValue))
        } else if Int(clientSettings[3]) < deficit {
            Self.frame(&out, type: FrameType.windowUpdate, flags: 0, stream: lastStreamID,
                       Self.bigEndian(UInt32(deficit - Int(clientSettings[3]))))
        }
    }

    private static func frame(_ out: inout [UInt8], type: UInt8, flags: UInt8, stream: Int32, _ payload: [UInt8]) {
        let n = UInt32(payload.count)
        out += [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags] + bigEndian(UInt32(stream)) + payload
    }

    private static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }
}

/// What `H2Connection.sleep()` did.
public enum H2SleepResult {
    /// The engine may go: keep this instead.
    case asleep(H2Dormant)
    /// Frames were queued (a table size change, a WINDOW_UPDATE), or the client has yet to
    /// acknowledge SETTINGS: send the output, and ask again once the client had time to answer.
    case notYet
    /// The connection is busy or ending.
    case cannot
}

extension H2Connection {
    /// Gives the engine's state up for an `H2Dormant` when nothing is under way. Call only with
    /// every event drained and the output sent; after `.asleep`, drop the connection.
    public func sleep() -> H2SleepResult {
        guard wantsRead, !hasOutput, termination == nil, clientSettingsSeen, streams.isEmpty,
              eventsRead == events.count, tracker.atBoundary, !tracker.insideHeaderBlock else { return .cannot }
        guard tableSizeInFlight == nil else { return .notYet }
        let sendWindow = nghttp2_session_get_remote_window_size(session)
        guard sendWindow >= 0, sendWindow >= 65_535 || nghttp2_session_get_last_proc_stream_id(session) > 0,
              nghttp2_session_get_effective_local_window_size(session) == Int32(settings.connectionWindow) else { return .cannot }
        let unacknowledged = nghttp2_session_get_effective_recv_data_length(session)
        if unacknowledged > 0 {
            // Every byte was consumed (no stream is left): give the credit back now.
            return nghttp2_submit_window_update(session, noFlags, 0, unacknowledged) == 0 ? .notYet : .cannot
        }
        if nghttp2_session_get_hd_inflate_dynamic_table_size(session) > 0 {
            // nghttp2 empties the table when the client acknowledges.
            return submitTableSize(0) ? .notYet : .cannot
        }
        var dormant = H2Dormant(flood: flood, clientResets: clientResets, history: history)
        for i in H2Dormant.settingIDs.indices {
            dormant.clientSettings[i] = nghttp2_session_get_remote_settings(session, H2Dormant.settingIDs[i])
        }
        dormant.lastStreamID = nghttp2_session_get_last_proc_stream_id(session)
        dormant.sendWindow = sendWindow
        dormant.tableSize = tableSizeAcked
        dormant.expectsTableUpdate = expectsTableUpdate
        return .asleep(dormant)
    }

    /// An engine in the state `dormant` was taken in, for the client sending again; nil if nghttp2
    /// would not take the frames that rebuild it (the connection must close).
    public convenience init?(waking dormant: H2Dormant, settings: H2Settings, now: Int64, pool: H2MemoryPool?) {
        self.init(settings: settings, now: now, pool: pool, tableSize: dormant.tableSize)
        flood = dormant.flood
        clientResets = dormant.clientResets
        history = dormant.history
        tracker = FrameTracker(afterPreface: true)
        guard resume(dormant) else { return nil }
        if dormant.tableSize < settings.headerTableSize && !submitTableSize(UInt32(settings.headerTableSize)) { return nil }
    }

    private func resume(_ dormant: H2Dormant) -> Bool {
        resuming = true
        defer { resuming = false }
        let frames = dormant.resumeFrames()
        let rv = frames.withUnsafeBufferPointer { nghttp2_session_mem_recv(session, $0.baseAddress, $0.count) }
        guard rv == frames.count else { return false }
        if dormant.windowDeficit > 0 {
            var status = nghttp2_nv(name: UnsafeMutablePointer(mutating: Self.status.utf8Start), value: UnsafeMutablePointer(mutating: Self.ok.utf8Start),
                                    namelen: Self.status.utf8CodeUnitCount, valuelen: Self.ok.utf8CodeUnitCount,
                                    flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            var provider = nghttp2_data_provider(source: nghttp2_data_source(fd: Int32(dormant.windowDeficit)),
                                                 read_callback: H2Callbacks.windowFiller)
            guard nghttp2_submit_response(session, dormant.lastStreamID, &status, 1, &provider) == 0 else { return false }
        }
        // nghttp2's answers (SETTINGS, its ACK, WINDOW_UPDATE, the filler) went out long ago or nowhere.
        var chunk: UnsafePointer<UInt8>?
        while true {
            let n = nghttp2_session_mem_send(session, &chunk)
            if n < 0 { return false }
            if n == 0 { break }
        }
        expectsTableUpdate = dormant.expectsTableUpdate
        return tableSizeInFlight == nil && clientSettingsSeen
            && nghttp2_session_get_remote_window_size(session) == dormant.sendWindow
            && nghttp2_session_get_last_proc_stream_id(session) == dormant.lastStreamID
    }

    private static let status: StaticString = ":status"
    private static let ok: StaticString = "200"

    /// Submits SETTINGS_HEADER_TABLE_SIZE alone.
    private func submitTableSize(_ size: UInt32) -> Bool {
        var entry = nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_HEADER_TABLE_SIZE.rawValue), value: size)
        guard nghttp2_submit_settings(session, noFlags, &entry, 1) == 0 else { return false }
        tableSizeInFlight = size
        return true
    }

    /// The client acknowledged the SETTINGS in flight; a smaller table takes effect at once
    /// (nghttp2 evicts), and the client's next header block must open with an update to it.
    func settingsAcknowledged() {
        guard let size = tableSizeInFlight else { return }
        if size < tableSizeAcked { expectsTableUpdate = true }
        tableSizeAcked = size
        tableSizeInFlight = nil
    }
}
