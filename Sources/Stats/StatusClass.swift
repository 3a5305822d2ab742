/// Maps an HTTP status to its class index: 1xx → 0 … 5xx → 4. Anything outside 100...599 is
/// clamped to the nearest class, so a counter array of 5 can never be indexed out of range.
public enum StatusClass {
    public static let count = 5
    public static let labels = ["1xx", "2xx", "3xx", "4xx", "5xx"]

    @inline(__always)
    public static func index(_ status: Int) -> Int {
        min(max(status / 100 - 1, 0), count - 1)
    }
}
