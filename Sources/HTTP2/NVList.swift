import HTTP1
import CNGHTTP2

/// The nghttp2_nv array of the header block being submitted, pointing at the caller's bytes;
/// allocated once per engine (it grows for a response with more fields than ever before).
/// nghttp2 copies names (lowercasing them) and values when a frame is submitted, so the
/// pointers only need to live through the submit call.
struct NVList {
    private(set) var items: UnsafeMutablePointer<nghttp2_nv>
    private var capacity: Int
    private(set) var count = 0
    /// Digits of :status and of a canonical content-length.
    private let digits: UnsafeMutablePointer<UInt8>
    private let memory: EngineMemory

    init(capacity: Int, memory: EngineMemory) {
        self.capacity = capacity
        self.memory = memory
        items = memory.allocate(nghttp2_nv.self, capacity: capacity)
        digits = memory.allocate(UInt8.self, capacity: 24)  // :status at 0, content-length at 4
    }

    func deallocate() {
        EngineMemory.release(items)
        EngineMemory.release(digits)
    }

    mutating func removeAll() {
        count = 0
    }

    mutating func append(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        if count == capacity { grow() }
        items[count] = nghttp2_nv(name: mutable(name), value: mutable(value), namelen: name.count,
                                  valuelen: value.count, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
        count += 1
    }

    mutating func append(_ name: StaticString, _ value: UnsafeRawBufferPointer) {
        append(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), value)
    }

    /// Appends ":status" (100...599).
    mutating func appendStatus(_ status: Int) {
        append(":status", decimal: status, at: 0)
    }

    /// Appends "content-length" in canonical decimal.
    mutating func appendContentLength(_ length: Int) {
        append("content-length", decimal: length, at: 4)
    }

    private mutating func append(_ name: StaticString, decimal value: Int, at offset: Int) {
        let out = UnsafeMutableRawBufferPointer(start: digits + offset, count: 20)
        var w = ByteWriter(out)
        w.write(value, radix: 10)
        append(name, UnsafeRawBufferPointer(start: out.baseAddress, count: w.count))
    }

    private mutating func grow() {
        let bigger = memory.allocate(nghttp2_nv.self, capacity: capacity * 2)
        bigger.moveInitialize(from: items, count: count)
        EngineMemory.release(items)
        items = bigger
        capacity *= 2
    }

    // nghttp2 declares the pointers mutable but only reads through them; an empty value still
    // gets a valid pointer.
    private func mutable(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutablePointer<UInt8> {
        guard let base = bytes.baseAddress else { return digits }
        return UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
    }
}
