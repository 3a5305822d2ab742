import COpenSSL

/// The names a server certificate answers to, as SNI selection sees them: its subjectAltName DNS
/// names, or its subject common name when it has none (RFC 6125 6.4.4).
enum CertificateNames {
    static func dnsNames(of certificate: OpaquePointer) -> [String] {
        let sans = subjectAltDNSNames(certificate)
        return sans.isEmpty ? commonName(certificate).map { [$0] } ?? [] : sans
    }

    private static func subjectAltDNSNames(_ certificate: OpaquePointer) -> [String] {
        guard let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) else { return [] }
        let stack = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(stack) }
        var names: [String] = []
        for i in 0..<OPENSSL_sk_num(stack) {
            let name = OPENSSL_sk_value(stack, i).assumingMemoryBound(to: GENERAL_NAME.self)
            if name.pointee.type == GEN_DNS, let text = string(name.pointee.d.dNSName) {
                names.append(text)
            }
        }
        return names
    }

    private static func commonName(_ certificate: OpaquePointer) -> String? {
        guard let subject = X509_get_subject_name(certificate) else { return nil }
        let position = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)
        guard position >= 0, let entry = X509_NAME_get_entry(subject, position) else { return nil }
        return string(X509_NAME_ENTRY_get_data(entry))
    }

    private static func string(_ asn1: UnsafePointer<ASN1_STRING>?) -> String? {
        guard let asn1, let data = ASN1_STRING_get0_data(asn1) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(asn1))), as: UTF8.self)
    }
}
