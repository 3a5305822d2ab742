import FuzzSupport
import HTTP2

/// The events of each stream must follow its life: one `.request`, then `.data` and `.trailers`
/// until the body ends, `.bodyTaken` while it is answered, and exactly one `.closed` or `.reset`.
struct StreamLog {
    enum Phase {
        case receiving, bodyEnded, gone
    }

    var phases: [Int32: Phase] = [:]
    var lastRequest: Int32 = 0

    mutating func record(_ event: H2Event) {
        switch event {
        case .request(let r):
            require(r.stream > lastRequest && r.stream % 2 == 1, "request on stream \(r.stream) after \(lastRequest)")
            lastRequest = r.stream
            phases[r.stream] = r.hasBody ? .receiving : .bodyEnded
        case .data(let s, let bytes, let end):
            require(phases[s] == .receiving, ".data on stream \(s) in \(String(describing: phases[s]))")
            require(!bytes.isEmpty || end, "empty .data without the end of the body")
            if end { phases[s] = .bodyEnded }
        case .trailers(let s, _):
            require(phases[s] == .receiving, ".trailers on stream \(s) in \(String(describing: phases[s]))")
            phases[s] = .bodyEnded
        case .bodyTaken(let s):
            require(phases[s] != nil && phases[s] != .gone, ".bodyTaken on stream \(s) in \(String(describing: phases[s]))")
        case .reset(let s, _), .closed(let s):
            require(phases[s] != nil && phases[s] != .gone, "end of stream \(s) in \(String(describing: phases[s]))")
            phases[s] = .gone
        }
    }
}
