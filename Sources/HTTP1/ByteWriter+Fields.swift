/// What the HTTP/1.1 rewriters write beyond plain bytes: field values, field lines kept by a
/// filter, Content-Length in canonical form.
extension ByteWriter {
    /// The value of field `f` of `source`.
    @inline(__always)
    mutating func writeValue(_ source: UnsafeRawBufferPointer, _ f: HeaderField) {
        write(source, Int(f.valueStart), Int(f.valueEnd))
    }

    /// Copies the field lines of `headers` that `filter` keeps verbatim, in runs of adjacent lines.
    /// A field line spans from its name to the next one's name; the last ends before the head's final CRLF.
    /// Content-Length lines not in canonical form (several lines, a list, leading zeros) are replaced by
    /// one "Content-Length: n" line after the others, so the next hop cannot read them differently.
    mutating func writeFields(_ source: UnsafeRawBufferPointer, _ headers: HeaderTable, headLength: Int, filter: FieldFilter) {
        let canonical = filter.dropFraming ? -1 : Self.canonicalContentLength(source, headers)
        var runStart = -1
        for i in 0..<headers.count {
            let f = headers.fields[i]
            if filter.keeps(f, source) && !(canonical >= 0 && f.known == .contentLength) {
                if runStart < 0 { runStart = Int(f.nameStart) }
            } else if runStart >= 0 {
                write(source, runStart, Int(f.nameStart))
                runStart = -1
            }
        }
        if runStart >= 0 { write(source, runStart, headLength - 2) }
        if canonical >= 0 {
            write("Content-Length: ")
            write(canonical, radix: 10)
            write("\r\n")
        }
    }

    /// The body length when the Content-Length lines must be replaced by one line in plain decimal:
    /// there are several, or one is a list or has leading zeros. -1 when they pass as they are.
    static func canonicalContentLength(_ source: UnsafeRawBufferPointer, _ headers: HeaderTable) -> Int {
        var first = -1
        for i in 0..<headers.count where headers.fields[i].known == .contentLength {
            if first >= 0 { return FieldRules.contentLength(source, headers.fields[first]) ?? -1 }
            first = i
        }
        guard first >= 0 else { return -1 }
        let f = headers.fields[first]
        let start = Int(f.valueStart)
        let end = Int(f.valueEnd)
        var j = start
        while j < end && Bytes.isDigit(source[j]) { j += 1 }
        if j == end && (end - start == 1 || source[start] != 0x30) { return -1 }
        // The parser accepted the lines, so they hold one number.
        return FieldRules.contentLength(source, f) ?? -1
    }

    /// End of the start line: where the first field line begins, or the head's final CRLF.
    @inline(__always)
    static func startLineEnd(_ headers: HeaderTable, headLength: Int) -> Int {
        headers.count > 0 ? Int(headers.fields[0].nameStart) : headLength - 2
    }
}
