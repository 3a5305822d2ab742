// ChunkedTranscoder fed as the data path feeds it: each call's region is the bytes the previous
// call held, then the newly arrived ones.
import FuzzSupport
import HTTP1

struct Transcoded {
    var outcome: Outcome
    var output: [UInt8] = []
    var trailers: [UInt8] = []
}

/// Feeds `bytes` in pieces ending at `ends`. `inPlace`: as the data path does, in one buffer where
/// the output stays and the held bytes do not move between calls (fast even when a long line
/// arrives byte by byte); otherwise each call's region is a heap block of exactly its size, so that
/// AddressSanitizer sees any access outside it.
func transcode(_ bytes: UnsafeRawBufferPointer, _ mode: ChunkedTranscoder.Mode, ends: [Int], inPlace: Bool) -> Transcoded {
    var t = ChunkedTranscoder(mode: mode)
    var result = Transcoded(outcome: .incomplete)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: inPlace ? bytes.count : 0, alignment: 1)
    defer { buffer.deallocate() }
    var regionStart = 0
    var at = 0
    for end in ends {
        let held = t.held
        let count = held + end - at
        let region: UnsafeMutableRawBufferPointer
        if inPlace {
            region = UnsafeMutableRawBufferPointer(rebasing: buffer[regionStart..<(regionStart + count)])
        } else {
            region = .allocate(byteCount: count, alignment: 1)
        }
        defer { if !inPlace { region.deallocate() } }
        if !inPlace && held > 0 { region.copyMemory(from: UnsafeRawBufferPointer(start: heldCopy, count: held)) }
        UnsafeMutableRawBufferPointer(rebasing: region[held...]).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[at..<end]))
        let r: (output: Int, length: Int)
        do {
            r = try t.transcode(region)
        } catch {
            // Only a call with one new byte tells where the error is.
            result.outcome = end - at == 1 ? .failed(at, error) : .failedSomewhere(error)
            return result
        }
        require(r.output >= 0 && r.output <= r.length && r.length <= count, "transcode returned \(r) for \(count) bytes")
        result.output += region[0..<r.output]
        if t.isComplete {
            let after = r.output + t.trailerLength
            require(after <= r.length, "trailers beyond the region")
            result.trailers = Array(region[r.output..<after])
            // What followed the body is moved down intact.
            let bodyEnd = end - (r.length - after)
            require(region[after..<r.length].elementsEqual(bytes[bodyEnd..<end]), "the bytes after the body changed")
            require(t.total == bodyEnd, "total \(t.total), body \(bodyEnd) bytes")
            require(t.held == 0, "held \(t.held) bytes once complete")
            result.outcome = .complete(bodyEnd)
            return result
        }
        require(r.length == r.output + t.held && t.held <= ChunkedTranscoder.maxHeld, "held \(t.held) of \(r)")
        require(t.total == end, "total \(t.total) after \(end) bytes")
        if inPlace {
            regionStart += r.output
        } else {
            heldCopy.copyMemory(from: region.baseAddress! + r.output, byteCount: t.held)
        }
        at = end
    }
    return result
}

/// The held bytes between two exact-size regions (they fit: maxHeld).
nonisolated(unsafe) let heldCopy = UnsafeMutableRawPointer.allocate(byteCount: ChunkedTranscoder.maxHeld, alignment: 1)
