/// Iterates the elements of a comma-separated field value (RFC 9110 5.6.1) as OWS-trimmed byte
/// ranges, skipping empty elements. Quoted strings are not special: use it only for lists whose
/// elements cannot contain them (or where a split inside one cannot make a wrong value look right).
struct ListElements {
    let p: UnsafeRawBufferPointer
    var pos: Int
    let end: Int

    init(_ p: UnsafeRawBufferPointer, _ field: HeaderField) {
        self.p = p
        pos = Int(field.valueStart)
        end = Int(field.valueEnd)
    }

    mutating func next() -> (start: Int, end: Int)? {
        while pos < end && (Bytes.isWhitespace(p[pos]) || p[pos] == COMMA) { pos += 1 }
        guard pos < end else { return nil }
        let start = pos
        var last = pos
        while pos < end && p[pos] != COMMA {
            if !Bytes.isWhitespace(p[pos]) { last = pos + 1 }
            pos += 1
        }
        return (start, last)
    }
}
