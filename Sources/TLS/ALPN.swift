import COpenSSL

/// Application-Layer Protocol Negotiation: sluice speaks only HTTP/1.1.
enum ALPN {
    /// The wire form of the protocol list `[http/1.1]` (length-prefixed names).
    static let http11: [UInt8] = [8] + Array("http/1.1".utf8)

    /// The offset of the "http/1.1" name inside a client's wire-form protocol list, nil when the
    /// list does not offer it or is malformed.
    static func http11Offset(in list: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        while i < list.count {
            let length = Int(list[i])
            let start = i + 1
            guard length > 0, start + length <= list.count else { return nil }
            if length == 8 && list[start..<start + length].elementsEqual(http11.dropFirst()) {
                return start
            }
            i = start + length
        }
        return nil
    }
}

/// The server's ALPN select callback: `http/1.1` when offered; otherwise the handshake fails with
/// a fatal no_application_protocol alert (a client offering only h2 must not be left hanging).
/// Not called when the client offers no ALPN at all.
let selectHTTP11: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
    guard let offered, let out, let outLength,
          let offset = ALPN.http11Offset(in: UnsafeBufferPointer(start: offered, count: Int(offeredLength)))
    else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    out.pointee = offered + offset
    outLength.pointee = 8
    return SSL_TLSEXT_ERR_OK
}
