/// Rewrites a chunked body in canonical form as it streams, in place in the caller's buffer. It
/// validates with ChunkedDecoder's own state machine, so it rejects the same bytes with the same
/// errors (400) and finds the body's end at the same byte.
///
/// `.canonical` (HTTP/1.1 to HTTP/1.1): every chunk-size line becomes the size in lowercase hex
/// without leading zeros and CRLF (extensions dropped); data and its CRLF pass; the last chunk is
/// "0\r\n"; trailer lines pass as they came, except those naming a field the proxy manages (framing,
/// routing, hop-by-hop, X-Forwarded-*, Forwarded: `KnownHeader.isProxyManaged`); then the final CRLF.
/// A body already in that form, without such trailer fields, comes out unchanged.
/// `.dechunk` (HTTP/1.1 to HTTP/2): only the data bytes are output. The kept trailer lines are
/// written after the output as "name:value\r\n" (name lowercased, value trimmed); read them with
/// `TrailerFields` once the body is complete.
///
/// The rewritten form is never longer than the bytes it replaces, so it is written over the input as
/// the input is read. A line (size line or trailer line) still incomplete when a call ends is held:
/// its raw bytes stay right after the output (in `.dechunk`, after the kept trailer lines, which are
/// held too until the body ends), and the next call must be given them again in front of the new bytes.
///
/// Calling sequence, for a buffer `buf` whose bytes [start, end) were received and not yet sent,
/// the first `ready` of them being forwarded (sending advances `start` and lowers `ready`); the
/// held bytes are buf[start + ready ..< start + ready + held]:
///
///     // n bytes arrived at buf[end ..< end + n]
///     let r = try transcoder.transcode(buf[start + ready ..< end + n])   // held bytes, then the new ones
///     end = start + ready + r.length      // the region shrank; the bytes being sent never move
///     ready += r.output                   // forward these, straight from buf
///     if transcoder.isComplete {
///         // .dechunk: buf[start + ready ..< start + ready + trailerLength] are the trailer lines
///         // (TrailerFields), not data: send them as trailers, then drop them.
///         // Then (both modes) come the bytes that followed the body, e.g. the next request.
///     }
///
/// `total` counts the body's wire bytes (for max_body_size). The buffer may be compacted between
/// calls (nothing here points into it). It must hold more than `maxHeld` bytes so that new bytes
/// always fit after the held ones. After a throw the region is undefined beyond what earlier calls
/// output; the body cannot go on.
public struct ChunkedTranscoder: Sendable {
    public enum Mode: Sendable {
        /// HTTP/1.1 to HTTP/1.1: canonical chunked framing.
        case canonical
        /// HTTP/1.1 to HTTP/2: the data bytes only; trailers written after them.
        case dechunk
    }

    /// The most bytes a call can hold (a trailer section).
    public static let maxHeld = ChunkedDecoder.maxTrailerSection

    public let mode: Mode
    var decoder = ChunkedDecoder()
    /// Raw bytes of the line still incomplete when the last call ended.
    var heldLine = 0
    /// `.dechunk`: bytes of the kept trailer lines written so far.
    var keptTrailers = 0
    /// Body bytes seen so far, as they came on the wire (for max_body_size).
    public private(set) var total = 0

    public init(mode: Mode) {
        self.mode = mode
    }

    public var isComplete: Bool { decoder.isComplete }

    /// Bytes the last call left right after its output, which the next call must be given first.
    public var held: Int { isComplete ? 0 : heldLine + keptTrailers }

    /// `.dechunk`, once complete: the bytes of the kept trailer lines right after the last output.
    public var trailerLength: Int { isComplete ? keptTrailers : 0 }

    /// `region` = the bytes held by the previous call, then newly arrived bytes. Rewrites it in place
    /// and returns `output`: region[0..<output] is ready to forward; and `length`: the region's bytes
    /// now end there. Between them lie the held bytes, or once complete the trailer lines (.dechunk)
    /// then the bytes that followed the body, moved down. Once complete, a call takes nothing:
    /// it returns (0, region.count).
    #if !DEBUG
    @_noAllocation  // checked by the compiler in optimized builds
    #endif
    public mutating func transcode(_ region: UnsafeMutableRawBufferPointer) throws(HTTPError) -> (output: Int, length: Int) {
        let n = region.count
        let heldBefore = held
        precondition(n >= heldBefore, "the region must start with the held bytes")
        guard let base = region.baseAddress, !decoder.isComplete else { return (0, n) }
        let p = UnsafeRawBufferPointer(region)
        let canonical = mode == .canonical
        // Written so far: region[0..<w]. In the trailer section of .dechunk, the data ends at dataEnd
        // and the kept trailer lines follow it.
        var w = keptTrailers
        var dataEnd = 0
        var lineStart = heldLine > 0 ? w : -1
        var r = heldBefore
        while r < n && !decoder.isComplete {
            if decoder.state == .data {
                let take = decoder.takeData(n - r)
                Self.move(base, from: r, to: w, take)
                w += take
                r += take
                continue
            }
            let state = decoder.state
            if state == .sizeStart || state == .trailerLineStart { lineStart = r }
            let b = p[r]
            try decoder.step(b)
            r += 1
            switch state {
            case .dataCR, .dataLF:
                if canonical {
                    base.storeBytes(of: b, toByteOffset: w, as: UInt8.self)
                    w += 1
                }
            case .sizeLF:
                if canonical { w = Self.writeSizeLine(base, at: w, size: decoder.state == .data ? decoder.remaining : 0) }
                dataEnd = w
                lineStart = -1
            case .trailerLF:
                w = endTrailerLine(p, base, from: lineStart, to: r, at: w)
                lineStart = -1
            case .finalLF:
                if canonical {
                    base.storeBytes(of: CR, toByteOffset: w, as: UInt8.self)
                    base.storeBytes(of: LF, toByteOffset: w + 1, as: UInt8.self)
                    w += 2
                }
            default:
                break
            }
        }
        total += r - heldBefore
        if decoder.isComplete {
            heldLine = 0
            keptTrailers = canonical ? 0 : w - dataEnd
            Self.move(base, from: r, to: w, n - r)
            return (canonical ? w : dataEnd, w + n - r)
        }
        heldLine = lineStart >= 0 ? n - lineStart : 0
        Self.move(base, from: lineStart, to: w, heldLine)
        guard !canonical && decoder.inTrailers else { return (w, w + heldLine) }
        keptTrailers = w - dataEnd
        return (dataEnd, w + heldLine)
    }

    /// Writes "<size in lowercase hex>\r\n" at `w`; returns the index after it.
    @inline(__always)
    static func writeSizeLine(_ base: UnsafeMutableRawPointer, at w: Int, size: Int) -> Int {
        let digits = max(1, (Int.bitWidth - size.leadingZeroBitCount + 3) / 4)
        var i = 0
        while i < digits {
            let nibble = UInt8(truncatingIfNeeded: size >> (4 * (digits - 1 - i))) & 0xF
            base.storeBytes(of: nibble < 10 ? 0x30 + nibble : 0x57 + nibble, toByteOffset: w + i, as: UInt8.self)
            i += 1
        }
        base.storeBytes(of: CR, toByteOffset: w + digits, as: UInt8.self)
        base.storeBytes(of: LF, toByteOffset: w + digits + 1, as: UInt8.self)
        return w + digits + 2
    }

    /// memmove of `count` bytes within the region.
    @inline(__always)
    static func move(_ base: UnsafeMutableRawPointer, from: Int, to: Int, _ count: Int) {
        if count > 0 && from != to { (base + to).copyMemory(from: base + from, byteCount: count) }
    }
}
