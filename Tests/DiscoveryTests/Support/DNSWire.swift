import Glibc

/// A resource record as the test responder serves it.
struct WireRecord {
    let name: String
    let type: UInt16
    let ttl: UInt32
    let data: [UInt8]

    static let typeA: UInt16 = 1
    static let typeCNAME: UInt16 = 5
    static let typeAAAA: UInt16 = 28
    static let typeSRV: UInt16 = 33

    static func a(_ name: String, _ ip: String, ttl: UInt32) -> WireRecord {
        WireRecord(name: name, type: typeA, ttl: ttl, data: DNSWire.ip(ip))
    }

    static func aaaa(_ name: String, _ ip: String, ttl: UInt32) -> WireRecord {
        WireRecord(name: name, type: typeAAAA, ttl: ttl, data: DNSWire.ip(ip))
    }

    static func srv(_ name: String, priority: UInt16, weight: UInt16, port: UInt16, target: String, ttl: UInt32) -> WireRecord {
        WireRecord(name: name, type: typeSRV, ttl: ttl,
                   data: DNSWire.u16(priority) + DNSWire.u16(weight) + DNSWire.u16(port) + DNSWire.name(target))
    }

    static func cname(_ name: String, _ target: String, ttl: UInt32) -> WireRecord {
        WireRecord(name: name, type: typeCNAME, ttl: ttl, data: DNSWire.name(target))
    }

    /// The record in wire form, its owner name uncompressed.
    var encoded: [UInt8] {
        DNSWire.name(name) + DNSWire.u16(type) + DNSWire.u16(1) + DNSWire.u32(ttl) + DNSWire.u16(UInt16(data.count)) + data
    }
}

/// DNS wire encoding for the tests (RFC 1035 4.1), without name compression.
enum DNSWire {
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func u32(_ v: UInt32) -> [UInt8] { u16(UInt16(v >> 16)) + u16(UInt16(v & 0xffff)) }

    static func name(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in text.split(separator: ".") {
            out.append(UInt8(label.utf8.count))
            out += Array(label.utf8)
        }
        return out + [0]
    }

    static func ip(_ text: String) -> [UInt8] {
        let v6 = text.contains(":")
        var bytes = [UInt8](repeating: 0, count: v6 ? 16 : 4)
        precondition(inet_pton(v6 ? AF_INET6 : AF_INET, text, &bytes) == 1, "bad address \(text)")
        return bytes
    }

    /// A response: `question` is the wire form of the question section as the query had it.
    static func response(id: UInt16, recursionDesired: Bool, rcode: UInt8, question: [UInt8],
                         answers: [WireRecord], additional: [WireRecord] = []) -> [UInt8] {
        // QR, AA, RD as asked, RA.
        let flags: UInt16 = 0x8400 | (recursionDesired ? 0x0100 : 0) | 0x0080 | UInt16(rcode)
        var out = u16(id) + u16(flags) + u16(1) + u16(UInt16(answers.count)) + u16(0) + u16(UInt16(additional.count))
        out += question
        for r in answers + additional { out += r.encoded }
        return out
    }
}
