import DataPath
import EventLoop
import Glibc
import Stats

/// The runtime control's effect: the shared words every worker reads, and the master's record of
/// who asked (shown in /stats and the HTML page).
extension Master {
    func control(method: String, path: String, body: [UInt8], peer: String) -> RuntimeControl.Reply {
        RuntimeControl.answer(method: method, path: path, body: body, admin: config.stats?.admin ?? false,
                              find: { backend, address in
                                  runtime.backends.first { $0.config.name == backend }?.servers.first {
                                      $0.name == address || $0.address.description == address
                                  }
                              },
                              apply: { server, backend, change in
                                  apply(change, to: server, backend: backend, peer: peer)
                              })
    }

    private func apply(_ change: RuntimeControl.Change, to server: UpstreamServer, backend: String, peer: String) {
        switch change {
        case .state(let state):
            let before = server.shared.adminState
            server.shared.adminState = state
            // Back in service: slow start ramps from here.
            if state == .normal && before != .normal { server.shared.upSince = Clock.nowMs() }
        case .weight(let n):
            server.shared.adminWeight = n
        }
        adminChanges[Master.adminKey(backend, server.name)] = AdminChange(by: peer, at: Double(time(nil)), action: change.action)
        logger.info("runtime control from \(peer): server \(server.name) of backend \(backend): \(change.action)")
    }

    static func adminKey(_ backend: String, _ server: String) -> String {
        backend + "\u{0}" + server
    }
}
