import Foundation

// R rows, n dimensions. Diagonal Gaussians with unconstrained log-variance lv.

public let halfLog2Pi = 0.5 * Foundation.log(2 * Double.pi)

/// KL(N(μ, e^{lv}) ‖ N(0, I)) per row: ½ Σ (e^{lv} + μ² − 1 − lv).
/// With `weights`, adds d(Σ_r w_r·KL_r)/dμ = w·μ and /dlv = w·½(e^{lv} − 1) into dmu, dlv.
public func gaussianKLStandard(mu: Mat, logvar: Mat, rowLoss: UnsafeMutablePointer<Double>,
                               weights: UnsafePointer<Float>? = nil, dmu: Mat? = nil, dlogvar: Mat? = nil) {
    let n = mu.cols
    for r in 0..<mu.rows {
        let m = mu.p + r * n, v = logvar.p + r * n
        var s: Double = 0
        for j in 0..<n {
            let ev = fastExp(v[j])
            s += Double(ev + m[j] * m[j] - 1 - v[j])
        }
        rowLoss[r] = 0.5 * s
        if let w = weights, let dm = dmu, let dv = dlogvar {
            let wr = w[r]
            let gm = dm.p + r * n, gv = dv.p + r * n
            for j in 0..<n {
                gm[j] += wr * m[j]
                gv[j] += wr * 0.5 * (fastExp(v[j]) - 1)
            }
        }
    }
}

/// log N(x; μ, e^{lv}) per row: Σ −½(log 2π + lv + (x − μ)² e^{−lv}), with lv floored at `floor` (default
/// `logVarianceFloor`; ADGM's p(a|·) can take a higher one, `ModelConfig.auxLogVarianceMin`).
/// `x` row r is x[example(r)] when a map is given (a per-example value scored by per-row densities).
/// With `weights`, adds the gradients of Σ_r w_r·logN_r:
///   dx += w·(−(x−μ)e^{−lv}),  dμ += w·(x−μ)e^{−lv},  dlv += w·(−½ + ½(x−μ)²e^{−lv})  (0 below the floor).
/// `dx` is indexed like `x` (per example when a map is given).
///
/// Why the floor: SDGM's p(a|y,z) grows confident about a, and for the rows of unlikely labels its log-variance kept
/// falling (the label spread of the costs grew about 10× an epoch on MNIST). Past lv ≈ −88, e^{−lv} overflows Float,
/// and a row weight of 0 times ∞ made the loss NaN at epoch 38.7 of a 200-epoch run. The floor, σ ≥ e^{−20}
/// (2e−9), is far below what a density needs (a floor of −20 already changed a 40-step ADGM run on the digits) and
/// keeps e^{−lv}·d² finite in Float.
public func gaussianLogDensity(x: Mat, mu: Mat, logvar: Mat, map: RowMap?, rowValue: UnsafeMutablePointer<Double>,
                               weights: UnsafePointer<Float>? = nil, dx: Mat? = nil, dmu: Mat? = nil, dlogvar: Mat? = nil,
                               floor: Float = logVarianceFloor) {
    let n = mu.cols
    for r in 0..<mu.rows {
        let ex = map.map { Int($0.example[r]) } ?? r
        let xr = x.p + ex * n, m = mu.p + r * n, v = logvar.p + r * n
        var s: Double = 0
        for j in 0..<n {
            // In Float as before the floor, so that runs whose log-variances stay above it compute the same bits.
            let d = xr[j] - m[j], lv = max(v[j], floor)
            s += Double(lv + d * d * fastExp(-lv))
        }
        rowValue[r] = -0.5 * s - Double(n) * halfLog2Pi
        guard let w = weights else { continue }
        let wr = w[r]
        guard wr != 0 else { continue }
        for j in 0..<n {
            let d = xr[j] - m[j], floored = v[j] < floor
            let ie = fastExp(-max(v[j], floor))
            let g = d * ie
            if let dx { dx.p[ex * n + j] -= wr * g }
            if let dmu { dmu.p[r * n + j] += wr * g }
            if let dlogvar, !floored { dlogvar.p[r * n + j] += wr * (0.5 * d * g - 0.5) }
        }
    }
}

/// z = μ + e^{lv/2}·ε, elementwise.
public func reparameterize(mu: Mat, logvar: Mat, eps: Mat, into z: Mat) {
    let n = mu.count
    for i in 0..<n { z.p[i] = mu.p[i] + fastExp(0.5 * logvar.p[i]) * eps.p[i] }
}

/// Backward of `reparameterize`: dμ += dz, dlv += dz·ε·½e^{lv/2}.
public func reparameterizeBackward(logvar: Mat, eps: Mat, dz: Mat, dmu: Mat, dlogvar: Mat) {
    let n = logvar.count
    for i in 0..<n {
        dmu.p[i] += dz.p[i]
        dlogvar.p[i] += dz.p[i] * eps.p[i] * 0.5 * fastExp(0.5 * logvar.p[i])
    }
}

/// The lowest log-variance a Gaussian density uses (σ = e^{−20}); see `gaussianLogDensity`.
public let logVarianceFloor: Float = -40
