import EventLoop
import HTTP2

/// An HTTP/2 connection without streams gives its engine up after a while (nghttp2 holds about
/// 25 KB per session; see HTTP2/H2Connection+Dormancy.swift) and gets a new one when the client
/// sends again, or when the proxy has something to tell it (GOAWAY).
extension ClientConnection {
    /// How long a connection without streams keeps its engine: long enough that a client's next
    /// request after a response rarely pays for a new one.
    static let http2SleepAfterMs: Int64 = 250

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
        codec.sleepAt = loop.now + Self.http2SleepAfterMs
        return true
    }
}
