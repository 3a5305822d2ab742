import Config
import EventLoop
import ProxyProtocol

/// `server ... send_proxy=v1|v2`: a new upstream connection opens with a PROXY protocol header
/// naming the client and the address it connected to, before TLS and before any request. Such a
/// connection speaks for one client, so it is never pooled for another (`UpstreamTable.release`).
extension Exchange {
    func sendProxyHeader(_ version: ProxyProtocolVersion, on up: UpstreamConnection, for client: ClientConnection) -> Bool {
        let source = client.peerAddress
        let destination = client.destinationAddress
        return withUnsafeTemporaryAllocation(byteCount: ProxyHeaderWriter.maxV1Length, alignment: 8) { buffer in
            let written = version == .v1
                ? ProxyHeaderWriter.writeV1(source: source, destination: destination, into: buffer)
                : ProxyHeaderWriter.writeV2(source: source, destination: destination, into: buffer)
            guard let n = written else { return false }
            // A socket that has just connected has an empty send buffer: the whole header fits.
            let result = Syscall.write(up.endpoint.fd, UnsafeRawBufferPointer(rebasing: buffer[0..<n]),
                                       UnsafeRawBufferPointer(start: nil, count: 0))
            return result == .bytes(n)
        }
    }
}
