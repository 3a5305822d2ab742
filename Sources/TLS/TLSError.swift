import COpenSSL
import Glibc

/// A TLS setup problem worded for an operator: the file at fault and, where it helps, OpenSSL's
/// reasons (e.g. "invalid certificate /etc/sluice/site.crt: no start line").
public struct TLSError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    /// `message` followed by the reasons in this thread's OpenSSL error queue, which it empties.
    static func openSSL(_ message: String) -> TLSError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            let reason = ERR_reason_error_string(code).map { String(cString: $0) } ?? "error \(code)"
            if !reasons.contains(reason) { reasons.append(reason) }
        }
        return TLSError(reasons.isEmpty ? message : message + ": " + reasons.joined(separator: ", "))
    }

    /// Fails with "cannot read PATH: reason" unless `path` can be opened for reading. OpenSSL's own
    /// wording for a missing file is obscure, so this is checked first.
    static func checkReadable(_ path: String) throws(TLSError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TLSError("cannot read \(path): \(String(cString: strerror(errno)))") }
        close(fd)
    }
}
