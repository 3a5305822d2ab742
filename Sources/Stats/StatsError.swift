import Glibc

/// Why the shared stats region could not be set up.
public enum StatsError: Error, CustomStringConvertible {
    case mapFailed(bytes: Int, errno: Int32)

    public var description: String {
        switch self {
        case let .mapFailed(bytes, code):
            return "stats: cannot map \(bytes) bytes of shared memory: \(String(cString: strerror(code)))"
        }
    }
}
