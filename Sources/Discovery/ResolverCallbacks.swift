import CAres

// The C callbacks given to c-ares. Each finds its Swift object through the `void *` argument.

/// The socket-state callback. `data` is the resolver's SocketTable, unretained: the resolver owns
/// the table and destroys the channel (the last caller) before the table is released.
let socketStateCallback: ares_sock_state_cb = { data, fd, readable, writable in
    Unmanaged<SocketTable>.fromOpaque(data!).takeUnretainedValue()
        .update(fd: fd, readable: readable != 0, writable: writable != 0)
}

/// The query callback. `arg` is the query's QueryContext, retained when the query was sent and
/// released here: c-ares calls this exactly once per query, also when the channel is destroyed.
/// `abuf` is the raw answer, valid during the call only, hence copied.
let queryCallback: ares_callback = { arg, status, _, abuf, alen in
    let context = Unmanaged<QueryContext>.fromOpaque(arg!).takeRetainedValue()
    let answer = abuf.map { Array(UnsafeBufferPointer(start: $0, count: Int(max(alen, 0)))) }
    context.finish(status: status, answer: answer)
}

/// What a query's answer goes to.
final class QueryContext {
    private let completion: (Result<[UInt8], DNSFailure>) -> Void

    init(_ completion: @escaping (Result<[UInt8], DNSFailure>) -> Void) {
        self.completion = completion
    }

    func finish(status: Int32, answer: [UInt8]?) {
        // Closing the resolver ends every query with one of these; whoever waited is going away.
        if status == ARES_EDESTRUCTION || status == ARES_ECANCELLED { return }
        if status == ARES_SUCCESS, let answer {
            completion(.success(answer))
        } else {
            completion(.failure(DNSFailure(aresStatus: status == ARES_SUCCESS ? ARES_EBADRESP : status)))
        }
    }
}
