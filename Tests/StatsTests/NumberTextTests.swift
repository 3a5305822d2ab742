import XCTest
@testable import Stats

final class NumberTextTests: XCTestCase {
    func testShortest() {
        XCTAssertEqual(NumberText.shortest(2), "2")
        XCTAssertEqual(NumberText.shortest(81.5), "81.5")
        XCTAssertEqual(NumberText.shortest(0.0005), "0.0005")
        XCTAssertEqual(NumberText.shortest(1e-05), "1e-05")
        XCTAssertEqual(NumberText.shortest(-3), "-3")
    }

    func testFixed() {
        XCTAssertEqual(NumberText.fixed(1.2, digits: 2), "1.20")
        XCTAssertEqual(NumberText.fixed(2.486, digits: 2), "2.49")
        XCTAssertEqual(NumberText.fixed(0.004, digits: 2), "0.00")
        XCTAssertEqual(NumberText.fixed(9.96, digits: 1), "10.0")
        XCTAssertEqual(NumberText.fixed(7.5, digits: 0), "8")
        XCTAssertEqual(NumberText.fixed(0.05, digits: 2), "0.05")
    }
}
