/// `health_check [path=/p] [interval=D] [timeout=D] [rise=N] [fall=N] [expect=LOW-HIGH]`.
extension ConfigBuilder {
    func healthCheck(_ c: Directive) -> HealthCheckConfig {
        var check = HealthCheckConfig()
        for p in parameters(c.args[...]) {
            switch (p.key, p.value) {
            case ("path", let v?):
                if let path = urlPath(p.token, v) { check.path = path }
            case ("interval", let v?):
                if let ms = duration(p.token, v, positive: true) { check.intervalMs = ms }
            case ("timeout", let v?):
                if let ms = duration(p.token, v, positive: true) { check.timeoutMs = ms }
            case ("rise", let v?):
                if let n = number(p.token, v, name: "rise", min: 1) { check.rise = n }
            case ("fall", let v?):
                if let n = number(p.token, v, name: "fall", min: 1) { check.fall = n }
            case ("expect", let v?):
                if let (low, high) = statusRange(v) {
                    check.expectLow = low
                    check.expectHigh = high
                } else {
                    error(p.token, "invalid status range \"\(v)\"")
                }
            default:
                invalidParameter(p.token)
            }
        }
        return check
    }

    /// `LOW-HIGH` or a single status code, within 100...599.
    private func statusRange(_ text: String) -> (Int, Int)? {
        let bounds = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let low = Values.number(String(bounds[0])),
              let high = bounds.count == 2 ? Values.number(String(bounds[1])) : low,
              100 <= low, low <= high, high <= 599 else { return nil }
        return (low, high)
    }
}
