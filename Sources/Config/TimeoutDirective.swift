/// `timeout KIND DURATION`: the kinds one block takes, and the field each one sets.
struct TimeoutKinds<Config>: Sendable {
    /// What messages call the block.
    let block: String
    let fields: [String: WritableKeyPath<Config, Int> & Sendable]
}

enum Timeouts {
    static let backend = TimeoutKinds<BackendConfig>(block: "backend", fields: [
        "connect": \.connectTimeoutMs,
        "read": \.readTimeoutMs,
    ])
    static let frontend = TimeoutKinds<FrontendConfig>(block: "frontend", fields: [
        "header": \.headerTimeoutMs,
        "idle": \.idleTimeoutMs,
        "send": \.sendTimeoutMs,
    ])
    /// Every kind some block takes: another block's kind is "not allowed" rather than unknown.
    static let allKinds = Set(backend.fields.keys).union(frontend.fields.keys)
}

extension ConfigBuilder {
    /// Sets the field of the directive's kind when the block takes that kind and the duration is
    /// valid. Returns the kind when the block takes it and it is not a repeat, whatever the
    /// duration, so that the caller can apply rules of its own to it.
    @discardableResult
    func timeout<Config>(_ directive: Directive, _ kinds: TimeoutKinds<Config>, seen: inout Set<String>,
                         into config: inout Config) -> String? {
        let kindToken = directive.args[0]
        let kind = kindToken.text
        guard let field = kinds.fields[kind] else {
            if Timeouts.allKinds.contains(kind) {
                error(kindToken, "timeout \"\(kind)\" is not allowed in a \(kinds.block)")
            } else {
                error(kindToken, "unknown timeout \"\(kind)\"")
            }
            return nil
        }
        guard seen.insert(kind).inserted else {
            error(directive.name, "\"timeout \(kind)\" directive is duplicate")
            return nil
        }
        if let ms = duration(directive.args[1], positive: true) { config[keyPath: field] = ms }
        return kind
    }
}
