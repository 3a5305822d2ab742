// Chunked bodies: the streaming decoder fed all bytes at once, one byte at a time, and in pieces
// derived from the input must agree on the bytes consumed, completion and the error; and all must
// agree with a plain whole-buffer reading of RFC 9112 7.1 written here (`Reference`), down to the
// byte at which a bad body is rejected. The transcoder, in both modes and fed the same ways, must
// give the decoder's verdict and the same output however the bytes arrive: the canonical encoding
// of what the reference read (which decodes to the same data and kept trailers, and comes out of
// the transcoder unchanged), or the data and kept trailer fields.
import FuzzSupport
import HTTP1

enum Outcome: Equatable, CustomStringConvertible {
    /// The body ended after this many bytes.
    case complete(Int)
    /// All bytes belong to a body that has not ended yet.
    case incomplete
    /// Rejected at this byte (0-based) with this error.
    case failed(Int, HTTPError)
    /// Rejected, position unknown (a single consume call).
    case failedSomewhere(HTTPError)

    var description: String {
        switch self {
        case .complete(let n): return "complete after \(n)"
        case .incomplete: return "incomplete"
        case .failed(let at, let e): return "\(e) at \(at)"
        case .failedSomewhere(let e): return "\(e)"
        }
    }

    /// Equal, reading a position-less failure as matching a failure anywhere with the same error.
    func agrees(with other: Outcome) -> Bool {
        switch (self, other) {
        case (.failedSomewhere(let a), .failed(_, let b)), (.failed(_, let a), .failedSomewhere(let b)):
            return a == b
        default:
            return self == other
        }
    }
}

/// One byte, reused for every single-byte piece (a fresh block per byte is slow under ASan).
nonisolated(unsafe) let oneByte = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)

/// Feeds `bytes` in pieces ending at `ends`, each piece in a heap block of exactly its size.
func feed(_ bytes: UnsafeRawBufferPointer, ends: [Int]) -> Outcome {
    var decoder = ChunkedDecoder()
    var at = 0
    for end in ends {
        let single = end - at == 1
        let piece = single ? oneByte : exactCopy(bytes, at, end - at)
        if single { piece[0] = bytes[at] }
        defer { if !single { piece.deallocate() } }
        do {
            let n = try decoder.consume(UnsafeRawBufferPointer(piece))
            require(n >= 0 && n <= end - at, "consume returned \(n) of \(end - at)")
            if decoder.isComplete {
                // Later bytes are not the body's: a complete decoder takes none of them.
                let more = try decoder.consume(UnsafeRawBufferPointer(rebasing: bytes[(at + n)...]))
                require(more == 0 && decoder.isComplete, "a complete decoder consumed \(more) more bytes")
                return .complete(at + n)
            }
            require(n == end - at, "consume stopped at \(n) of \(end - at) without completing")
        } catch {
            // Only a single-byte piece tells where the error is.
            return end - at == 1 ? .failed(at, error) : .failedSomewhere(error)
        }
        at = end
    }
    return .incomplete
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChunked(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let whole = feed(bytes, ends: size == 0 ? [] : [size])
    let byByte = feed(bytes, ends: size == 0 ? [] : Array(1...size))
    var random = SplitRandom(seed: seed(of: bytes))
    let ends = random.prefixEnds(total: size, maxPieces: 64)
    let pieces = feed(bytes, ends: ends)
    var referenceReader = Reference(bytes)
    let reference = referenceReader.run()

    require(byByte == reference, "byte by byte: \(byByte), reference: \(reference)")
    require(whole.agrees(with: byByte), "all at once: \(whole), byte by byte: \(byByte)")
    require(pieces.agrees(with: byByte), "in pieces \(ends): \(pieces), byte by byte: \(byByte)")
    if case .complete(let n) = byByte {
        require(n >= 5 && bytes[(n - 4)..<n].elementsEqual([13, 10, 13, 10]), "a complete body does not end with CRLFCRLF")
        // The body alone, without what followed it, is complete too.
        require(feed(bytes, ends: [n]) == .complete(n), "the body alone is not complete")
    }
    for mode in [ChunkedTranscoder.Mode.canonical, .dechunk] {
        checkTranscoder(bytes, mode, ends: ends, verdict: byByte, reference: referenceReader)
    }
    return 0
}

func checkTranscoder(_ bytes: UnsafeRawBufferPointer, _ mode: ChunkedTranscoder.Mode, ends: [Int], verdict: Outcome,
                     reference: Reference) {
    let whole = transcode(bytes, mode, ends: bytes.isEmpty ? [] : [bytes.count], inPlace: false)
    let byByte = transcode(bytes, mode, ends: bytes.isEmpty ? [] : Array(1...bytes.count), inPlace: true)
    let pieces = transcode(bytes, mode, ends: ends, inPlace: false)
    require(byByte.outcome == verdict, "\(mode) byte by byte: \(byByte.outcome), decoder: \(verdict)")
    require(whole.outcome.agrees(with: verdict), "\(mode) all at once: \(whole.outcome), decoder: \(verdict)")
    require(pieces.outcome.agrees(with: verdict), "\(mode) in pieces \(ends): \(pieces.outcome), decoder: \(verdict)")
    if case .failed = verdict { return }
    require(whole.output == byByte.output && whole.output == pieces.output && whole.trailers == byByte.trailers
            && whole.trailers == pieces.trailers,
            "\(mode) output depends on how the bytes arrive: \(escaped(whole.output)) / \(escaped(byByte.output)) / \(escaped(pieces.output))")
    guard case .complete = verdict else { return }
    switch mode {
    case .canonical:
        require(whole.output == reference.canonical, "canonical output \(escaped(whole.output)), expected \(escaped(reference.canonical))")
        whole.output.withUnsafeBytes { out in
            var again = Reference(out)
            require(again.run() == .complete(out.count) && again.data == reference.data
                    && again.trailers.map { Array(out[$0.line]) } == reference.keptTrailers.map { Array(bytes[$0.line]) },
                    "canonical output does not decode to the same data and kept trailers")
            let twice = transcode(out, .canonical, ends: [out.count], inPlace: false)
            require(twice.outcome == .complete(out.count) && twice.output == whole.output, "canonical output transcoded again changed")
        }
    case .dechunk:
        require(whole.output == reference.data, "dechunked data \(escaped(whole.output)), expected \(escaped(reference.data))")
        require(whole.trailers == reference.dechunkedTrailers,
                "dechunked trailers \(escaped(whole.trailers)), expected \(escaped(reference.dechunkedTrailers))")
        var fields: [(name: [UInt8], value: [UInt8])] = []
        whole.trailers.withUnsafeBytes { lines in
            var it = TrailerFields(lines)
            while let f = it.next() { fields.append((Array(f.name), Array(f.value))) }
        }
        let expected = reference.keptFields
        require(fields.map(\.name) == expected.map(\.name) && fields.map(\.value) == expected.map(\.value),
                "TrailerFields does not read the kept fields")
    }
}

