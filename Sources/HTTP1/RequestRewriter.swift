/// Everything the request rewriter needs besides the head.
public struct ForwardContext {
    /// Client address text, e.g. "127.0.0.1" or "::1".
    public var peer: UnsafeRawBufferPointer
    /// Listener port text, e.g. "8080".
    public var port: UnsafeRawBufferPointer
    public var https: Bool
    /// The peer is in trusted_proxies.
    public var trusted: Bool
    /// The client spoke HTTP/1.0: send the request line as HTTP/1.0 with "Connection: close".
    public var upstreamHTTP10: Bool
    /// `underscores_in_headers on;`: field names with "_" pass, except those that name a field the
    /// proxy sets or frames with once "_" is read as "-" (Content_Length, X_Forwarded_For...).
    public var keepUnderscores: Bool

    public init(peer: UnsafeRawBufferPointer, port: UnsafeRawBufferPointer, https: Bool, trusted: Bool, upstreamHTTP10: Bool,
                keepUnderscores: Bool = false) {
        self.peer = peer
        self.port = port
        self.https = https
        self.trusted = trusted
        self.upstreamHTTP10 = upstreamHTTP10
        self.keepUnderscores = keepUnderscores
    }
}

public enum RequestRewriter {
    /// Writes the head to send upstream: the request line (as HTTP/1.0 when upstreamHTTP10), every
    /// field line but hop-by-hop ones (Upgrade stays for a websocket upgrade), X-Forwarded-*,
    /// Forwarded from an untrusted peer and names with "_" (see `keepUnderscores`), Content-Length in
    /// canonical form, then X-Forwarded-For/-Proto/-Host/-Port per the trust rule, then a Connection
    /// line when needed. Returns bytes written, or nil when `out` is too small.
    #if !DEBUG
    @_noAllocation  // checked by the compiler in optimized builds
    #endif
    public static func write(_ head: RequestHead, headers: HeaderTable, source: UnsafeRawBufferPointer,
                             context: ForwardContext, into out: UnsafeMutableRawBufferPointer) -> Int? {
        var w = ByteWriter(out)
        if context.upstreamHTTP10 {
            w.write(source, 0, head.targetEnd)
            w.write(" HTTP/1.0\r\n")
        } else {
            w.write(source, 0, ByteWriter.startLineEnd(headers, headLength: head.headLength))
        }
        let filter = FieldFilter(keepUpgrade: head.upgradeWebSocket, dropXForwarded: true, dropForwarded: !context.trusted,
                                 underscores: context.keepUnderscores ? .dropProxyManaged : .drop)
        w.writeFields(source, headers, headLength: head.headLength, filter: filter)

        // A trusted peer's first non-empty X-Forwarded-Proto/-Host/-Port win over ours.
        var proto = -1
        var host = -1
        var port = -1
        w.write("X-Forwarded-For: ")
        if context.trusted {
            for i in 0..<headers.count {
                let f = headers.fields[i]
                guard f.valueEnd > f.valueStart else { continue }
                switch f.known {
                case .xForwardedFor:
                    w.writeValue(source, f)
                    w.write(", ")
                case .xForwardedProto where proto < 0: proto = i
                case .xForwardedHost where host < 0: host = i
                case .xForwardedPort where port < 0: port = i
                default: break
                }
            }
        }
        w.write(context.peer)
        w.write("\r\nX-Forwarded-Proto: ")
        if proto >= 0 {
            w.writeValue(source, headers.fields[proto])
        } else {
            w.write(context.https ? "https" : "http")
        }
        if host >= 0 {
            w.write("\r\nX-Forwarded-Host: ")
            w.writeValue(source, headers.fields[host])
        } else if head.hostEnd > head.hostStart {
            w.write("\r\nX-Forwarded-Host: ")
            w.write(source, head.hostStart, head.hostEnd)
        }
        w.write("\r\nX-Forwarded-Port: ")
        if port >= 0 {
            w.writeValue(source, headers.fields[port])
        } else {
            w.write(context.port)
        }
        if head.upgradeWebSocket {
            w.write("\r\nConnection: upgrade")
        } else if context.upstreamHTTP10 {
            w.write("\r\nConnection: close")
        }
        w.write("\r\n\r\n")
        return w.result
    }
}
