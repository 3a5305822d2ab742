import XCTest
import Stats

final class HistogramTests: XCTestCase {
    func testBoundsAreTheDocumentedOnes() {
        XCTAssertEqual(Histogram.bounds, [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
        XCTAssertEqual(Histogram.bucketCount, Histogram.bounds.count + 1)
    }

    func testBucketIsTheFirstBoundNotBelowTheValue() {
        for (i, bound) in Histogram.bounds.enumerated() {
            XCTAssertEqual(Histogram.bucket(for: bound), i, "exactly \(bound) belongs to le=\(bound)")
            XCTAssertEqual(Histogram.bucket(for: bound.nextUp), i + 1, "just above \(bound)")
        }
        XCTAssertEqual(Histogram.bucket(for: 0), 0)
        XCTAssertEqual(Histogram.bucket(for: 0.0003), 0)
        XCTAssertEqual(Histogram.bucket(for: 0.3), 9)
        XCTAssertEqual(Histogram.bucket(for: 10.5), 14)
        XCTAssertEqual(Histogram.bucket(for: .infinity), 14)
        XCTAssertEqual(Histogram.bucket(for: -1), 0)
        XCTAssertEqual(Histogram.bucket(for: .nan), 0)
    }

    func testQuantileInterpolatesInsideTheBucket() throws {
        let h = Fixture.serverHistogram
        XCTAssertEqual(try XCTUnwrap(h.quantile(0.5)), 0.00175, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(h.quantile(0.99)), 0.002485, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(h.quantile(1)), 0.0025, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(h.quantile(0)), 0.001, accuracy: 1e-12, "rank 0 is the first filled bucket's floor")
    }

    func testQuantileAcrossBuckets() throws {
        // 10 in [0, 0.5 ms], 10 in (0.5 ms, 1 ms]: the median is the top of the first bucket.
        let h = HistogramValues(counts: Fixture.counts([0: 10, 1: 10]), sum: 0)
        XCTAssertEqual(try XCTUnwrap(h.quantile(0.5)), 0.0005, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(h.quantile(0.75)), 0.00075, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(h.quantile(0.25)), 0.00025, accuracy: 1e-12)
    }

    func testQuantileOfEmptyAndInfiniteBuckets() {
        XCTAssertNil(HistogramValues().quantile(0.5))
        let slow = HistogramValues(counts: Fixture.counts([14: 5]), sum: 100)
        XCTAssertEqual(slow.quantile(0.5), 10, "+Inf bucket reports the last finite bound")
        XCTAssertEqual(slow.quantile(0.99), 10)
    }

    func testInitCountsObservations() {
        XCTAssertEqual(Fixture.backendHistogram.count, 13)
        XCTAssertEqual(HistogramValues().count, 0)
    }

    func testStatusClass() {
        let cases = [(100, 0), (199, 0), (200, 1), (204, 1), (301, 2), (404, 3), (499, 3), (500, 4), (599, 4),
                     (0, 0), (99, 0), (-5, 0), (600, 4), (1000, 4)]
        for (status, index) in cases {
            XCTAssertEqual(StatusClass.index(status), index, "status \(status)")
        }
    }
}
