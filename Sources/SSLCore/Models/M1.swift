import Foundation

// B examples, D input, H hidden, Z latent.

extension ModelKind {
    /// Kingma's sizes (600-600, z 50) and a KL warm-up over the first 15 epochs (without it, M1 on Fashion-MNIST left 39
    /// of its 50 latent dimensions unused, and M1+M2 on its features did not beat the supervised baseline: 71.6%
    /// against 69.5% test accuracy; with it 49 dimensions were used and M1+M2 reached 73.6%).
    public static let m1 = ModelKind("m1", classifies: false,
                                     recipe: "--hidden 600,600 --latent 50 --likelihood bernoulli --warmup-epochs 15") {
        c, capacity, layout, ws in M1(c, capacity: capacity, layout: &layout, workspace: ws)
    }
}

/// M1 of Kingma et al. 2014: a variational autoencoder trained on every example, without labels.
///
///   q(z|x) = N(μ(x), diag e^{lv(x)}),  p(z) = N(0, I),
///   p(x|z) = Bernoulli(σ(g(z))) or N(g(z), diag e^{lv_x}) with a learned per-feature lv_x.
///
/// Per example: C(x) = −log p(x|z) + β·KL(q(z|x) ‖ p(z)) with z = μ + σ·ε; its value at β = 1 is the negative
/// ELBO, a bound on −log p(x). Labelled and unlabelled examples of a batch are both just examples (labels are
/// ignored); each population is normalised by its global count, as in M2, and reported as L and U.
/// With `--mc N --iw K` each example's bound is −(1/N) Σ_n log (1/K) Σ_k e^{−C_nk} over N·K samples of z.
public final class M1: PassModel {
    public let config: ModelConfig
    public let layout: ParameterLayout
    let encoder: MLP  // x → μ, lv (B×Z)
    let decoder: MLP  // z → logits or mean (B×D)
    let observation: ObservationModel
    public let capacity: Capacity
    let workspace: Workspace
    let terms: BoundTerms

    var identity: RowMap
    let eps: Mat, z: Mat, dz: Mat
    let weights: UnsafeMutablePointer<Float>, betaWeights: UnsafeMutablePointer<Float>
    let rec: UnsafeMutablePointer<Double>, kl: UnsafeMutablePointer<Double>
    let scratch: UnsafeMutablePointer<Float>
    /// The batch with each example repeated N·K times (`--mc N --iw K`), nil for one sample.
    let replicated: Batch?

    /// Declares M1's parameters in `layout`, their names prefixed by `prefix` (M1+M2 uses "m1.").
    public init(_ config: ModelConfig, capacity: Capacity, layout: inout ParameterLayout, prefix: String = "", workspace ws: Workspace) {
        self.config = config
        self.capacity = capacity
        let d = config.inputDim, zd = config.latent, bn = config.normalize
        let maxB = capacity.replicated(config.replicas).examples
        encoder = MLP(&layout, prefix + "qz", parts: [("x", .perRow(d))], hidden: config.hidden,
                      heads: [("mu", zd), ("logvar", zd)], activation: config.activation, normalize: bn,
                      maxRows: maxB, maxExamples: maxB, workspace: ws)
        decoder = MLP(&layout, prefix + "px", parts: [("z", .perRow(zd))], hidden: config.hidden.reversed(),
                      heads: [(ObservationModel.head(config.likelihood), d)], activation: config.activation, normalize: bn,
                      maxRows: maxB, maxExamples: maxB, workspace: ws)
        observation = ObservationModel(&layout, prefix + "px", likelihood: config.likelihood, dim: d)
        self.layout = layout
        identity = RowMap(capacityRows: maxB, capacityExamples: maxB)
        eps = ws.mat(maxB, zd); z = ws.mat(maxB, zd); dz = ws.mat(maxB, zd)
        weights = ws.floats(maxB); betaWeights = ws.floats(maxB)
        rec = ws.doubles(maxB); kl = ws.doubles(maxB)
        scratch = ws.floats(2 * d)
        terms = BoundTerms(ws, maxExamples: maxB, classes: 1)
        let inner = capacity.replicated(config.replicas)
        replicated = config.replicas > 1 ? Batch(capacity: inner.labelled + inner.unlabelled, features: d) : nil
        workspace = ws
    }

