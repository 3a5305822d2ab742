import EventLoop
import HTTP2

/// An HTTP/2 connection without streams gives its engine up after a while (nghttp2 holds about
/// 25 KB per session; see HTTP2/H2Connection+Dormancy.swift) and gets a new one when the client
/// sends again, or when the proxy has something to tell it (GOAWAY).
///
/// After 250 ms without a stream, or after 25 ms when more than 32 connections of the worker are
/// idle and awake: a burst of new connections (each asking one thing, then idle) would otherwise
/// leave the heap fragmented by hundreds of engines freed together (measured with 2,000
/// connections opened one after another: 2.9 KiB per idle connection with 250 ms alone, 1.6 KiB
/// with this). The price: a client whose requests on a connection come 25 to 250 ms apart while
/// many others idle pays for a new engine (5–8 µs) per request.
extension ClientConnection {
    static let http2SleepAfterMs: Int64 = 250
    static let http2SleepUnderPressureAfterMs: Int64 = 25
    static let http2IdleEnginesBeforePressure = 32

    /// The connection has no stream from now on.
    func wentIdle(_ codec: H2Codec) {
        codec.idleSince = loop.now
        codec.sleepAt = loop.now + Self.http2SleepAfterMs
        codec.queuedIdle = loop.now
        loop.idleHTTP2.append(id: id, since: loop.now)
    }

    /// Puts the engine to sleep once the connection was idle long enough; true when frames were
    /// queued first (asking the client to empty its HPACK table, returning window credit).
    func sleepIfIdle(_ codec: H2Codec) -> Bool {
        guard codec.streams.isEmpty, loop.now >= codec.sleepAt, input.isEmpty, output.isEmpty else { return false }
        switch codec.engine.sleep() {
        case .asleep(let state):
            codec.sleep(state)
            return false
        case .notYet:
            // Asked again on the next step (the client's answer makes one) or sweep.
            return codec.engine.hasOutput
        case .cannot:
            codec.sleepAt = loop.now + 1000
            return false
        }
    }

    /// A sleeping connection waits for the client's bytes, then wakes up to read them.
    func stepAsleep(_ codec: H2Codec) -> Bool {
        guard endpoint.readable else { return false }
        switch loop.read(&endpoint, into: &input) {
        case .bytes(let n):
            frontend.counters.bytesIn(n)
            return wake(codec)
        case .wouldBlock:
            return false
        case .endOfFile, .failed:
            close()
            return false
        }
    }

    /// Gives a sleeping connection its engine back; false (and the connection closed) if nghttp2
    /// would not be brought to its state.
    func wake(_ codec: H2Codec) -> Bool {
        guard let state = codec.dormant else { return true }
        guard let engine = H2Connection(waking: state, settings: http2Settings, now: loop.now, pool: frontend.http2Pool) else {
            loop.logger.error("HTTP/2 client \(peer.string): a sleeping connection could not be woken")
            close()
            return false
        }
        codec.wake(engine)
        wentIdle(codec)
        return true
    }
}

extension Loop {
    /// Puts idle HTTP/2 connections to sleep early while more than a few are idle and awake; called
    /// after each batch of events (the entries at the head are the oldest).
    func sleepIdleHTTP2UnderPressure() {
        while let entry = idleHTTP2.first {
            guard let connection = clients[entry.id], let codec = connection.h2, codec.engine != nil,
                  codec.streams.isEmpty, codec.queuedIdle == entry.since else {
                idleHTTP2.removeFirst()
                continue
            }
            guard idleHTTP2.count > ClientConnection.http2IdleEnginesBeforePressure,
                  now - entry.since >= ClientConnection.http2SleepUnderPressureAfterMs else { return }
            idleHTTP2.removeFirst()
            codec.sleepAt = now
            connection.drive()
        }
    }
}
