import EventLoop

/// Moving bytes between an endpoint and a pooled buffer, the same code for either side.
extension Loop {
    /// Reads from `endpoint` into the free tail of `buffer` (taken from the pool if needed,
    /// compacted when its tail is used up). Returns the read's result; bytes land at `end`.
    @inline(__always)
    func read(_ endpoint: inout Endpoint, into buffer: inout Buffer) -> IOResult {
        buffers.take(&buffer)
        if buffer.isEmpty { buffer.start = 0; buffer.end = 0 }
        if buffer.end == buffers.size { buffer.compact() }
        let result = endpoint.read(buffer.base! + buffer.end, buffers.size - buffer.end)
        if case .bytes(let n) = result { buffer.end += n }
        return result
    }

    enum Transmitted {
        /// `bytes` in all, `body` of them from the body.
        case wrote(bytes: Int, body: Int)
        case blocked
        case failed
    }

    /// Writes `head` (all of it, first) then the first `ready` bytes of `body` to `endpoint`.
    /// What was written is consumed from both; an emptied body buffer starts over at 0.
    @inline(__always)
    func transmit(to endpoint: inout Endpoint, head: inout Buffer, body: inout Buffer, ready: inout Int) -> Transmitted {
        let pending = UnsafeRawBufferPointer(start: body.base.map { $0 + body.start }, count: ready)
        switch endpoint.write(head.bytes, pending, scratch: tlsScratch) {
        case .bytes(let n):
            let fromHead = min(n, head.count)
            head.start += fromHead
            let fromBody = n - fromHead
            body.start += fromBody
            ready -= fromBody
            if body.isEmpty { body.start = 0; body.end = 0 }
            return .wrote(bytes: n, body: fromBody)
        case .wouldBlock:
            return .blocked
        case .endOfFile, .failed:
            return .failed
        }
    }
}
