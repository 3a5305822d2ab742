import COpenSSL
import EventLoop
import Glibc

/// The next thing a handshake needs.
public enum TLSStep: Equatable {
    case done, wantRead, wantWrite, failed
}

/// One TLS connection over a non-blocking socket (the SSL object reads and writes the descriptor
/// itself). A plain value holding the SSL*; the owner calls `free()` exactly once, and closes the
/// descriptor itself afterwards. Every I/O call starts with an empty OpenSSL error queue and reads
/// SSL_get_error right after, as OpenSSL requires.
public struct TLSConnection {
    let ssl: OpaquePointer

    init(ssl: OpaquePointer) {
        self.ssl = ssl
    }

    public static func accept(fd: Int32, context: TLSServerContext) -> TLSConnection? {
        guard let connection = make(fd: fd, context: context.contexts[0]) else { return nil }
        SSL_set_accept_state(connection.ssl)
        return connection
    }

    public static func connect(fd: Int32, context: TLSClientContext) -> TLSConnection? {
        guard let connection = make(fd: fd, context: context.context) else { return nil }
        if let name = context.serverName, sl_set_tlsext_host_name(connection.ssl, name) != 1 {
            connection.free()
            return nil
        }
        SSL_set_connect_state(connection.ssl)
        return connection
    }

    private static func make(fd: Int32, context: OpaquePointer) -> TLSConnection? {
        ERR_clear_error()
        guard let ssl = SSL_new(context) else { return nil }
        guard SSL_set_fd(ssl, fd) == 1 else {
            SSL_free(ssl)
            return nil
        }
        return TLSConnection(ssl: ssl)
    }

    public func handshake() -> TLSStep {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .done }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        default: return .failed
        }
    }

    /// SSL_read_ex. `.wouldBlock` when OpenSSL needs more input or must first write (see
    /// `wantsWrite`); `.endOfFile` on close_notify or a plain EOF; `.failed(errno or -1)` otherwise.
    public func read(_ pointer: UnsafeMutableRawPointer, _ count: Int) -> IOResult {
        ERR_clear_error()
        errno = 0
        var n = 0
        let result = SSL_read_ex(ssl, pointer, count, &n)
        let code = errno
        return result == 1 ? .bytes(n) : outcome(of: result, errno: code)
    }

    /// SSL_write_ex with partial writes: `.bytes(n)` may be fewer than offered. After a
    /// `.wouldBlock`, the next call must offer the same bytes again (from any address).
    public func write(_ bytes: UnsafeRawBufferPointer) -> IOResult {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .bytes(0) }
        ERR_clear_error()
        errno = 0
        var n = 0
        let result = SSL_write_ex(ssl, base, bytes.count, &n)
        let code = errno
        return result == 1 ? .bytes(n) : outcome(of: result, errno: code)
    }

    private func outcome(of result: Int32, errno code: Int32) -> IOResult {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wouldBlock
        case SSL_ERROR_ZERO_RETURN: return .endOfFile
        case SSL_ERROR_SYSCALL where code != 0: return .failed(code)
        default: return .failed(-1)
        }
    }

    /// After a `.wouldBlock` (or `.wantWrite`): true when OpenSSL waits for the socket to become writable.
    public var wantsWrite: Bool { SSL_want(ssl) == SSL_WRITING }

    /// Whether ALPN agreed on `h2`.
    public var negotiatedH2: Bool {
        var name: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &name, &length)
        return length == 2 && name?[0] == 0x68 && name?[1] == 0x32
    }

    /// The ALPN protocol agreed on, nil when none.
    public var negotiatedProtocol: String? {
        var name: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &name, &length)
        guard let name, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: name, count: Int(length)), as: UTF8.self)
    }

    /// "TLSv1.3", "TLSv1.2".
    public var version: String { String(cString: SSL_get_version(ssl)) }

    /// Sends close_notify once, best effort: a non-blocking socket may not take it, and the peer's
    /// close_notify is not waited for. Nothing is sent after a failed handshake or a fatal error
    /// (OpenSSL forbids it; both leave the connection "in init").
    public func shutdown() {
        guard SSL_is_init_finished(ssl) == 1 else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
    }

    public func free() {
        SSL_free(ssl)
    }
}
