/// The three views of a `StatsSnapshot` served on the stats listener: `json` (GET /stats),
/// `prometheus` (GET /metrics) and `html` (GET /). Each lives in its own file.
public enum StatsRenderer {}

/// Number formatting shared by the renderers (no Foundation: the proxy does not link it).
enum NumberText {
    /// Shortest text that reads back as the same Double, without a trailing ".0" on whole
    /// numbers ("2", "0.0012", "1e-05"). Finite values only: callers decide what NaN/Inf become.
    static func shortest(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }

    /// A non-negative `value` with exactly `digits` decimals, rounded half up ("1.20").
    static func fixed(_ value: Double, digits: Int) -> String {
        var scale = 1
        for _ in 0..<digits { scale *= 10 }
        guard value >= 0, value * Double(scale) < 9e15 else { return shortest(value) }
        let scaled = Int((value * Double(scale)).rounded())
        let whole = String(scaled / scale)
        guard digits > 0 else { return whole }
        let fraction = String(scaled % scale)
        return whole + "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
}
