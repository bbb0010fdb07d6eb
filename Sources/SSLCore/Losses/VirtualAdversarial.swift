import Foundation

// B rows (examples, or their replicas), D features of the perturbed input, K classes.

/// Virtual adversarial training (Miyato et al. 2018, "Virtual Adversarial Training: a Regularization Method for
/// Supervised and Semi-Supervised Learning") of a classifier network f, whose input part `part` is x (ADGM's q(y|a,x):
/// x beside a, which stays as drawn; M2's q(y|x)):
///
///   p = softmax(f(x)), held constant;
///   d ~ N(0, I) per example (keyed by seed, step, example, as all noise), r = ξ·d/‖d‖;
///   g = ∇_r KL(p ‖ softmax(f(x + r)))        one power iteration; its backward writes no parameter gradient;
///   r_adv = ε·g/‖g‖;
///   term  = λ/N · Σ_i KL(p_i ‖ softmax(f(x_i + r_adv,i)))
///
/// over every labelled and unlabelled row of the step, N their number over all ranks. The term's gradient reaches f's
/// parameters through the perturbed pass only (p and r_adv are constants, as in the paper):
///   ∂term/∂logits_i = λ/N · (softmax(f(x_i + r_adv,i)) − p_i).
/// Batch normalisation in f normalises each perturbed pass with its own batch statistics, over every rank, and leaves
/// the running ones alone (`Pass.perturbed`); with `settings.cleanStatistics`, with the clean pass's statistics held as
/// constants (`Pass.heldStatistics`), so that f is the same function of x for p and for q. ξ is far above the paper's 1e-6: with bf16 products the difference of
/// two softmaxes that close is rounding noise (ξ = 10, as in common PyTorch ports).
public final class VirtualAdversarial {
    public let settings: VATSettings
    let perturbed: Mat, direction: Mat, logQ: Mat

    /// How batch normalisation in f sees the perturbed passes: with their own batch statistics, or the clean pass's.
    var pass: Pass { settings.cleanStatistics ? .heldStatistics : .perturbed }

    public init(_ settings: VATSettings, maxRows: Int, features: Int, classes: Int, workspace ws: Workspace) {
        self.settings = settings
        perturbed = ws.mat(maxRows, features); direction = ws.mat(maxRows, features); logQ = ws.mat(maxRows, classes)
    }

    /// After f's own backward (f's buffers are reused): adds the term's gradient to f's parameters, this rank's share
    /// of it (λ/N · Σ KL over its rows, N the global batch's examples times their `replicas`) to `result.objective`
    /// and the plain Σ KL to `result.adversarial`. `logP` is log p per row (B×K); `inputs` are f's training inputs,
    /// `inputs[part]` the rows' x (B×D).
    public func add(to result: inout LossSums, _ f: MLP, store s: ParameterStore, inputs: [Mat], part: Int, map: RowMap,
                    logP: Mat, batch: Batch, noise: NoiseSource, step: Int, counts: GlobalCounts, replicas: Int) {
        let moved = adversarialInput(f, store: s, inputs: inputs, part: part, map: map, logP: logP, batch: batch, noise: noise, step: step)
        let t = term(f, store: s, inputs: inputs, part: part, at: moved, map: map, logP: logP,
                     globalRows: (counts.labelled + counts.unlabelled) * replicas)
        result.objective += t.objective
        result.adversarial += t.klSum
    }

    /// x + r_adv for every row (a view of this term's buffer, valid until the next call): r = ξ·d/‖d‖, then
    /// g = ∇_r KL(p ‖ q(x + r)) through f without touching its parameter gradients, and r_adv = ε·g/‖g‖.
    public func adversarialInput(_ f: MLP, store s: ParameterStore, inputs: [Mat], part: Int, map: RowMap, logP: Mat,
                                 batch: Batch, noise: NoiseSource, step: Int) -> Mat {
        let b = logP.rows, x = inputs[part]
        let xr = perturbed.prefix(rows: b), dr = direction.prefix(rows: b)
        var moved = inputs
        moved[part] = xr
        noise.exampleNormals(dr, batch: batch, step: step, stream: .adversarial)
        displace(x, along: dr, by: settings.xi, into: xr)
        f.forward(s, inputs: moved, map: map, pass: pass)
        _ = klGradient(f, logP: logP, logQ: logQ.prefix(rows: b), scale: 1)
        dr.zero()
        s.discardingGradients {
            f.backward(s, inputs: moved, map: map, dInputs: (0..<inputs.count).map { $0 == part ? dr : nil })
        }
        displace(x, along: dr, by: settings.epsilon, into: xr)
        return xr
    }

    /// The term at the given perturbed input (`moved`, B×D, in place of `inputs[part]`): its value (λ/N · Σ KL, and
    /// Σ KL), with its gradient added to f's parameters (p and the perturbation held constant).
    public func term(_ f: MLP, store s: ParameterStore, inputs: [Mat], part: Int, at moved: Mat, map: RowMap, logP: Mat,
                     globalRows: Int) -> (objective: Double, klSum: Double) {
        var given = inputs
        given[part] = moved
        f.forward(s, inputs: given, map: map, pass: pass)
        let w = settings.weight / Float(max(globalRows, 1))
        let kl = klGradient(f, logP: logP, logQ: logQ.prefix(rows: logP.rows), scale: w)
        f.backward(s, inputs: given, map: map, dInputs: inputs.map { _ in nil })
        return (Double(w) * kl, kl)
    }

    /// out_i = x_i + size·d_i/‖d_i‖ (x_i where d_i is 0).
    func displace(_ x: Mat, along d: Mat, by size: Float, into out: Mat) {
        for i in 0..<x.rows {
            let xi = x.row(i), di = d.row(i), oi = out.row(i)
            var sq: Float = 0
            for j in 0..<x.cols { sq += di[j] * di[j] }
            let c = sq > 0 ? size / sq.squareRoot() : 0
            for j in 0..<x.cols { oi[j] = xi[j] + c * di[j] }
        }
    }

    /// Σ_i KL(p_i ‖ q_i) with q = softmax(f.out[0]), and f.dOut[0] = scale·(q − p).
    func klGradient(_ f: MLP, logP: Mat, logQ: Mat, scale: Float) -> Double {
        logSoftmax(f.out[0], into: logQ)
        let k = logP.cols, g = f.dOut[0]
        var kl = 0.0
        for i in 0..<logP.rows {
            let lp = logP.row(i), lq = logQ.row(i), gi = g.row(i)
            for j in 0..<k {
                let p = fastExp(lp[j]), q = fastExp(lq[j])
                kl += Double(p) * Double(lp[j] - lq[j])
                gi[j] = scale * (q - p)
            }
        }
        return kl
    }
}
