import Foundation

/// Test certificates made with the openssl CLI in a temporary directory:
/// - ca: the root the tests trust; other-ca: a root nobody trusts (for verification failures)
/// - site (RSA): localhost, IP 127.0.0.1, *.example.test — signed by ca
/// - other (EC): other.test — signed by ca
/// - chain (EC): chain.test — signed by an intermediate; chain.pem is the leaf then the intermediate
/// - cn-only.crt: CN cn-only.test without subjectAltName
/// - stray.key (RSA): matches no certificate; encrypted.key: needs a passphrase; garbage.crt: not PEM
final class TestPKI: Sendable {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "sluice-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.config.write(toFile: path("pki.cnf"), atomically: true, encoding: .utf8)
        try "not a certificate\n".write(toFile: path("garbage.crt"), atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        try root("ca", ec)
        try root("other-ca", ec)
        try leaf("inter", signer: "ca", extensions: "ca", key: ec)
        try leaf("site", signer: "ca", extensions: "site", key: ["-newkey", "rsa:2048"])
        try leaf("other", signer: "ca", extensions: "other", key: ec)
        try leaf("chain", signer: "inter", extensions: "chain", key: ec)
        try leaf("cn-only", signer: "ca", extensions: "cn_only", key: ec)
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path("stray.key")])
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256",
                     "-pass", "pass:secret", "-out", path("encrypted.key")])
        let chain = try String(contentsOfFile: path("chain.crt"), encoding: .utf8)
            + String(contentsOfFile: path("inter.crt"), encoding: .utf8)
        try chain.write(toFile: path("chain.pem"), atomically: true, encoding: .utf8)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    private func root(_ name: String, _ key: [String]) throws {
        try openssl(["req", "-x509", "-config", path("pki.cnf"), "-extensions", "ca"] + key
            + ["-nodes", "-keyout", path("\(name).key"), "-out", path("\(name).crt"), "-days", "30",
               "-subj", "/CN=\(name)"])
    }

    private func leaf(_ name: String, signer: String, extensions: String, key: [String]) throws {
        try openssl(["req", "-new", "-config", path("pki.cnf")] + key
            + ["-nodes", "-keyout", path("\(name).key"), "-subj", "/CN=\(name).test", "-out", path("\(name).csr")])
        try openssl(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(signer).crt"),
                     "-CAkey", path("\(signer).key"), "-CAcreateserial", "-days", "30",
                     "-extfile", path("pki.cnf"), "-extensions", extensions, "-out", path("\(name).crt")])
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OpenSSLFailed(command: "openssl " + arguments.joined(separator: " "))
        }
    }

    struct OpenSSLFailed: Error {
        let command: String
    }

    private static let config = """
        [req]
        distinguished_name = dn
        [dn]
        [ca]
        basicConstraints = critical, CA:TRUE
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash
        [site]
        subjectAltName = DNS:localhost, IP:127.0.0.1, DNS:*.example.test
        [other]
        subjectAltName = DNS:other.test
        [chain]
        subjectAltName = DNS:chain.test
        [cn_only]
        basicConstraints = CA:FALSE

        """
}
