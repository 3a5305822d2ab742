import CLinux
import DataPath
import EventLoop

/// What a descriptor of the master is.
enum MasterRole {
    case signal, healthCheck, statsListener, statsConnection, dns
}

/// The master's epoll set and the registry telling its descriptors apart (the same
/// generation-tagged tokens as a worker's).
final class MasterLoop {
    let epoll: Epoll
    private(set) var registry = TokenRegistry<MasterRole>()

    init() throws(ProxyError) {
        do { epoll = try Epoll(capacity: 64) } catch { throw ProxyError(error.description) }
    }

    func watch(_ fd: Int32, role: MasterRole, owner: Int32, events: UInt32) throws(SystemError) {
        try epoll.add(fd, events: events, token: registry.claim(fd, role: role, owner: owner))
    }

    /// Stops watching a descriptor someone else closes (c-ares' sockets).
    func forget(_ fd: Int32) {
        epoll.remove(fd)
        registry.release(fd)
    }

    func close(_ fd: Int32) {
        registry.release(fd)
        Syscall.close(fd)
    }

    /// The role and owner of an event's descriptor, nil for a stale event.
    func match(_ token: UInt64) -> (role: MasterRole, owner: Int32)? {
        guard let (_, slot) = registry.matches(token), let role = slot.role else { return nil }
        return (role, slot.owner)
    }
}
