// Elementwise kernels written so LLVM vectorises them: no calls into libm,
// no traps (bit patterns and wrapping integer ops), selects instead of branches.
// Accuracy: fastExp ≈ 2 ulp on [-87, 88]; log1pSmall ≈ 1e-7 relative on [0, 1].

@usableFromInline let ln2Hi: Float = 0.693_359_375
@usableFromInline let ln2Lo: Float = -2.121_944_4e-4
@usableFromInline let log2e: Float = 1.442_695_04

/// e^x for x clamped to [-87, 88].
@inlinable @inline(__always)
public func fastExp(_ x: Float) -> Float {
    var x = x
    x = x < -87 ? -87 : x
    x = x > 88 ? 88 : x
    let magic: Float = 12_582_912  // 1.5·2^23: adding it rounds to an integer
    let t = x * log2e + magic
    let n = t - magic
    let r = (x - n * ln2Hi) - n * ln2Lo  // |r| ≤ ln2/2
    var p: Float = 1.0 / 5040
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let bits = (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
    return p * Float(bitPattern: bits)
}

/// log(1 + e) for e in [0, 1], via 2·atanh(e / (2 + e)); exact to ~1e-7 relative.
@inlinable @inline(__always)
public func log1pSmall(_ e: Float) -> Float {
    let s = e / (2 + e)  // s ∈ [0, 1/3]
    let s2 = s * s
    var q: Float = 1.0 / 13
    q = q * s2 + 1.0 / 11
    q = q * s2 + 1.0 / 9
    q = q * s2 + 1.0 / 7
    q = q * s2 + 1.0 / 5
    q = q * s2 + 1.0 / 3
    q = q * s2 + 1
    return 2 * s * q
}

/// softplus(x) = log(1 + eˣ), stable for all x.
@inlinable @inline(__always)
public func softplus(_ x: Float) -> Float {
    let e = fastExp(x < 0 ? x : -x)  // e^{-|x|}
    return (x > 0 ? x : 0) + log1pSmall(e)
}

/// σ(x) = 1 / (1 + e^{-x}), stable for all x.
@inlinable @inline(__always)
public func sigmoid(_ x: Float) -> Float {
    let e = fastExp(x < 0 ? x : -x)
    let d = 1 / (1 + e)
    return x >= 0 ? d : e * d
}
