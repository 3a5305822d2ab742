import CAres

/// Answers turned into records: c-ares' parsers where they give what is needed, `DNSMessage` for
/// the rest (see there).
enum ReplyParsing {
    /// The A (`v6` false) or AAAA records of an answer with their TTLs (for a CNAME chain c-ares
    /// gives the smallest TTL along it).
    static func addresses(_ answer: [UInt8], v6: Bool) -> Result<[AddressRecord], DNSFailure> {
        // Room for every answer record; c-ares fills at most this many.
        let capacity = answer.count >= 8 ? max(1, Int(answer[6]) << 8 | Int(answer[7])) : 1
        var count = Int32(capacity)
        var records: [AddressRecord] = []
        let status: Int32
        if v6 {
            var found = [ares_addr6ttl](repeating: ares_addr6ttl(), count: capacity)
            status = ares_parse_aaaa_reply(answer, Int32(answer.count), nil, &found, &count)
            records = found.prefix(Int(max(count, 0))).map {
                AddressRecord(ip: withUnsafeBytes(of: $0.ip6addr) { Array($0) }, ttl: UInt32(max($0.ttl, 0)))
            }
        } else {
            var found = [ares_addrttl](repeating: ares_addrttl(), count: capacity)
            status = ares_parse_a_reply(answer, Int32(answer.count), nil, &found, &count)
            records = found.prefix(Int(max(count, 0))).map {
                AddressRecord(ip: withUnsafeBytes(of: $0.ipaddr) { Array($0) }, ttl: UInt32(max($0.ttl, 0)))
            }
        }
        if status != ARES_SUCCESS { return .failure(DNSFailure(aresStatus: status)) }
        return records.isEmpty ? .failure(.noData) : .success(records)
    }

    /// An SRV answer: its records (targets lower case, no trailing dot, "" for RFC 2782's "."),
    /// still without addresses; the RRset's TTL; and the A/AAAA records of the additional
    /// section by owner name.
    struct SRVReply {
        var records: [SRVRecord]
        var ttl: UInt32
        var additional: [String: [AddressRecord]]
    }

    static func srv(_ answer: [UInt8]) -> Result<SRVReply, DNSFailure> {
        var list: UnsafeMutablePointer<ares_srv_reply>?
        let status = ares_parse_srv_reply(answer, Int32(answer.count), &list)
        guard status == ARES_SUCCESS else { return .failure(DNSFailure(aresStatus: status)) }
        defer { ares_free_data(list) }
        var records: [SRVRecord] = []
        var next = list
        while let r = next {
            records.append(SRVRecord(target: normalizedName(String(cString: r.pointee.host)), port: r.pointee.port,
                                     weight: r.pointee.weight, priority: r.pointee.priority, addresses: []))
            next = r.pointee.next
        }
        guard let message = DNSMessage(answer) else { return .failure(.badResponse) }
        let inClass = message.records.filter { $0.rrClass == DNSMessage.classIN }
        let srvTTL = inClass.filter { $0.section == .answer && $0.type == UInt16(Resolver.RecordType.srv.rawValue) }
            .map(\.ttl).min()
        var additional: [String: [AddressRecord]] = [:]
        for r in inClass where r.section == .additional {
            let isA = r.type == UInt16(Resolver.RecordType.a.rawValue) && r.data.count == 4
            let isAAAA = r.type == UInt16(Resolver.RecordType.aaaa.rawValue) && r.data.count == 16
            if isA || isAAAA { additional[r.name, default: []].append(AddressRecord(ip: Array(r.data), ttl: r.ttl)) }
        }
        return .success(SRVReply(records: records, ttl: srvTTL ?? 0, additional: additional))
    }
}
