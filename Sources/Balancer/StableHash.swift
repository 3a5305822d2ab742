/// A fixed 64-bit hash for everything that must come out the same in every sluice process, on every
/// machine and after every restart: consistent-hash tables and keys, sticky tokens. Swift's `Hasher`
/// is seeded per process and must not be used for these.
///
/// Definition: 64-bit FNV-1a over the bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3),
/// XOR `seed`, then SplitMix64's finaliser (so that inputs differing in one byte, such as
/// "10.0.0.1:80" and "10.0.0.2:80", differ in about half of the output bits). Changing it moves
/// every key and invalidates every sticky cookie: treat it as part of the wire format.
public enum StableHash {
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return mix(h ^ seed)
    }

    /// The hash of a string's UTF-8 bytes (for building tables; allocates nothing for native strings).
    public static func hash(_ text: String, seed: UInt64 = 0) -> UInt64 {
        var text = text
        return text.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// SplitMix64's finaliser: a bijection on 64 bits with full avalanche.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
