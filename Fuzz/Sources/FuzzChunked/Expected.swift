// What the transcoder must make of a body the reference read, built from the reference's record
// with nothing of the module: the canonical encoding, and the data and trailers for HTTP/2.
import FuzzSupport

/// Trailer names the proxy manages (framing, routing, hop-by-hop, forwarding), all dropped.
let managedNames: Set<String> = [
    "content-length", "transfer-encoding", "host", "trailer", "connection", "keep-alive", "proxy-connection", "te",
    "upgrade", "expect", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "forwarded",
]

extension Reference {
    var keptTrailers: [(name: Range<Int>, value: Range<Int>, line: Range<Int>)] {
        trailers.filter { !managedNames.contains(lowercased(p[$0.name])) }
    }

    /// Sizes in lowercase hex without leading zeros, no extensions, kept trailer lines as they came.
    var canonical: [UInt8] {
        var out: [UInt8] = []
        for c in chunks {
            out += Array(String(c.count, radix: 16).utf8) + [13, 10] + p[c] + [13, 10]
        }
        out += Array("0\r\n".utf8)
        for t in keptTrailers { out += p[t.line] }
        return out + [13, 10]
    }

    var data: [UInt8] { chunks.flatMap { p[$0] } }

    /// The kept trailer fields as (lowercase name, value without surrounding whitespace).
    var keptFields: [(name: [UInt8], value: [UInt8])] {
        keptTrailers.map { t in
            var value = p[t.value]
            while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
            while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
            return (Array(lowercased(p[t.name]).utf8), Array(value))
        }
    }

    /// The kept trailer fields as a `.dechunk` transcoder writes them: "name:value\r\n".
    var dechunkedTrailers: [UInt8] {
        keptFields.flatMap { $0.name + [0x3A] + $0.value + [13, 10] }
    }
}
