/// One backend's response-time histogram (all its servers together) in one worker's area, the
/// source of `sluice_backend_response_seconds`.
public struct BackendCounters: @unchecked Sendable {
    static let words = HistogramWords.words

    let words: SharedWords

    @inline(__always) public func response(seconds: Double) {
        HistogramWords(words: words).record(seconds: seconds)
    }

    func read() -> HistogramValues {
        HistogramWords(words: words).read()
    }

    func retire(into retired: BackendCounters) {
        for i in 0..<Self.words { retired.words.bump(i, words.load(i)) }
    }
}
