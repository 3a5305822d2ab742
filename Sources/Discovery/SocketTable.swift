/// A resolver socket and the readiness c-ares waits for on it: the owner maps `readable` to
/// EPOLLIN and `writable` to EPOLLOUT (TCP, when an answer was truncated and a query is queued).
public struct SocketInterest: Equatable, Sendable {
    public let fd: Int32
    public let readable: Bool
    public let writable: Bool
}

/// A change for the owner's poller, reported as c-ares makes it; a descriptor closed and reused
/// at once shows as `remove` then `add`. `remove` comes before c-ares closes the descriptor.
public enum SocketChange: Equatable, Sendable {
    case add(SocketInterest)
    case modify(SocketInterest)
    case remove(fd: Int32)
}

/// The sockets c-ares has open, kept from its socket-state callback (readable and writable both
/// false means "closing"), each report turned into a change for the owner.
final class SocketTable {
    private(set) var interests: [Int32: SocketInterest] = [:]
    private let onChange: (SocketChange) -> Void

    init(onChange: @escaping (SocketChange) -> Void) {
        self.onChange = onChange
    }

    func update(fd: Int32, readable: Bool, writable: Bool) {
        guard readable || writable else {
            if interests.removeValue(forKey: fd) != nil { onChange(.remove(fd: fd)) }
            return
        }
        let interest = SocketInterest(fd: fd, readable: readable, writable: writable)
        let old = interests.updateValue(interest, forKey: fd)
        if old == nil {
            onChange(.add(interest))
        } else if old != interest {
            onChange(.modify(interest))
        }
    }
}
