import Foundation

// R rows, D features.

/// The distribution of x given the decoder's output.
public enum Likelihood: String, Codable, CaseIterable, Sendable {
    /// Bernoulli on logits, for values in [0, 1] (dynamically binarised while training).
    case bernoulli
    /// Diagonal Gaussian with the decoder's mean and a learned per-feature log-variance, for real values.
    case gaussian
}

/// p(x|·) of a decoder: the head it reads and, for the Gaussian, its per-feature log-variance parameter.
public struct ObservationModel {
    public let likelihood: Likelihood
    public let logvar: ParamRef?

    public init(_ layout: inout ParameterLayout, _ name: String, likelihood: Likelihood, dim: Int) {
        self.likelihood = likelihood
        logvar = likelihood == .gaussian ? layout.add("\(name).logvar", [dim]) : nil
    }

    /// The decoder head's name: logits (Bernoulli) or the mean (Gaussian).
    public static func head(_ likelihood: Likelihood) -> String { likelihood == .bernoulli ? "logits" : "mean" }

    /// −log p(x|·) per row against target rows x[example(r)]; with weights, writes d/d(out) (overwriting) and, for
    /// the Gaussian, adds d/d(logvar) into the store's gradients. `scratch` holds at least 2·D floats.
    public func nll(_ s: ParameterStore, out: Mat, targets: Mat, map: RowMap?, rowLoss: UnsafeMutablePointer<Double>,
                    weights: UnsafePointer<Float>? = nil, dOut: Mat? = nil, scratch: UnsafeMutablePointer<Float>) {
        switch likelihood {
        case .bernoulli:
            bernoulliNLL(logits: out, targets: targets, map: map, rowLoss: rowLoss, weights: weights, dlogits: dOut, scratch: scratch)
        case .gaussian:
            gaussianNLL(mean: out, logvar: s.w(logvar!), targets: targets, map: map, rowLoss: rowLoss, weights: weights,
                        dmean: dOut, dlogvar: weights == nil ? nil : s.g(logvar!), scratch: scratch)
        }
    }

    /// The mean of p(x|·): σ(logits) or the Gaussian mean.
    public func means(_ out: Mat, into means: Mat) {
        switch likelihood {
        case .bernoulli: for i in 0..<out.count { means.p[i] = sigmoid(out.p[i]) }
        case .gaussian: means.copy(from: out)
        }
    }
}

/// −log N(x; μ_r, e^{lv}) per row r with a per-feature log-variance lv shared by all rows:
///   nll[r] = Σ_d ½(log 2π + lv_d + (x_d − μ_rd)² e^{−lv_d}),  x = targets[example(r)].
/// With `weights`: dμ[r] = w_r (μ_r − x) e^{−lv} (overwrites) and dlv_d += Σ_r w_r ½(1 − (x_d − μ_rd)² e^{−lv_d}).
/// `scratch` holds at least 2·D floats.
public func gaussianNLL(mean: Mat, logvar: UnsafePointer<Float>, targets: Mat, map: RowMap?, rowLoss: UnsafeMutablePointer<Double>,
                        weights: UnsafePointer<Float>? = nil, dmean: Mat? = nil, dlogvar: UnsafeMutablePointer<Float>? = nil,
                        scratch: UnsafeMutablePointer<Float>) {
    let d = mean.cols
    precondition(targets.cols == d, "gaussianNLL: means have \(d) columns, targets \(targets.cols)")
    let invVar = scratch, term = scratch + d
    var lvSum = 0.0
    for j in 0..<d { invVar[j] = fastExp(-logvar[j]); lvSum += Double(logvar[j]) }
    let constant = 0.5 * (Double(d) * 2 * halfLog2Pi + lvSum)
    for r in 0..<mean.rows {
        let ex = map.map { Int($0.example[r]) } ?? r
        let m = mean.p + r * d, x = targets.p + ex * d
        for j in 0..<d { let e = x[j] - m[j]; term[j] = e * e * invVar[j] }
        rowLoss[r] = constant + 0.5 * Double(rowSum(term, d))
        if let w = weights, let dm = dmean {
            let wr = w[r], g = dm.p + r * d
            for j in 0..<d { g[j] = wr * (m[j] - x[j]) * invVar[j] }
            if let dlv = dlogvar { for j in 0..<d { dlv[j] += wr * 0.5 * (1 - term[j]) } }
        }
    }
}
