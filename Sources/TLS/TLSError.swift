import COpenSSL
import Glibc

/// A TLS setup problem worded for an operator: the file at fault and, where it helps, OpenSSL's
/// reasons (e.g. "invalid certificate /etc/sluice/site.crt: no start line").
public struct TLSError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    /// `message` followed by the first reason in this thread's OpenSSL error queue (the root
    /// cause; later entries only name the layers it went through), emptying the queue.
    static func openSSL(_ message: String) -> TLSError {
        let first = ERR_get_error()
        ERR_clear_error()
        guard first != 0 else { return TLSError(message) }
        return TLSError(message + ": " + (ERR_reason_error_string(first).map { String(cString: $0) } ?? "error \(first)"))
    }

    /// Fails with "cannot read PATH: reason" unless `path` can be opened for reading. OpenSSL's own
    /// wording for a missing file is obscure, so this is checked first.
    static func checkReadable(_ path: String) throws(TLSError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TLSError("cannot read \(path): \(String(cString: strerror(errno)))") }
        close(fd)
    }
}
