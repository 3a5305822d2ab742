/// Which field lines of a head the rewriters leave out.
struct FieldFilter {
    /// What becomes of names that contain "_".
    enum Underscores {
        case pass
        case drop
        /// Dropped only when, with "_" read as "-", they name a field the proxy manages.
        case dropProxyManaged
    }

    /// Upgrade passes although hop-by-hop (a websocket upgrade being proxied).
    var keepUpgrade = false
    /// X-Forwarded-* are left out (the request rewriter writes its own).
    var dropXForwarded = false
    /// Forwarded is left out (it came from an untrusted peer).
    var dropForwarded = false
    /// Content-Length and Transfer-Encoding are left out (1xx and 204 responses carry neither).
    var dropFraming = false
    var underscores = Underscores.pass

    @inline(__always)
    func keeps(_ f: HeaderField, _ source: UnsafeRawBufferPointer) -> Bool {
        if f.hopByHop { return keepUpgrade && f.known == .upgrade }
        switch f.known {
        case .xForwardedFor, .xForwardedProto, .xForwardedHost, .xForwardedPort: return !dropXForwarded
        case .forwarded: return !dropForwarded
        case .contentLength, .transferEncoding: return !dropFraming
        case .other where f.hasUnderscore:
            switch underscores {
            case .pass: return true
            case .drop: return false
            case .dropProxyManaged:
                return !KnownHeader.classifyFoldingUnderscore(source, Int(f.nameStart), Int(f.nameEnd)).isProxyManaged
            }
        default: return true
        }
    }
}