    /// The forward pass and the loss sums; with `.training` also the backward pass.
    public func run(_ given: Batch, store s: ParameterStore, noise: NoiseSource, step: Int, beta: Float, counts: GlobalCounts,
             pass: Pass) -> LossSums {
        precondition(given.labelled <= capacity.labelled && given.unlabelled <= capacity.unlabelled, "batch exceeds model capacity")
        let batch = replicated ?? given
        replicated?.replicate(given, count: config.replicas)
        let x = batch.x, bn = x.rows, bl = batch.labelled
        identity.buildIdentity(count: bn)
        let epsB = eps.prefix(rows: bn), zB = z.prefix(rows: bn), dzB = dz.prefix(rows: bn)

        encoder.forward(s, inputs: [x], map: identity, pass: pass)
        let mu = encoder.out[0], lv = encoder.out[1]
        noise.exampleNormals(epsB, batch: batch, step: step, stream: .latentZ)
        reparameterize(mu: mu, logvar: lv, eps: epsB, into: zB)
        decoder.forward(s, inputs: [zB], map: identity, pass: pass)

        let b = Double(beta)
        guard pass == .training else {
            observation.nll(s, out: decoder.out[0], targets: x, map: nil, rowLoss: rec, scratch: scratch)
            gaussianKLStandard(mu: mu, logvar: lv, rowLoss: kl)
            return sums(batch, counts, b)
        }
        let invL = counts.labelled > 0 ? 1 / Float(counts.labelled) : 0
        let invU = counts.unlabelled > 0 ? 1 / Float(counts.unlabelled) : 0
        for i in 0..<bn { weights[i] = i < bl ? invL : invU }
        if replicated != nil {
            // Importance weights need every replica's cost before any gradient.
            observation.nll(s, out: decoder.out[0], targets: x, map: nil, rowLoss: rec, scratch: scratch)
            gaussianKLStandard(mu: mu, logvar: lv, rowLoss: kl)
            for i in 0..<bn { terms.replicaCost[i] = rec[i] + b * kl[i] }
            importanceBound(costs: terms.replicaCost, examples: bn / config.replicas, mc: config.mc, iw: config.iw,
                            values: terms.values, omega: terms.omega)
            for i in 0..<bn { weights[i] *= terms.omega[i] }
        }
        scaled(weights, beta, bn, into: betaWeights)

        observation.nll(s, out: decoder.out[0], targets: x, map: nil, rowLoss: rec, weights: weights,
                        dOut: decoder.dOut[0], scratch: scratch)
        encoder.dOut[0].zero(); encoder.dOut[1].zero()
        gaussianKLStandard(mu: mu, logvar: lv, rowLoss: kl, weights: betaWeights, dmu: encoder.dOut[0], dlogvar: encoder.dOut[1])
        dzB.zero()
        decoder.backward(s, inputs: [zB], map: identity, dInputs: [dzB])
        reparameterizeBackward(logvar: lv, eps: epsB, dz: dzB, dmu: encoder.dOut[0], dlogvar: encoder.dOut[1])
        encoder.backward(s, inputs: [x], map: identity, dInputs: [nil])
        return sums(batch, counts, b)
    }

    /// The objective at β (normalised by `counts`) and the bounds at β = 1, from the rows' `rec` and `kl`.
    func sums(_ batch: Batch, _ counts: GlobalCounts, _ b: Double) -> LossSums {
        let bn = batch.x.rows, reps = config.replicas
        let el = batch.labelled / reps, eu = (bn - batch.labelled) / reps
        var sums = LossSums()
        for i in 0..<bn { terms.replicaCost[i] = rec[i] + b * kl[i] }
        terms.addBounds(labelled: el, unlabelled: eu, mc: config.mc, iw: config.iw, to: &sums, objective: counts)
        for i in 0..<bn { terms.replicaCost[i] = rec[i] + kl[i] }
        terms.addBounds(labelled: el, unlabelled: eu, mc: config.mc, iw: config.iw, to: &sums)
        sums.labelledCount = Double(el)
        sums.unlabelledCount = Double(eu)
        return sums
    }

    /// q(z|x) for the rows of `x` (at most `encodeCapacity`), inference: views of μ and log-variance (n×Z), valid
    /// until M1's next forward pass.
    public func encode(_ x: Mat, store s: ParameterStore) -> (mu: Mat, logvar: Mat) {
        identity.buildIdentity(count: x.rows)
        encoder.forward(s, inputs: [x], map: identity, pass: .inference)
        return (encoder.out[0], encoder.out[1])
    }

    /// The means of p(x|z) for the rows of `z`, into `means` (n×D).
    public func decode(z: Mat, store s: ParameterStore, into means: Mat) {
        identity.buildIdentity(count: z.rows)
        decoder.forward(s, inputs: [z], map: identity, pass: .inference)
        observation.means(decoder.out[0], into: means)
    }

    /// The most rows `encode` takes at once.
    public var encodeCapacity: Int { capacity.replicated(config.replicas).examples }
}
