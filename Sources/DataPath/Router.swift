import Config
import HTTP1

/// Chooses the backend of a request: the first `route` whose host and/or path prefix match,
/// else the frontend's default backend (nil when there is none: 404).
struct Router {
    private struct Route {
        let host: [UInt8]?        // lower-case, compared without the Host header's port
        let wildcardSuffix: Bool  // "*.example.com" matches any sub-domain
        let pathPrefix: [UInt8]?
        let backend: Int
    }

    private let routes: [Route]
    let defaultBackend: Int?

    init(routes: [RouteConfig], defaultBackend: String?, backendIndex: [String: Int]) {
        self.routes = routes.map { r in
            var host = r.host.map { Array($0.lowercased().utf8) }
            var wildcard = false
            if let h = host, h.starts(with: Array("*.".utf8)) {
                host = Array(h.dropFirst(1))  // keep the leading dot
                wildcard = true
            }
            return Route(host: host, wildcardSuffix: wildcard, pathPrefix: r.pathPrefix.map { Array($0.utf8) },
                         backend: backendIndex[r.backend]!)
        }
        // The configuration was checked: every backend a route or frontend names exists.
        self.defaultBackend = defaultBackend.map { backendIndex[$0]! }
    }

    func route(_ head: RequestHead, _ buffer: UnsafeRawBufferPointer) -> Int? {
        if routes.isEmpty { return defaultBackend }
        let host = hostWithoutPort(head, buffer)
        let path = pathOfTarget(head, buffer)
        for r in routes {
            if let h = r.host, !matchesHost(host, h, wildcard: r.wildcardSuffix) { continue }
            if let p = r.pathPrefix, !hasPrefix(path, p) { continue }
            return r.backend
        }
        return defaultBackend
    }

    private func hostWithoutPort(_ head: RequestHead, _ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard head.hostStart >= 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        var end = head.hostEnd
        if b[head.hostStart] == UInt8(ascii: "[") {
            // IPv6 literal: the port follows the closing bracket.
            var i = head.hostStart
            while i < end && b[i] != UInt8(ascii: "]") { i += 1 }
            end = min(end, i + 1)
        } else {
            var i = head.hostStart
            while i < end && b[i] != UInt8(ascii: ":") { i += 1 }
            end = i
        }
        return UnsafeRawBufferPointer(rebasing: b[head.hostStart..<end])
    }

    /// The path of an origin-form target, or of an absolute-form one after its authority.
    private func pathOfTarget(_ head: RequestHead, _ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = head.targetStart
        if b[start] != UInt8(ascii: "/") {
            var slashes = 0
            while start < head.targetEnd {
                if b[start] == UInt8(ascii: "/") {
                    slashes += 1
                    if slashes == 3 { break }
                }
                start += 1
            }
        }
        return UnsafeRawBufferPointer(rebasing: b[start..<head.targetEnd])
    }

    private func matchesHost(_ host: UnsafeRawBufferPointer, _ want: [UInt8], wildcard: Bool) -> Bool {
        if wildcard {
            guard host.count > want.count else { return false }
            return equalsLowercased(UnsafeRawBufferPointer(rebasing: host[(host.count - want.count)...]), want)
        }
        return host.count == want.count && equalsLowercased(host, want)
    }

    private func equalsLowercased(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
        for i in 0..<b.count {
            var c = a[i]
            if c >= 65 && c <= 90 { c |= 0x20 }
            if c != b[i] { return false }
        }
        return true
    }

    private func hasPrefix(_ path: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        guard path.count >= prefix.count else { return false }
        for i in 0..<prefix.count where path[i] != prefix[i] { return false }
        return true
    }
}
