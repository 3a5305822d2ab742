/// The Connection line the proxy adds to a response it forwards.
public enum ConnectionDirective: Sendable {
    case none, close, keepAlive, upgrade
}

public enum ResponseRewriter {
    /// Writes the response head for the client: status line unchanged, every field except hop-by-hop
    /// ones (Content-Length in canonical form; neither Content-Length nor Transfer-Encoding for 1xx and
    /// 204, which have no body), then "Connection: close" (.close), "Connection: keep-alive" (.keepAlive,
    /// for HTTP/1.0 clients), or for .upgrade (a 101 to a websocket request) the upstream's Upgrade
    /// field in its place plus "Connection: upgrade". `setCookie` adds a `Set-Cookie` field with
    /// that value (a sticky session's). nil when `out` is too small.
    #if !DEBUG
    @_noAllocation  // checked by the compiler in optimized builds
    #endif
    public static func write(_ head: ResponseHead, headers: HeaderTable, source: UnsafeRawBufferPointer,
                             connection: ConnectionDirective, setCookie: UnsafeRawBufferPointer? = nil,
                             into out: UnsafeMutableRawBufferPointer) -> Int? {
        var w = ByteWriter(out)
        w.write(source, 0, ByteWriter.startLineEnd(headers, headLength: head.headLength))
        let filter = FieldFilter(keepUpgrade: connection == .upgrade, dropFraming: head.status < 200 || head.status == 204)
        w.writeFields(source, headers, headLength: head.headLength, filter: filter)
        if let setCookie {
            w.write("Set-Cookie: ")
            w.write(setCookie)
            w.write("\r\n")
        }
        switch connection {
        case .none: break
        case .close: w.write("Connection: close\r\n")
        case .keepAlive: w.write("Connection: keep-alive\r\n")
        case .upgrade: w.write("Connection: upgrade\r\n")
        }
        w.write("\r\n")
        return w.result
    }
}
