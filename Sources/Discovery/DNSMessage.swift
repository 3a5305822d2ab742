import CAres

/// The resource records of a DNS message (RFC 1035 4.1), walked with every length checked.
///
/// Why a walk of our own next to c-ares' parsers: c-ares 1.18's `ares_srv_reply` has no TTL field
/// and its reply parsers read the answer section only, while a watch needs the SRV records' TTL
/// and the targets' addresses that servers (Consul, CoreDNS) put in the additional section. This
/// reads only the fixed fields (type, class, TTL, data length); names are decoded by c-ares'
/// `ares_expand_name`, which handles compression pointers and their loops.
struct DNSMessage {
    enum Section { case answer, authority, additional }

    struct Record {
        let section: Section
        /// Lower case, without the trailing dot.
        let name: String
        let type: UInt16
        let rrClass: UInt16
        /// RFC 2181 8: a TTL with the top bit set counts as 0.
        let ttl: UInt32
        let data: ArraySlice<UInt8>
    }

    static let classIN: UInt16 = 1

    let records: [Record]

    /// nil when the message is shorter than its header and counts say.
    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 12 else { return nil }
        func u16(_ at: Int) -> Int { Int(bytes[at]) << 8 | Int(bytes[at + 1]) }
        let questions = u16(4)
        let sections: [(Section, Int)] = [(.answer, u16(6)), (.authority, u16(8)), (.additional, u16(10))]
        var offset = 12
        for _ in 0..<questions {
            guard let (_, length) = DNSMessage.name(in: bytes, at: offset), offset + length + 4 <= bytes.count else { return nil }
            offset += length + 4
        }
        var records: [Record] = []
        for (section, count) in sections {
            for _ in 0..<count {
                guard let (name, length) = DNSMessage.name(in: bytes, at: offset) else { return nil }
                offset += length
                guard offset + 10 <= bytes.count else { return nil }
                let ttl = UInt32(u16(offset + 4)) << 16 | UInt32(u16(offset + 6))
                let dataLength = u16(offset + 8)
                guard offset + 10 + dataLength <= bytes.count else { return nil }
                records.append(Record(section: section, name: name, type: UInt16(u16(offset)),
                                      rrClass: UInt16(u16(offset + 2)), ttl: ttl > 0x7fff_ffff ? 0 : ttl,
                                      data: bytes[(offset + 10)..<(offset + 10 + dataLength)]))
                offset += 10 + dataLength
            }
        }
        self.records = records
    }

    /// The name at `offset` and the bytes it takes there (a compression pointer takes 2).
    private static func name(in bytes: [UInt8], at offset: Int) -> (String, Int)? {
        guard offset < bytes.count else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> (String, Int)? in
            var expanded: UnsafeMutablePointer<CChar>?
            var length = 0
            let base = buffer.baseAddress!
            guard ares_expand_name(base + offset, base, Int32(buffer.count), &expanded, &length) == ARES_SUCCESS,
                  let expanded else { return nil }
            defer { ares_free_string(expanded) }
            return (normalizedName(String(cString: expanded)), length)
        }
    }
}
