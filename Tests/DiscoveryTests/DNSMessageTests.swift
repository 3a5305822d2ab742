import XCTest
@testable import Discovery

final class DNSMessageTests: XCTestCase {
    /// An SRV answer with compressed names: the answer's owner points at the question's name, the
    /// target "n1.test" ends in a pointer to the question's "test" label (offset 16).
    private let message: [UInt8] = {
        let header = DNSWire.u16(0x1234) + DNSWire.u16(0x8180) + DNSWire.u16(1) + DNSWire.u16(1) + DNSWire.u16(0) + DNSWire.u16(1)
        let question = DNSWire.name("svc.test") + DNSWire.u16(33) + DNSWire.u16(1)
        let target: [UInt8] = [2] + Array("n1".utf8) + [0xc0, 16]
        let srvData = DNSWire.u16(10) + DNSWire.u16(60) + DNSWire.u16(8080) + target
        let answer: [UInt8] = [0xc0, 12] + DNSWire.u16(33) + DNSWire.u16(1) + DNSWire.u32(0x8000_0005)
            + DNSWire.u16(UInt16(srvData.count)) + srvData
        let additional = WireRecord.a("n1.test", "10.0.0.1", ttl: 30).encoded
        return header + question + answer + additional
    }()

    func testRecordsOfEverySectionWithCompressedNames() throws {
        let parsed = try XCTUnwrap(DNSMessage(message))
        XCTAssertEqual(parsed.records.count, 2)
        let srv = parsed.records[0]
        XCTAssertEqual(srv.section, .answer)
        XCTAssertEqual(srv.name, "svc.test")
        XCTAssertEqual(srv.type, 33)
        XCTAssertEqual(srv.rrClass, 1)
        XCTAssertEqual(srv.ttl, 0, "a TTL with the top bit set counts as 0")
        let a = parsed.records[1]
        XCTAssertEqual(a.section, .additional)
        XCTAssertEqual(a.name, "n1.test")
        XCTAssertEqual(a.ttl, 30)
        XCTAssertEqual(Array(a.data), [10, 0, 0, 1])
    }

    func testTheSRVReplyTakesTTLAndAdditionalAddressesFromTheWalk() throws {
        let reply = try ReplyParsing.srv(message).get()
        XCTAssertEqual(reply.records, [SRVRecord(target: "n1.test", port: 8080, weight: 60, priority: 10, addresses: [])])
        XCTAssertEqual(reply.ttl, 0)
        XCTAssertEqual(reply.additional, ["n1.test": [AddressRecord(ip: [10, 0, 0, 1], ttl: 30)]])
    }

    func testEveryTruncationIsRejected() {
        for length in 0..<message.count {
            XCTAssertNil(DNSMessage(Array(message.prefix(length))), "cut at \(length)")
        }
    }

    func testAPointerLoopIsRejected() {
        let header = DNSWire.u16(1) + DNSWire.u16(0x8180) + DNSWire.u16(0) + DNSWire.u16(1) + DNSWire.u16(0) + DNSWire.u16(0)
        let looping: [UInt8] = [0xc0, 12] + DNSWire.u16(1) + DNSWire.u16(1) + DNSWire.u32(1) + DNSWire.u16(4) + [1, 2, 3, 4]
        XCTAssertNil(DNSMessage(header + looping))
    }

    func testAddressRepliesCarryTheirTTLs() throws {
        let question = DNSWire.name("a.test") + DNSWire.u16(1) + DNSWire.u16(1)
        let reply = DNSWire.response(id: 7, recursionDesired: true, rcode: 0, question: question, answers: [
            WireRecord.cname("a.test", "b.test", ttl: 20), WireRecord.a("b.test", "10.0.0.1", ttl: 50),
            WireRecord.a("b.test", "10.0.0.2", ttl: 10),
        ])
        XCTAssertEqual(try ReplyParsing.addresses(reply, v6: false).get(),
                       [AddressRecord(ip: [10, 0, 0, 1], ttl: 20), AddressRecord(ip: [10, 0, 0, 2], ttl: 10)])
        XCTAssertEqual(ReplyParsing.addresses(reply, v6: true), .failure(.noData))
    }
}
