import CKernels
import Foundation

// R rows, H features.

/// Batch normalisation (Ioffe & Szegedy 2015) of a hidden layer's pre-activations, per feature h:
///   training:  μ_h, σ²_h over the rows of the *global* batch (every rank's rows, summed by the reducer, so 1 and N
///              ranks normalise alike);  x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β;
///              running μ ← (1−m)·running μ + m·μ,  running σ² ← (1−m)·running σ² + m·σ²·n/(n−1)
///   inference: the running μ and σ² in place of the batch's.
/// Backward (training): dγ += Σ_r dy·x̂,  dβ += Σ_r dy (this rank's rows; the gradient allreduce sums them), and
///   dx = γ/√(σ² + ε) · (dy − mean_r dy − x̂·mean_r(dy·x̂)), with the means over the global batch.
/// γ, β are parameters; the running mean and variance are state (no gradient, kept in checkpoints).
public final class BatchNorm {
    public let gamma: ParamRef, beta: ParamRef
    public let runningMean: ParamRef, runningVariance: ParamRef
    public let features: Int
    public static let momentum = 0.1
    public static let epsilon = 1e-5
    /// Per-feature μ and 1/√(σ² + ε) of the last training forward; x̂ of its rows.
    let mean: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>
    public let normalized: Mat
    /// Per-feature coefficients of the backward's dx (and the inference's √(σ² + ε)).
    let coefA: UnsafeMutablePointer<Float>, coefB: UnsafeMutablePointer<Float>, coefC: UnsafeMutablePointer<Float>
    /// 2H + 1 sums exchanged through the reducer.
    let sums: UnsafeMutablePointer<Double>

    public init(_ layout: inout ParameterLayout, _ name: String, features h: Int, maxRows: Int, workspace ws: Workspace) {
        features = h
        gamma = layout.add("\(name).gamma", [h], fill: 1)
        beta = layout.add("\(name).beta", [h])
        runningMean = layout.addState("\(name).running_mean", [h], fill: 0)
        runningVariance = layout.addState("\(name).running_var", [h], fill: 1)
        mean = ws.floats(h); invStd = ws.floats(h)
        normalized = ws.mat(maxRows, h)
        coefA = ws.floats(h); coefB = ws.floats(h); coefC = ws.floats(h)
        sums = ws.doubles(2 * h + 1)
    }

    /// y = BN(x) over x's rows. `y` may alias `x`. Inference leaves the last training forward's statistics (which
    /// its backward uses) untouched.
    public func forward(_ s: ParameterStore, x: Mat, y: Mat, pass: Pass, reducer: BatchReducer) {
        let h = features, g = s.w(gamma), b = s.w(beta)
        guard pass != .inference else {
            let rm = s.w(runningMean), rv = s.w(runningVariance), sd = coefC
            for j in 0..<h { sd[j] = (rv[j] + Float(Self.epsilon)).squareRoot() }
            ssl_bn_infer(x.p, y.p, Int64(x.rows), Int64(h), rm, sd, g, b)
            return
        }
        batchStatistics(s, x: x, pass: pass, reducer: reducer)
        ssl_bn_normalize(x.p, y.p, normalized.p, Int64(x.rows), Int64(h), mean, invStd, g, b)
    }

    /// Whether the last forward held the statistics (`Pass.heldStatistics`): its backward treats them as constants.
    private var held = false

    /// act = ReLU(BN(x)) in one pass, for a training or perturbed pass (`forward` then ReLU, bit for bit); BN(x) itself
    /// is not written (its backward needs only act and x̂). x and act distinct.
    public func forwardReLU(_ s: ParameterStore, x: Mat, act: Mat, pass: Pass, reducer: BatchReducer) {
        precondition(pass != .inference, "forwardReLU normalises with the batch's statistics")
        batchStatistics(s, x: x, pass: pass, reducer: reducer)
        ssl_bn_normalize_relu(x.p, act.p, normalized.p, Int64(x.rows), Int64(features), mean, invStd, s.w(gamma), s.w(beta))
    }

