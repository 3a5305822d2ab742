import CLinux
import Discovery
import EventLoop

/// The test's event loop, shaped like the master's: one epoll set holding the responder's socket
/// and the resolver's sockets as `SocketChange`s report them, a wait of at most 20 ms, and a tick
/// after every wait.
final class EpollDriver {
    private let epoll: Epoll
    private let responder: DNSResponder
    private static let responderToken: UInt64 = 1 << 40
    /// Every change the resolver reported, in order.
    private(set) var changes: [SocketChange] = []
    /// The descriptors registered now.
    private(set) var registered: Set<Int32> = []

    init(responder: DNSResponder) throws {
        epoll = try Epoll(capacity: 16)
        self.responder = responder
        try epoll.add(responder.fd, events: SL_EPOLLIN, token: EpollDriver.responderToken)
    }

    /// What a resolver's `onSocketChange` calls.
    func apply(_ change: SocketChange) {
        changes.append(change)
        switch change {
        case .add(let s):
            try! epoll.add(s.fd, events: EpollDriver.mask(s), token: UInt64(s.fd))
            registered.insert(s.fd)
        case .modify(let s):
            try! epoll.modify(s.fd, events: EpollDriver.mask(s), token: UInt64(s.fd))
        case .remove(let fd):
            epoll.remove(fd)
            registered.remove(fd)
        }
    }

    private static func mask(_ s: SocketInterest) -> UInt32 {
        (s.readable ? SL_EPOLLIN : 0) | (s.writable ? SL_EPOLLOUT : 0)
    }

    /// Runs the loop until `done` holds (true) or `limitMs` passes (false). `process` gets ready
    /// resolver sockets, `tick` runs after every wait; `nextTimeoutMs` shortens the wait.
    @discardableResult
    func run(until done: () -> Bool, limitMs: Int64 = 5000, nextTimeoutMs: () -> Int?,
             process: (Int32, Bool, Bool) -> Void, tick: () -> Void) -> Bool {
        let deadline = Clock.nowMs() + limitMs
        while !done() {
            if Clock.nowMs() > deadline { return false }
            let n = epoll.wait(timeoutMs: Int32(min(nextTimeoutMs() ?? 20, 20)))
            for i in 0..<n {
                let (mask, token) = epoll.event(i)
                if token == EpollDriver.responderToken {
                    responder.serve()
                } else {
                    process(Int32(token), mask & (SL_EPOLLIN | SL_EPOLLERR | SL_EPOLLHUP) != 0, mask & SL_EPOLLOUT != 0)
                }
            }
            tick()
        }
        return true
    }

    /// `run` for a bare resolver.
    @discardableResult
    func run(_ resolver: Resolver, until done: () -> Bool, limitMs: Int64 = 5000) -> Bool {
        run(until: done, limitMs: limitMs, nextTimeoutMs: { resolver.nextTimeoutMs },
            process: { resolver.process(fd: $0, readable: $1, writable: $2) }, tick: { resolver.processTimeouts() })
    }

    /// `run` for a discovery service.
    @discardableResult
    func run(_ service: DiscoveryService, until done: () -> Bool, limitMs: Int64 = 5000) -> Bool {
        run(until: done, limitMs: limitMs, nextTimeoutMs: { service.nextWakeMs },
            process: { service.process(fd: $0, readable: $1, writable: $2) }, tick: { service.tick() })
    }
}
