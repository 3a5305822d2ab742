import Config

/// A listening socket shared by the workers, with the text of its port for X-Forwarded-Port.
struct Listener {
    let fd: Int32
    let frontend: Int
    let https: Bool
    let address: ListenAddress
    let portText: UnsafeRawBufferPointer

    init(fd: Int32, frontend: Int, address: ListenAddress) {
        self.fd = fd
        self.frontend = frontend
        self.address = address
        https = address.tls
        let text = Array(String(address.port).utf8)
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: text.count, alignment: 1)
        storage.copyBytes(from: text)
        portText = UnsafeRawBufferPointer(storage)
    }
}
