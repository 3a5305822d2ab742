import COpenSSL

/// Application-Layer Protocol Negotiation: `h2` (when the frontend speaks HTTP/2) over
/// `http/1.1`, whatever order the client lists them in.
enum ALPN {
    /// The wire form of the protocol list `[http/1.1]` (length-prefixed names), what sluice
    /// offers upstream servers.
    static let http11: [UInt8] = [8] + Array("http/1.1".utf8)
    static let h2: [UInt8] = [2] + Array("h2".utf8)

    /// The offset of protocol `name` (wire form) inside a client's wire-form list, nil when the
    /// list does not offer it or is malformed.
    static func offset(of name: [UInt8], in list: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        while i < list.count {
            let length = Int(list[i])
            let start = i + 1
            guard length > 0, start + length <= list.count else { return nil }
            if length == name.count - 1 && list[start..<start + length].elementsEqual(name.dropFirst()) {
                return start
            }
            i = start + length
        }
        return nil
    }

    /// The protocol to agree on: (offset in the client's list, length); nil when it offers
    /// nothing sluice speaks.
    static func choose(from list: UnsafeBufferPointer<UInt8>, http2: Bool) -> (Int, UInt8)? {
        if http2, let at = offset(of: h2, in: list) { return (at, 2) }
        return offset(of: http11, in: list).map { ($0, 8) }
    }
}

/// The server's ALPN select callbacks: a protocol sluice speaks when offered; otherwise the
/// handshake fails with a fatal no_application_protocol alert (a client offering only what it
/// cannot get must not be left hanging). Not called when the client offers no ALPN at all.
let selectHTTP11: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
    select(out, outLength, offered, offeredLength, http2: false)
}

let selectH2OrHTTP11: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
    select(out, outLength, offered, offeredLength, http2: true)
}

private func select(_ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ outLength: UnsafeMutablePointer<UInt8>?,
                    _ offered: UnsafePointer<UInt8>?, _ offeredLength: UInt32, http2: Bool) -> Int32 {
    guard let offered, let out, let outLength,
          let (offset, length) = ALPN.choose(from: UnsafeBufferPointer(start: offered, count: Int(offeredLength)), http2: http2)
    else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    out.pointee = offered + offset
    outLength.pointee = length
    return SSL_TLSEXT_ERR_OK
}
