import DataPath
import Stats

/// Runtime control of servers on the stats listener (SPEC §7): `POST /servers/BACKEND/ADDRESS/state`
/// with `drain`, `disable` or `enable`, and `POST /servers/BACKEND/ADDRESS/weight` with a number.
/// The state and weight go to the server's shared words, where every worker reads them and where
/// they outlive workers and reloads (the slot belongs to the backend's name and the address).
/// Pure apart from those words: the caller passes the servers, the peer and the time.
struct RuntimeControl {
    /// A reply: status line and JSON body.
    struct Reply: Equatable {
        let status: Int
        let body: String
    }

    /// Whether a path belongs to the runtime control (its requests never fall through to 404 as
    /// an unknown stats page).
    static func handles(_ path: String) -> Bool {
        path.hasPrefix("/servers/")
    }

    /// Answers one request. `find` looks a server up by backend name and address.
    static func answer(method: String, path: String, body: [UInt8], admin: Bool,
                       find: (String, String) -> UpstreamServer?,
                       apply: (UpstreamServer, String, Change) -> Void) -> Reply {
        guard admin else { return error(403, "runtime control is off: add `admin on;` to the stats block") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst(2).map(String.init)
        guard parts.count == 3, let backend = percentDecoded(parts[0]), let address = percentDecoded(parts[1]),
              parts[2] == "state" || parts[2] == "weight" else {
            return error(404, "no such control: use /servers/BACKEND/ADDRESS/state or /servers/BACKEND/ADDRESS/weight")
        }
        guard method == "POST" else { return error(405, "use POST") }
        guard let server = find(backend, address) else {
            return error(404, "no server \(address) in backend \(backend)")
        }
        let word = String(decoding: body, as: UTF8.self).trimmingWhitespace
        let change: Change
        if parts[2] == "state" {
            switch word {
            case "drain": change = .state(.drain)
            case "disable": change = .state(.disabled)
            case "enable": change = .state(.normal)
            default: return error(400, "the body must be drain, disable or enable, not \"\(word.prefix(40))\"")
            }
        } else {
            guard let n = Int(word), (1...256).contains(n) else {
                return error(400, "the body must be a weight from 1 to 256 (drain stops new requests), not \"\(word.prefix(40))\"")
            }
            change = .weight(n)
        }
        apply(server, backend, change)
        return Reply(status: 200, body: "{\"backend\": \(json(backend)), \"server\": \(json(address)), "
            + "\"admin_state\": \(json(adminWord(server.shared.adminState))), \"weight\": \(server.weight)}\n")
    }

    enum Change {
        case state(SharedServerState.AdminState)
        case weight(Int)

        var action: String {
            switch self {
            case .state(let s): return RuntimeControl.adminWord(s)
            case .weight(let n): return "weight \(n)"
            }
        }
    }

    /// The word /stats shows for an admin state: the body that sets it.
    static func adminWord(_ state: SharedServerState.AdminState) -> String {
        switch state {
        case .normal: return "enable"
        case .drain: return "drain"
        case .disabled: return "disable"
        }
    }

    private static func error(_ status: Int, _ message: String) -> Reply {
        Reply(status: status, body: "{\"error\": \(json(message))}\n")
    }

    /// `%XX` escapes decoded (an IPv6 address arrives as `%5B::1%5D:9001`); nil when malformed.
    static func percentDecoded(_ text: String) -> String? {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let b = bytes.popFirst() {
            guard b == UInt8(ascii: "%") else { out.append(b); continue }
            guard bytes.count >= 2, let hi = hexValue(bytes.popFirst()!), let lo = hexValue(bytes.popFirst()!) else { return nil }
            out.append(hi << 4 | lo)
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func json(_ text: String) -> String { StatsRenderer.jsonString(text) }
}

extension String {
    var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
