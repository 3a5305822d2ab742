import XCTest
import EventLoop

final class TokenRegistryTests: XCTestCase {
    enum Role: Equatable { case a, b }

    func testClaimedTokenMatchesItsSlot() throws {
        var r = TokenRegistry<Role>()
        let token = r.claim(7, role: .a, owner: 42)
        let (fd, slot) = try XCTUnwrap(r.matches(token))
        XCTAssertEqual(fd, 7)
        XCTAssertEqual(slot.role, .a)
        XCTAssertEqual(slot.owner, 42)
        XCTAssertEqual(r.token(7), token)
    }

    /// An event queued for a descriptor that was closed and reused in the same batch must not
    /// reach the new owner.
    func testStaleTokensNoLongerMatch() {
        var r = TokenRegistry<Role>()
        let old = r.claim(5, role: .a, owner: 1)
        r.release(5)
        XCTAssertNil(r.matches(old), "released")
        let new = r.claim(5, role: .b, owner: 2)
        XCTAssertNil(r.matches(old), "reused by another owner")
        XCTAssertEqual(r.matches(new)?.slot.owner, 2)
    }

    func testReassignKeepsTheToken() {
        var r = TokenRegistry<Role>()
        let token = r.claim(3, role: .a, owner: 1)
        r.reassign(3, role: .b, owner: 9)
        XCTAssertEqual(r.matches(token)?.slot.role, .b)
        XCTAssertEqual(r.matches(token)?.slot.owner, 9)
    }

    func testGrowsForLargeDescriptorsAndIgnoresUnknownOnes() {
        var r = TokenRegistry<Role>()
        let token = r.claim(70_000, role: .a, owner: 1)
        XCTAssertEqual(r.matches(token)?.fd, 70_000)
        XCTAssertNil(r.matches(UInt64(1) << 32 | 200_000), "never claimed")
        XCTAssertNil(r.matches(UInt64(9) << 32 | 11), "unclaimed slot")
        r.release(500_000)  // beyond the table: nothing to forget
    }
}
