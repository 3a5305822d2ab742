extension DNSResponder {
    /// The response to one query; nil for a malformed or silenced one. A name without any record
    /// is NXDOMAIN; a UDP response beyond 512 bytes is cut to its header and question with TC set,
    /// so that the resolver asks again over TCP (RFC 1035 4.2.1).
    func respond(to query: [UInt8], tcp: Bool) -> [UInt8]? {
        guard query.count > 12 else { return nil }
        var offset = 12
        var labels: [String] = []
        while offset < query.count, query[offset] != 0 {
            let length = Int(query[offset])
            guard offset + 1 + length < query.count else { return nil }
            labels.append(String(decoding: query[(offset + 1)...(offset + length)], as: UTF8.self))
            offset += 1 + length
        }
        guard offset + 5 <= query.count else { return nil }
        let name = labels.joined(separator: ".").lowercased()
        let type = UInt16(query[offset + 1]) << 8 | UInt16(query[offset + 2])
        let question = Array(query[12..<(offset + 5)])
        queries.append((name, type, tcp))
        if silent.contains(name) { return nil }
        let id = UInt16(query[0]) << 8 | UInt16(query[1])
        let rd = query[2] & 0x01 != 0
        if let rcode = rcodes[name] {
            return DNSWire.response(id: id, recursionDesired: rd, rcode: rcode, question: question, answers: [])
        }
        guard records.contains(where: { $0.name == name }) else {
            return DNSWire.response(id: id, recursionDesired: rd, rcode: DNSResponder.nxdomain, question: question, answers: [])
        }
        let answers = records.filter { $0.name == name && $0.type == type }
        var additional: [WireRecord] = []
        if type == WireRecord.typeSRV && additionalForSRV {
            let targets = Set(answers.map { DNSResponder.srvTarget($0.data) })
            additional = records.filter { targets.contains($0.name) && ($0.type == WireRecord.typeA || $0.type == WireRecord.typeAAAA) }
        }
        let full = DNSWire.response(id: id, recursionDesired: rd, rcode: 0, question: question, answers: answers, additional: additional)
        guard !tcp && full.count > 512 else { return full }
        var truncated = DNSWire.response(id: id, recursionDesired: rd, rcode: 0, question: question, answers: [])
        truncated[2] |= 0x02
        return truncated
    }

    /// The target of SRV record data as the tests encode it (uncompressed, after 6 bytes).
    private static func srvTarget(_ data: [UInt8]) -> String {
        var labels: [String] = []
        var offset = 6
        while offset < data.count, data[offset] != 0 {
            let length = Int(data[offset])
            labels.append(String(decoding: data[(offset + 1)...(offset + length)], as: UTF8.self))
            offset += 1 + length
        }
        return labels.joined(separator: ".")
    }
}
