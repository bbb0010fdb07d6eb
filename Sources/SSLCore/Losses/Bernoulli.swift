import CKernels
// R rows, D features.

/// Negative Bernoulli log-likelihood from logits l, per row r against target row x[example(r)]:
///   nll[r] = −log p(x|l) = Σ_d softplus(l_d) − x_d·l_d.
/// With `weights` and `dlogits`, also writes d(Σ_r w_r·nll_r)/dl = w_r·(σ(l) − x) (overwriting).
/// `scratch` holds at least D floats.
public func bernoulliNLL(logits: Mat, targets: Mat, map: RowMap?, rowLoss: UnsafeMutablePointer<Double>,
                         weights: UnsafePointer<Float>? = nil, dlogits: Mat? = nil, scratch: UnsafeMutablePointer<Float>) {
    let d = logits.cols
    precondition(targets.cols == d, "bernoulliNLL: logits have \(d) columns, targets \(targets.cols)")
    for r in 0..<logits.rows {
        let ex = map.map { Int($0.example[r]) } ?? r
        let l = logits.p + r * d, x = targets.p + ex * d
        if let dl = dlogits, let w = weights {
            // In C, where `restrict` lets the loop vectorise: the same operations as `fastExp`, `log1pSmall` and
            // `sigmoid` (ssl_bernoulli_row's comment), the same bits.
            ssl_bernoulli_row(l, x, Int64(d), w[r], scratch, dl.p + r * d)
        } else {
            for j in 0..<d {
                let lj = l[j]
                scratch[j] = softplus(lj) - x[j] * lj
            }
        }
        rowLoss[r] = Double(rowSum(scratch, d))
    }
}

/// Σ_j p[j], with 16 partial sums so the loop vectorises.
@inlinable
public func rowSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>()
    var j = 0
    let raw = UnsafeRawPointer(p)
    while j + 16 <= n {
        acc += raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
        j += 16
    }
    var s = acc.sum()
    while j < n { s += p[j]; j += 1 }
    return s
}
