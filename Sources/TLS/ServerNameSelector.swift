/// Chooses a certificate for a TLS server name (SNI) among the DNS names of each certificate.
/// An exact name wins over a wildcard; among equals the earlier certificate wins; no match (or no
/// SNI) selects certificate 0, the default. `*.example.com` matches exactly one extra label.
/// Names compare ASCII case-insensitively, without allocating (this runs in every handshake).
struct ServerNameSelector {
    /// Lowercased exact names, with the index of their certificate.
    private var exact: [(name: [UInt8], index: Int)] = []
    /// Lowercased wildcard suffixes including the leading dot (".example.com"), with their index.
    private var wildcards: [(suffix: [UInt8], index: Int)] = []

    /// `names[i]` are the DNS names of certificate i.
    init(names: [[String]]) {
        for (index, list) in names.enumerated() {
            for name in list {
                let bytes = Array(name.lowercased().utf8)
                if bytes.count > 2 && bytes[0] == UInt8(ascii: "*") && bytes[1] == UInt8(ascii: ".") {
                    wildcards.append((Array(bytes.dropFirst()), index))
                } else {
                    exact.append((bytes, index))
                }
            }
        }
    }

    func index(for serverName: UnsafeBufferPointer<UInt8>) -> Int {
        for entry in exact where Self.equalIgnoringCase(serverName[...], entry.name) {
            return entry.index
        }
        // The first label is everything before the first dot; it must not be empty.
        guard let dot = serverName.firstIndex(of: UInt8(ascii: ".")), dot > 0 else { return 0 }
        for entry in wildcards where Self.equalIgnoringCase(serverName[dot...], entry.suffix) {
            return entry.index
        }
        return 0
    }

    /// `lowercased` must already be lowercase.
    private static func equalIgnoringCase(_ name: Slice<UnsafeBufferPointer<UInt8>>, _ lowercased: [UInt8]) -> Bool {
        guard name.count == lowercased.count else { return false }
        for (a, b) in zip(name, lowercased) {
            let folded = a >= UInt8(ascii: "A") && a <= UInt8(ascii: "Z") ? a | 0x20 : a
            if folded != b { return false }
        }
        return true
    }
}
