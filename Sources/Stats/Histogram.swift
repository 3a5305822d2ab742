/// Fixed response-time buckets shared by every histogram in the region.
public enum Histogram {
    /// Upper bounds in seconds; bucket i counts observations ≤ bounds[i] and above bounds[i-1].
    /// One more bucket, past the last bound, is the implicit +Inf.
    public static let bounds = Array(searchBounds.prefix(bucketCount - 1))
    public static let bucketCount = 15

    /// The bucket for an observation: how many bounds it exceeds, found by a four-step binary
    /// search whose steps compile to conditional moves rather than branches. NaN and negatives
    /// land in bucket 0.
    @inline(__always)
    public static func bucket(for seconds: Double) -> Int {
        var index = 0
        index &+= seconds > searchBounds[index &+ 7] ? 8 : 0
        index &+= seconds > searchBounds[index &+ 3] ? 4 : 0
        index &+= seconds > searchBounds[index &+ 1] ? 2 : 0
        index &+= seconds > searchBounds[index] ? 1 : 0
        return index
    }

    /// The bounds padded with +Inf to 16 entries, the size the search above covers. A literal,
    /// so that the hot path reads a statically initialised array.
    private static let searchBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1, 0.25, 0.5, 1, 2.5, 5, 10, .infinity, .infinity]
}

/// Words of a histogram record (written by one worker): one count per bucket, then the sum in microseconds
/// (an integer so that it can be added atomically; Int64 µs lasts ~290,000 years).
struct HistogramWords {
    static let words = Histogram.bucketCount + 1
    private static let sumIndex = Histogram.bucketCount

    let words: SharedWords

    @inline(__always)
    func record(seconds: Double) {
        words.bump(Histogram.bucket(for: seconds))
        words.bump(Self.sumIndex, Self.microseconds(seconds))
    }

    func read() -> HistogramValues {
        HistogramValues(counts: words.load(0..<Histogram.bucketCount),
                        sum: Double(words.load(Self.sumIndex)) / 1e6)
    }

    /// Rounded to the nearest microsecond, so that fast responses do not all count as 0; a
    /// NaN, negative or absurd (> 1 day) duration adds nothing rather than trapping.
    @inline(__always)
    private static func microseconds(_ seconds: Double) -> Int {
        seconds >= 0 && seconds < 86_400 ? Int(seconds * 1e6 + 0.5) : 0
    }
}
