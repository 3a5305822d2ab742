/// One backend's response-time histogram (all its servers together), the source of
/// `sluice_backend_response_seconds`.
public struct BackendCounters: @unchecked Sendable {
    static let words = HistogramWords.words

    let words: SharedWords

    public func response(seconds: Double) {
        HistogramWords(words: words).record(seconds: seconds)
    }

    public func read() -> HistogramValues {
        HistogramWords(words: words).read()
    }
}
