import HTTP1

/// Reading a health check's answer with the same strict parser as any upstream response.
enum HealthCheckResponse {
    /// The largest answer head a check waits for.
    static let maxHead = 8192

    enum Verdict: Equatable {
        /// The head is not complete yet.
        case incomplete
        case status(Int)
        case malformed(String)
    }

    static func verdict(_ bytes: UnsafeRawBufferPointer, headers: HeaderTable) -> Verdict {
        guard let end = HeadScanner.headEnd(in: bytes, searchFrom: 0) else {
            return bytes.count >= maxHead ? .malformed("response head larger than \(maxHead) bytes") : .incomplete
        }
        do {
            return .status(try ResponseParser.parse(bytes, headLength: end, requestMethod: .get, headers: headers).status)
        } catch {
            return .malformed("malformed response: \(error.reason)")
        }
    }
}
