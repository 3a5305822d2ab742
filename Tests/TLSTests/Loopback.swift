import Glibc
import EventLoop
@testable import TLS

/// Two TLS ends over a non-blocking socketpair, driven by poll(2) as the event loop would drive them.
struct Loopback {
    let serverFD: Int32
    let clientFD: Int32
    let server: TLSConnection
    let client: TLSConnection

    /// `makeClient` receives the client's descriptor (for raw OpenSSL clients).
    init(server context: TLSServerContext, client makeClient: (Int32) -> TLSConnection?) {
        var fds: [Int32] = [0, 0]
        let made = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds)
        precondition(made == 0, "socketpair: \(errno)")
        serverFD = fds[0]
        clientFD = fds[1]
        server = TLSConnection.accept(fd: serverFD, context: context)!
        client = makeClient(clientFD)!
    }

    init(server context: TLSServerContext, client: TLSClientContext) {
        self.init(server: context) { TLSConnection.connect(fd: $0, context: client) }
    }

    func close() {
        server.free()
        client.free()
        Glibc.close(serverFD)
        Glibc.close(clientFD)
    }

    /// Runs both handshakes until each is done or failed. A side still waiting when nothing moves
    /// for two seconds is a hang, reported as its last step.
    func handshake() -> (server: TLSStep, client: TLSStep) {
        var serverStep = TLSStep.wantRead
        var clientStep = TLSStep.wantWrite
        func finished(_ step: TLSStep) -> Bool { step == .done || step == .failed }
        while true {
            if !finished(clientStep) { clientStep = client.handshake() }
            if !finished(serverStep) { serverStep = server.handshake() }
            if finished(serverStep) && finished(clientStep) { break }
            let waiting = [(serverFD, serverStep), (clientFD, clientStep)].filter { !finished($0.1) }
            guard wait(waiting.map { ($0.0, $0.1 == .wantWrite) }) else { break }
        }
        return (serverStep, clientStep)
    }

    /// Sends `bytes` from one end while the other reads them back, both non-blocking; nil on an
    /// error, an early EOF or a stall.
    func transfer(_ bytes: [UInt8], fromServer: Bool) -> [UInt8]? {
        let (writer, writerFD, reader, readerFD) = fromServer
            ? (server, serverFD, client, clientFD) : (client, clientFD, server, serverFD)
        var sent = 0
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while received.count < bytes.count {
            var writerWants: Bool?
            if sent < bytes.count {
                switch bytes[sent...].withUnsafeBytes({ writer.write($0) }) {
                case .bytes(let n): sent += n
                case .wouldBlock: writerWants = writer.wantsWrite
                case .endOfFile, .failed: return nil
                }
            }
            var readerWants: Bool?
            // Drain what OpenSSL has buffered too: no new readiness edge will announce it.
            repeat {
                switch buffer.withUnsafeMutableBytes({ reader.read($0.baseAddress!, $0.count) }) {
                case .bytes(let n): received += buffer[..<n]
                case .wouldBlock: readerWants = reader.wantsWrite
                case .endOfFile, .failed: return nil
                }
            } while readerWants == nil && received.count < bytes.count
            if received.count == bytes.count { break }
            // The writer can still go on: no waiting, or the reader would wait for nothing.
            if sent < bytes.count && writerWants == nil { continue }
            var waits: [(Int32, Bool)] = []
            if let w = writerWants { waits.append((writerFD, w)) }
            if let r = readerWants { waits.append((readerFD, r)) }
            if !wait(waits) { return nil }
        }
        return received
    }

    /// poll(2) for readability (or writability) of each descriptor; false after two idle seconds.
    private func wait(_ descriptors: [(fd: Int32, writable: Bool)]) -> Bool {
        var fds = descriptors.map {
            pollfd(fd: $0.fd, events: Int16($0.writable ? POLLOUT : POLLIN), revents: 0)
        }
        return poll(&fds, nfds_t(fds.count), 2000) > 0
    }
}