    /// μ and 1/√(σ² + ε) of x's rows over every rank into `mean` and `invStd`; a training pass updates the running ones.
    /// With `.heldStatistics` the last training pass's stay.
    private func batchStatistics(_ s: ParameterStore, x: Mat, pass: Pass, reducer: BatchReducer) {
        held = pass == .heldStatistics
        guard !held else { return }
        let h = features
        // Σx, Σx² and the row count, over every rank's rows.
        let sx = sums, sq = sums + h
        sx.update(repeating: 0, count: 2 * h + 1)
        ssl_bn_sums(x.p, Int64(x.rows), Int64(h), sx, sq)
        sums[2 * h] = Double(x.rows)
        reducer.sum(UnsafeMutableBufferPointer(start: sums, count: 2 * h + 1))
        let n = sums[2 * h]
        let rm = s.w(runningMean), rv = s.w(runningVariance), m = Self.momentum
        for j in 0..<h {
            let mu = n > 0 ? sx[j] / n : 0
            let variance = n > 0 ? max(sq[j] / n - mu * mu, 0) : 0
            mean[j] = Float(mu)
            invStd[j] = Float(1 / (variance + Self.epsilon).squareRoot())
            guard n > 1, pass == .training else { continue }
            rm[j] = Float((1 - m) * Double(rm[j]) + m * mu)
            rv[j] = Float((1 - m) * Double(rv[j]) + m * variance * n / (n - 1))
        }
    }

    /// Accumulates dγ, dβ and writes dx (which may alias dy) from dy, for the rows of the last training forward.
    public func backward(_ s: ParameterStore, dy: Mat, dx: Mat, reducer: BatchReducer) {
        sums.update(repeating: 0, count: 2 * features + 1)
        ssl_bn_backward_sums(dy.p, normalized.p, Int64(dy.rows), Int64(features), sums, sums + features)
        finishBackward(s, dy: dy, dx: dx, reducer: reducer)
    }

    /// The backward of `forwardReLU`: dAct (the gradient of its output) becomes dx in place, through ReLU and BN
    /// (`Activation.backward` then `backward`, bit for bit, with the ReLU gate in the same pass as the sums).
    public func backwardReLU(_ s: ParameterStore, dAct: Mat, act: Mat, reducer: BatchReducer) {
        sums.update(repeating: 0, count: 2 * features + 1)
        ssl_bn_backward_sums_relu(dAct.p, act.p, normalized.p, Int64(dAct.rows), Int64(features), sums, sums + features)
        finishBackward(s, dy: dAct, dx: dAct, reducer: reducer)
    }

    /// From the sums of dy and dy·x̂ over this rank's rows: dγ, dβ, the global means, and dx. With held statistics
    /// dx = γ/√(σ² + ε)·dy (no collective: the statistics are constants).
    private func finishBackward(_ s: ParameterStore, dy: Mat, dx: Mat, reducer: BatchReducer) {
        let h = features, g = s.w(gamma), dg = s.g(gamma), db = s.g(beta)
        let sdy = sums, sdyx = sums + h
        for j in 0..<h { db[j] += Float(sdy[j]); dg[j] += Float(sdyx[j]) }
        if held {
            for j in 0..<h { coefA[j] = 0; coefB[j] = 0; coefC[j] = g[j] * invStd[j] }
            ssl_bn_backward_dx(dy.p, dx.p, normalized.p, Int64(dy.rows), Int64(h), coefC, coefA, coefB)
            s.gradientsSettled()
            return
        }
        sums[2 * h] = Double(dy.rows)
        reducer.sum(UnsafeMutableBufferPointer(start: sums, count: 2 * h + 1))
        let n = max(sums[2 * h], 1)
        // dx = c·(dy − a − x̂·b) with per-feature c = γ/√(σ² + ε), a = mean dy, b = mean dy·x̂.
        for j in 0..<h {
            coefA[j] = Float(sdy[j] / n); coefB[j] = Float(sdyx[j] / n); coefC[j] = g[j] * invStd[j]
        }
        ssl_bn_backward_dx(dy.p, dx.p, normalized.p, Int64(dy.rows), Int64(h), coefC, coefA, coefB)
        s.gradientsSettled()
    }
}
