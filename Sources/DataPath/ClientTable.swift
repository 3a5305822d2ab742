/// This worker's client connections, indexed by id (the owner in their epoll tokens).
final class ClientTable {
    private var connections: [ClientConnection?] = []
    private var freeIDs: [Int32] = []
    private(set) var count = 0

    subscript(id: Int32) -> ClientConnection? { connections[Int(id)] }

    /// Adds the connection `make` builds with a free id.
    func add(_ make: (Int32) -> ClientConnection) -> ClientConnection {
        let id = freeIDs.popLast() ?? Int32(connections.count)
        let connection = make(id)
        if Int(id) == connections.count { connections.append(connection) } else { connections[Int(id)] = connection }
        count += 1
        return connection
    }

    /// Calls `body` for each live connection; `body` may close connections (not add them).
    func forEach(_ body: (ClientConnection) -> Void) {
        var i = 0
        while i < connections.count {
            if let connection = connections[i] { body(connection) }
            i += 1
        }
    }

    func remove(_ connection: ClientConnection) {
        connections[Int(connection.id)] = nil
        freeIDs.append(connection.id)
        count -= 1
    }
}
