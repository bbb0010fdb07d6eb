import Foundation

// B rows, K classes.

/// Row-wise log-softmax: out = l − logsumexp(l). `out` may alias `logits`.
public func logSoftmax(_ logits: Mat, into out: Mat) {
    let k = logits.cols
    for r in 0..<logits.rows {
        let l = logits.p + r * k, o = out.p + r * k
        var m = l[0]
        for j in 1..<k where l[j] > m { m = l[j] }
        var s: Float = 0
        for j in 0..<k { s += Foundation.exp(l[j] - m) }
        let lse = m + Foundation.log(s)
        for j in 0..<k { o[j] = l[j] - lse }
    }
}

/// Cross-entropy −log q(y_b|x_b) from log-probabilities, per row.
/// With `weight`, adds d(w·Σ_b c_{y_b}·CE_b)/dlogits = w·c_{y_b}·(softmax − onehot(y)) into `dlogits`, where
/// c are `classWeights` (all 1 when nil).
public func crossEntropy(logProbs: Mat, labels: UnsafeBufferPointer<Int32>, rowLoss: UnsafeMutablePointer<Double>,
                         weight: Float? = nil, classWeights: [Float]? = nil, dlogits: Mat? = nil) {
    let k = logProbs.cols
    for r in 0..<logProbs.rows {
        let lp = logProbs.p + r * k
        let y = Int(labels[r])
        rowLoss[r] = -Double(lp[y])
        if let w = weight, let dl = dlogits {
            let g = dl.p + r * k
            let wr = w * (classWeights?[y] ?? 1)
            for j in 0..<k { g[j] += wr * (Foundation.exp(lp[j]) - (j == y ? 1 : 0)) }
        }
    }
}

/// Σ_b c_{y_b}·CE_b: the class-weighted sum of per-row cross-entropies (plain sum when `classWeights` is nil).
public func weightedSum(_ rowLoss: UnsafePointer<Double>, labels: [Int32], classWeights: [Float]?) -> Double {
    labels.indices.reduce(0.0) { $0 + rowLoss[$1] * Double(classWeights?[Int(labels[$1])] ?? 1) }
}

/// Balanced class weights c_k = N / (K'·n_k) over the classes present in `labels` (K' of them), 0 for absent ones:
/// every present class then carries the same total weight in the classification term.
public func balancedClassWeights(labels: [Int32], classes k: Int) -> [Float] {
    var counts = [Int](repeating: 0, count: k)
    for y in labels { counts[Int(y)] += 1 }
    let present = counts.filter { $0 > 0 }.count
    return counts.map { $0 > 0 ? Float(labels.count) / Float(present * $0) : 0 }
}

/// Expected-loss-plus-negative-entropy over enumerated labels (the unlabelled bound's y part):
///   U_b = Σ_k π_k·c_{b,k} + s·Σ_k π_k log π_k,  π = softmax(logits_b),
/// where c are per-(example, label) costs and s scales the entropy term (β during warm-up).
/// With `weight`, adds dU/dlogits_k = w·ρ_r·π_k·(g_k − Σ_j π_j g_j), g_k = c_k + s·log π_k, with per-row weights ρ
/// (`rowWeights`, all 1 when nil).
public func expectedCostMinusEntropy(logProbs: Mat, costs: UnsafePointer<Double>, entropyScale s: Double,
                                     rowValue: UnsafeMutablePointer<Double>, weight: Float? = nil,
                                     rowWeights: UnsafePointer<Float>? = nil, dlogits: Mat? = nil) {
    let k = logProbs.cols
    for r in 0..<logProbs.rows {
        let lp = logProbs.p + r * k, c = costs + r * k
        var u: Double = 0
        for j in 0..<k {
            let pi = Foundation.exp(Double(lp[j]))
            u += pi * (c[j] + s * Double(lp[j]))
        }
        rowValue[r] = u
        if let w0 = weight, let dl = dlogits {
            let w = rowWeights.map { w0 * $0[r] } ?? w0
            let g = dl.p + r * k
            for j in 0..<k {
                let pi = Foundation.exp(Double(lp[j]))
                g[j] += w * Float(pi * (c[j] + s * Double(lp[j]) - u))
            }
        }
    }
}

/// Index of the largest entry in row `r`.
public func argmaxRow(_ m: Mat, _ r: Int) -> Int {
    let p = m.row(r)
    var best = 0
    for j in 1..<m.cols where p[j] > p[best] { best = j }
    return best
}

/// A class prior from labelled proportions, smoothed (add-one) so no class has probability 0:
/// p_k = (n_k + 1) / (N + K).
public func labelledClassPrior(labels: [Int32], classes k: Int) -> [Float] {
    var counts = [Int](repeating: 0, count: k)
    for y in labels { counts[Int(y)] += 1 }
    return counts.map { Float(Double($0 + 1) / Double(labels.count + k)) }
}
