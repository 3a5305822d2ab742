import Config

/// A listened-on address: one SO_REUSEPORT socket per worker position (worker i of every
/// generation accepts on `group[i]`), with the text of its port for X-Forwarded-Port.
struct Listener {
    let group: [Int32]
    let frontend: Int
    let https: Bool
    let address: ListenAddress
    let portText: UnsafeRawBufferPointer

    init(group: [Int32], frontend: Int, address: ListenAddress) {
        self.group = group
        self.frontend = frontend
        self.address = address
        https = address.tls
        let text = Array(String(address.port).utf8)
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: text.count, alignment: 1)
        storage.copyBytes(from: text)
        portText = UnsafeRawBufferPointer(storage)
    }
}
