import XCTest
@testable import Discovery

private func record(_ ip: String) -> AddressRecord { AddressRecord(ip: DNSWire.ip(ip), ttl: 60) }

final class AddressLookupTests: XCTestCase {
    func testFamiliesMerge() {
        let a: Result<[AddressRecord], DNSFailure> = .success([record("10.0.0.1")])
        let aaaa: Result<[AddressRecord], DNSFailure> = .success([record("fd00::1")])
        XCTAssertEqual(try Resolver.mergeFamilies(a, aaaa).get().records, [record("10.0.0.1"), record("fd00::1")])
        XCTAssertEqual(try Resolver.mergeFamilies(a, .failure(.noData)).get().records, [record("10.0.0.1")])
        XCTAssertEqual(try Resolver.mergeFamilies(.failure(.noData), aaaa).get().records, [record("fd00::1")])
        XCTAssertEqual(try Resolver.mergeFamilies(.failure(.nxdomain), aaaa).get().records, [record("fd00::1")])
    }

    func testAFamilyThatFailedFailsTheLookup() {
        let a: Result<[AddressRecord], DNSFailure> = .success([record("10.0.0.1")])
        XCTAssertEqual(Resolver.mergeFamilies(a, .failure(.timeout)), .failure(.timeout))
        XCTAssertEqual(Resolver.mergeFamilies(.failure(.serverFailure), a), .failure(.serverFailure))
        XCTAssertEqual(Resolver.mergeFamilies(.failure(.nxdomain), .failure(.nxdomain)), .failure(.nxdomain))
        XCTAssertEqual(Resolver.mergeFamilies(.failure(.noData), .failure(.noData)), .failure(.noData))
    }
}
