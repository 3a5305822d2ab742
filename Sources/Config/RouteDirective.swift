/// `route [host=H] [path=/prefix] backend=B`.
extension ConfigBuilder {
    /// The route, or nil when it lacks a match or a backend.
    func route(_ c: Directive) -> RouteConfig? {
        var route = RouteConfig(backend: "")
        var sawMatch = false
        var sawBackend = false
        for p in parameters(c.args[...]) {
            switch (p.key, p.value) {
            case ("host", let v?) where !v.isEmpty:
                sawMatch = true
                route.host = v.lowercased()
            case ("path", let v?):
                sawMatch = true
                route.pathPrefix = urlPath(p.token, v)
            case ("backend", let v?) where !v.isEmpty:
                sawBackend = true
                route.backend = v
                backendReferences.append((v, p.token, "route"))
            default:
                invalidParameter(p.token)
            }
        }
        if !sawMatch {
            error(c.name, "\"route\" directive needs host= or path=")
        }
        if !sawBackend {
            error(c.name, "\"route\" directive needs backend=")
        }
        return sawMatch && sawBackend ? route : nil
    }
}
