import EventLoop
import TLS

/// A connection to one upstream server. Exchanges borrow it; between requests it waits in the
/// server's idle pool of this worker.
final class UpstreamConnection {
    enum Phase { case connecting, handshaking, ready }

    let id: Int32
    unowned(unsafe) let server: UpstreamServer
    var endpoint: Endpoint
    var phase: Phase
    /// Bytes read from the upstream and not yet passed on.
    var input = Buffer()
    /// The client connection it works for; nil while idle.
    unowned(unsafe) var client: ClientConnection?
    /// epoll reported on it since its exchange last looked (an HTTP/2 connection steps only the
    /// streams whose upstream was stirred or that changed on the client's side).
    var stirred = false

    init(id: Int32, server: UpstreamServer, endpoint: Endpoint, phase: Phase) {
        self.id = id
        self.server = server
        self.endpoint = endpoint
        self.phase = phase
    }
}

/// This worker's upstream connections, indexed by id (the owner in their epoll tokens), and the
/// servers' idle pools.
final class UpstreamTable {
    private var connections: [UpstreamConnection?] = []
    private var freeIDs: [Int32] = []
    private unowned let loop: Loop

    init(loop: Loop) {
        self.loop = loop
    }

    subscript(id: Int32) -> UpstreamConnection? { connections[Int(id)] }

    enum Open {
        case connection(UpstreamConnection)
        case failed(errno: Int32)
    }

    /// Starts a new connection to `server` (a non-blocking connect) for `client`.
    func connect(to server: UpstreamServer, for client: ClientConnection) -> Open {
        let fd: Int32
        let done: Bool
        switch Socket.connect(server.address) {
        case .connected(let s): fd = s; done = true
        case .inProgress(let s): fd = s; done = false
        case .failed(let e): return .failed(errno: e)
        }
        let id = freeIDs.popLast() ?? Int32(connections.count)
        let connection = UpstreamConnection(id: id, server: server, endpoint: Endpoint(fd: fd, writable: done),
                                            phase: .connecting)
        connection.client = client
        if Int(id) == connections.count { connections.append(connection) } else { connections[Int(id)] = connection }
        loop.register(fd, role: .upstream, owner: id)
        return .connection(connection)
    }

    /// The warmest idle connection to `server`, now working for `client`.
    func takeIdle(_ server: UpstreamServer, for client: ClientConnection) -> UpstreamConnection? {
        guard let connection = server.idle.popLast() else { return nil }
        connection.client = client
        loop.registry.reassign(connection.endpoint.fd, role: .upstream, owner: connection.id)
        return connection
    }

    /// Puts a connection whose response ended cleanly in its server's pool (or closes it when
    /// the pool is full, or when its PROXY protocol header spoke for one client).
    func release(_ connection: UpstreamConnection, keep: Bool, poolSize: Int) {
        loop.buffers.give(&connection.input)
        if keep && connection.server.config.sendProxy == nil && connection.server.idle.count < poolSize {
            connection.client = nil
            loop.registry.reassign(connection.endpoint.fd, role: .idleUpstream, owner: connection.id)
            connection.server.idle.append(connection)
        } else {
            close(connection)
        }
    }

    /// An idle connection the server closed (or that sent something unasked).
    func dropIdle(_ id: Int32) {
        guard let connection = connections[Int(id)] else { return }
        let pool = connection.server.idle
        if let i = pool.firstIndex(where: { $0 === connection }) { connection.server.idle.remove(at: i) }
        close(connection)
    }

    func close(_ connection: UpstreamConnection) {
        loop.buffers.give(&connection.input)
        connection.client = nil
        loop.close(connection.endpoint.release())
        connections[Int(connection.id)] = nil
        freeIDs.append(connection.id)
    }
}
