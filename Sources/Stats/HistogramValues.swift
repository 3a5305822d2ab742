/// A histogram as read from the region: plain values for the renderers.
public struct HistogramValues: Sendable, Equatable {
    /// Per bucket, not cumulative; `Histogram.bucketCount` entries, the last one +Inf.
    public var counts: [Int]
    public var sum: Double
    public var count: Int

    public init(counts: [Int] = Array(repeating: 0, count: Histogram.bucketCount), sum: Double = 0) {
        precondition(counts.count == Histogram.bucketCount, "histogram needs \(Histogram.bucketCount) buckets")
        self.counts = counts
        self.sum = sum
        self.count = counts.reduce(0, +)
    }

    /// The q-quantile (0...1) estimated as Prometheus' histogram_quantile does: find the bucket
    /// holding the rank and interpolate linearly inside it. nil when there is no observation;
    /// a rank in the +Inf bucket reports the last finite bound.
    public func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = min(max(q, 0), 1) * Double(count)
        var below = 0
        for (i, n) in counts.enumerated() {
            // n > 0: for rank 0, skip empty leading buckets and answer the first filled one.
            if n > 0 && Double(below + n) >= rank {
                guard i < Histogram.bounds.count else { return Histogram.bounds[Histogram.bounds.count - 1] }
                let lower = i == 0 ? 0 : Histogram.bounds[i - 1]
                let upper = Histogram.bounds[i]
                return lower + (upper - lower) * (rank - Double(below)) / Double(n)
            }
            below += n
        }
        return Histogram.bounds[Histogram.bounds.count - 1]
    }

    static func + (a: HistogramValues, b: HistogramValues) -> HistogramValues {
        HistogramValues(counts: zip(a.counts, b.counts).map(+), sum: a.sum + b.sum)
    }
}
