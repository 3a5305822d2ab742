/// Finds where a head ends in bytes that are still arriving.
public enum HeadScanner {
    /// Index just past the first CRLFCRLF in buffer, searching from `searchFrom` (the caller passes
    /// max(0, previousCount - 3) to avoid rescanning). nil if not found.
    /// A bare LF or bare CR also ends the search (just past it): such a head can never end well,
    /// and the parser then rejects it with 400 at once instead of waiting for a timeout.
    #if !DEBUG
    @_noAllocation  // checked by the compiler in optimized builds
    #endif
    public static func headEnd(in buffer: UnsafeRawBufferPointer, searchFrom: Int) -> Int? {
        let n = buffer.count
        var i = max(0, searchFrom)
        while i < n {
            if i + 8 <= n {
                // Straight to the next byte at or below CR, eight bytes at a time.
                let flagged = Bytes.bytesBelow(Bytes.word(buffer, i), CR + 1)
                if flagged == 0 {
                    i += 8
                    continue
                }
                i += Bytes.firstFlagged(flagged)
            }
            let b = buffer[i]
            if b > CR {
                i += 1
                continue
            }
            if b == LF {
                if i == 0 || buffer[i - 1] != CR { return i + 1 }
                if i >= 3 && buffer[i - 2] == LF && buffer[i - 3] == CR { return i + 1 }
            } else if b == CR && i + 1 < n && buffer[i + 1] != LF {
                return i + 1
            }
            i += 1
        }
        return nil
    }

    /// Status for a head that has reached `maxHeadSize` without its end: 414 when the request line
    /// itself is not complete yet, else 431.
    public static func oversizeError(_ buffer: UnsafeRawBufferPointer) -> HTTPError {
        for b in buffer where b == LF {
            return HTTPError(status: 431, reason: "request header fields too large")
        }
        return HTTPError(status: 414, reason: "request line too long")
    }

    /// Bytes of empty lines (CRLF pairs) before a request line, which RFC 9112 2.2 says to ignore;
    /// the caller drops them before looking for the head's end.
    public static func leadingEmptyLines(in buffer: UnsafeRawBufferPointer) -> Int {
        var i = 0
        while i + 1 < buffer.count && buffer[i] == CR && buffer[i + 1] == LF {
            i += 2
        }
        return i
    }
}
