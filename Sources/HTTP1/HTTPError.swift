/// Why a head or body was rejected: the status to answer with (502 for upstream faults) and a short
/// lowercase reason for logs. Carries a StaticString so throwing never allocates.
public struct HTTPError: Error, Equatable, CustomStringConvertible {
    public var status: Int
    public var reason: StaticString

    public init(status: Int, reason: StaticString) {
        self.status = status
        self.reason = reason
    }

    public static func == (a: HTTPError, b: HTTPError) -> Bool {
        guard a.status == b.status else { return false }
        return a.reason.withUTF8Buffer { x in
            b.reason.withUTF8Buffer { y in x.elementsEqual(y) }
        }
    }

    public var description: String { "\(status) \(reason)" }
}
