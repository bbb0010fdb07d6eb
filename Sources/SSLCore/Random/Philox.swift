/// Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"):
/// a counter-based generator. The same (key, counter) always gives the same four
/// 32-bit words, so noise can be keyed by (seed, step, global example index, stream)
/// and does not depend on which rank, or in which order, draws it.
public struct Philox {
    public var key: (UInt32, UInt32)

    public init(seed: UInt64) { key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)) }

    @inlinable
    public func block(_ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        var (x0, x1, x2, x3) = (c0, c1, c2, c3)
        var (k0, k1) = key
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(x0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(x2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (x0, x1, x2, x3) = (hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0)
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (x0, x1, x2, x3)
    }
}

/// Uniform in (0, 1): 24 random bits, never exactly 0 or 1.
@inlinable @inline(__always)
public func unitFloat(_ u: UInt32) -> Float { (Float(u >> 8) + 0.5) * (1.0 / 16_777_216.0) }

/// Uniform in [0, 1) with 53 bits, for shuffles.
@inlinable @inline(__always)
public func unitDouble(_ a: UInt32, _ b: UInt32) -> Double {
    Double((UInt64(a) << 21) ^ UInt64(b >> 11)) * (1.0 / 9_007_199_254_740_992.0)
}
