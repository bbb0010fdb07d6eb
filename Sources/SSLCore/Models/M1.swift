import Foundation

// B examples, D input, H hidden, Z latent.

/// M1 of Kingma et al. 2014: a variational autoencoder trained on every example, without labels.
///
///   q(z|x) = N(μ(x), diag e^{lv(x)}),  p(z) = N(0, I),
///   p(x|z) = Bernoulli(σ(g(z))) or N(g(z), diag e^{lv_x}) with a learned per-feature lv_x.
///
/// Per example: C(x) = −log p(x|z) + β·KL(q(z|x) ‖ p(z)) with z = μ + σ·ε; its value at β = 1 is the negative
/// ELBO, a bound on −log p(x). Labelled and unlabelled examples of a batch are both just examples (labels are
/// ignored); each population is normalised by its global count, as in M2, and reported as L and U.
/// With `--mc N --iw K` each example's bound is −(1/N) Σ_n log (1/K) Σ_k e^{−C_nk} over N·K samples of z.
public final class M1: SSLModel {
    public let config: ModelConfig
    public let layout: ParameterLayout
    let encoder: MLP  // x → μ, lv (B×Z)
    let decoder: MLP  // z → logits or mean (B×D)
    let observation: ObservationModel
    public let capacity: Capacity
    let workspace: Workspace

    var identity: RowMap
    let eps: Mat, z: Mat, dz: Mat
    let weights: UnsafeMutablePointer<Float>, betaWeights: UnsafeMutablePointer<Float>, omega: UnsafeMutablePointer<Float>
    let rec: UnsafeMutablePointer<Double>, kl: UnsafeMutablePointer<Double>
    let replicaCost: UnsafeMutablePointer<Double>, values: UnsafeMutablePointer<Double>
    let scratch: UnsafeMutablePointer<Float>
    /// The batch with each example repeated N·K times (`--mc N --iw K`), nil for one sample.
    let replicated: Batch?

    public convenience init(_ config: ModelConfig, capacity: Capacity, engine: MatMulEngine = .reference()) {
        var layout = ParameterLayout()
        self.init(config, capacity: capacity, layout: &layout, engine: engine)
    }

    /// Declares M1's parameters in `layout`, their names prefixed by `prefix` (M1+M2 uses "m1.").
    public init(_ config: ModelConfig, capacity: Capacity, layout: inout ParameterLayout, prefix: String = "",
                engine: MatMulEngine = .reference()) {
        self.config = config
        self.capacity = capacity
        let d = config.inputDim, zd = config.latent
        let maxB = capacity.replicated(config.replicas).examples
        let ws = Workspace(engine: engine)
        encoder = MLP(&layout, prefix + "qz", parts: [("x", .perRow(d))], hidden: config.hidden,
                      heads: [("mu", zd), ("logvar", zd)], activation: config.activation,
                      maxRows: maxB, maxExamples: maxB, workspace: ws)
        decoder = MLP(&layout, prefix + "px", parts: [("z", .perRow(zd))], hidden: config.hidden.reversed(),
                      heads: [(ObservationModel.head(config.likelihood), d)], activation: config.activation,
                      maxRows: maxB, maxExamples: maxB, workspace: ws)
        observation = ObservationModel(&layout, prefix + "px", likelihood: config.likelihood, dim: d)
        self.layout = layout
        identity = RowMap(capacityRows: maxB, capacityExamples: maxB)
        eps = ws.mat(maxB, zd); z = ws.mat(maxB, zd); dz = ws.mat(maxB, zd)
        weights = ws.floats(maxB); betaWeights = ws.floats(maxB); omega = ws.floats(maxB)
        rec = ws.doubles(maxB); kl = ws.doubles(maxB); replicaCost = ws.doubles(maxB); values = ws.doubles(maxB)
        scratch = ws.floats(2 * d)
        let inner = capacity.replicated(config.replicas)
        replicated = config.replicas > 1 ? Batch(capacity: inner.labelled + inner.unlabelled, features: d) : nil
        workspace = ws
    }

    public func trainStep(_ given: Batch, store s: ParameterStore, noise: NoiseSource, step: Int, beta: Float,
                          counts: GlobalCounts) -> LossSums {
        precondition(given.labelled <= capacity.labelled && given.unlabelled <= capacity.unlabelled, "batch exceeds model capacity")
        let batch = replicated ?? given
        replicated?.replicate(given, count: config.replicas)
        let x = batch.x, bn = x.rows, bl = batch.labelled
        let reps = config.replicas
        let el = bl / reps, eu = (bn - bl) / reps
        identity.buildIdentity(count: bn)
        let epsB = eps.prefix(rows: bn), zB = z.prefix(rows: bn), dzB = dz.prefix(rows: bn)

        encoder.forward(s, inputs: [x], map: identity)
        let mu = encoder.out[0], lv = encoder.out[1]
        for i in 0..<bn {
            noise.normals(step: step, example: batch.ids[i], stream: .latentZ, population: i < bl ? .labelled : .unlabelled,
                          replica: batch.replica[i], into: epsB.row(i), count: epsB.cols)
        }
        reparameterize(mu: mu, logvar: lv, eps: epsB, into: zB)
        decoder.forward(s, inputs: [zB], map: identity)

        let invL = counts.labelled > 0 ? 1 / Float(counts.labelled) : 0
        let invU = counts.unlabelled > 0 ? 1 / Float(counts.unlabelled) : 0
        for i in 0..<bn { weights[i] = i < bl ? invL : invU }
        let b = Double(beta)
        if replicated != nil {
            // Importance weights need every replica's cost before any gradient.
            observation.nll(s, out: decoder.out[0], targets: x, map: nil, rowLoss: rec, scratch: scratch)
            gaussianKLStandard(mu: mu, logvar: lv, rowLoss: kl)
            for i in 0..<bn { replicaCost[i] = rec[i] + b * kl[i] }
            importanceBound(costs: replicaCost, examples: el + eu, mc: config.mc, iw: config.iw, values: values, omega: omega)
            for i in 0..<bn { weights[i] *= omega[i] }
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

        var sums = LossSums()
        for i in 0..<bn { replicaCost[i] = rec[i] + b * kl[i] }
        addBounds(costs: replicaCost, labelled: el, unlabelled: eu, mc: config.mc, iw: config.iw, values: values,
                  to: &sums, objective: counts)
        for i in 0..<bn { replicaCost[i] = rec[i] + kl[i] }
        addBounds(costs: replicaCost, labelled: el, unlabelled: eu, mc: config.mc, iw: config.iw, values: values, to: &sums)
        sums.labelledCount = Double(el)
        sums.unlabelledCount = Double(eu)
        return sums
    }

    /// q(z|x) for the rows of `x` (at most the workspace's examples): views of μ and log-variance (n×Z), valid until
    /// M1's next forward pass.
    public func encode(_ x: Mat, store s: ParameterStore) -> (mu: Mat, logvar: Mat) {
        identity.buildIdentity(count: x.rows)
        encoder.forward(s, inputs: [x], map: identity)
        return (encoder.out[0], encoder.out[1])
    }

    /// The most rows `encode` takes at once.
    public var encodeCapacity: Int { capacity.replicated(config.replicas).examples }

    public func classify(_ x: Mat, ids: UnsafeBufferPointer<Int>, store: ParameterStore, noise: NoiseSource, probs: Mat) {
        preconditionFailure("M1 has no classifier q(y|x); check ModelKind.classifies first")
    }
}

/// M1+M2 of Kingma et al. 2014: M2 with a Gaussian likelihood on the latent features z₁ of a trained, frozen M1.
///
/// Each step draws z₁ ~ q(z₁|x) afresh for every example (keyed by seed, step, example), keeps the dimensions
/// listed in `stack.kept` (those whose posterior mean varies, std ≥ 0.1 over the training split, as in Kingma's
/// code) and runs M2 on them. The classifier is q(y|μ₁(x)): raw x goes through M1's encoder to its posterior
/// mean, so evaluation takes the same data as every other model. M1's parameters come first in the layout
/// (`frozenCount` of them) and get no gradient: the trainer neither reduces nor updates them.
public final class M1M2: SSLModel {
    public let config: ModelConfig
    public let layout: ParameterLayout
    public let capacity: Capacity
    public let m1: M1
    public let m2: M2
    public let frozenCount: Int
    let kept: [Int]
    let features: Batch
    let evalFeatures: Buffer

    public init(_ config: ModelConfig, capacity: Capacity, engine: MatMulEngine = .reference()) {
        guard let stack = config.stack else { preconditionFailure("M1+M2 needs config.stack (the frozen M1)") }
        self.config = config
        self.capacity = capacity
        kept = stack.kept
        var layout = ParameterLayout()
        let m1Config = ModelConfig(kind: .m1, inputDim: config.inputDim, classes: config.classes, hidden: stack.hidden,
                                   latent: stack.latent, auxiliary: 0, activation: stack.activation, alpha: 0, evalSamples: 1,
                                   likelihood: stack.likelihood)
        m1 = M1(m1Config, capacity: capacity, layout: &layout, prefix: "m1.", engine: engine)
        frozenCount = layout.totalCount
        var m2Config = config
        m2Config.kind = .m2; m2Config.inputDim = stack.kept.count; m2Config.likelihood = .gaussian; m2Config.stack = nil
        m2 = M2(m2Config, capacity: capacity, layout: &layout, engine: engine)
        self.layout = layout
        features = Batch(capacity: capacity.labelled + capacity.unlabelled, features: kept.count)
        epsBuffer = Buffer(count: capacity.examples * stack.latent)
        evalFeatures = Buffer(count: capacity.examples * kept.count)
    }
    let epsBuffer: Buffer

    public func trainStep(_ batch: Batch, store s: ParameterStore, noise: NoiseSource, step: Int, beta: Float,
                          counts: GlobalCounts) -> LossSums {
        let bn = batch.x.rows, bl = batch.labelled, z1 = m1.config.latent
        let (mu, lv) = m1.encode(batch.x, store: s)
        let e = epsBuffer.pointer
        features.reset()
        for i in 0..<bn {
            noise.normals(step: step, example: batch.ids[i], stream: .m1Features, population: i < bl ? .labelled : .unlabelled,
                          into: e, count: z1)
            let row = features.append(id: batch.ids[i], label: i < bl ? batch.labels[i] : nil)
            for (j, c) in kept.enumerated() { row[j] = mu[i, c] + fastExp(0.5 * lv[i, c]) * e[c] }
        }
        return m2.trainStep(features, store: s, noise: noise, step: step, beta: beta, counts: counts)
    }

    /// M1's posterior means of the kept dimensions for the rows of `x`, into `out` (n × kept).
    public func features(_ x: Mat, store s: ParameterStore, into out: Mat) {
        let (mu, _) = m1.encode(x, store: s)
        for i in 0..<x.rows { for (j, c) in kept.enumerated() { out[i, j] = mu[i, c] } }
    }

    public func classify(_ x: Mat, ids: UnsafeBufferPointer<Int>, store s: ParameterStore, noise: NoiseSource, probs: Mat) {
        let f = Mat(evalFeatures.pointer, x.rows, kept.count)
        features(x, store: s, into: f)
        m2.classify(f, ids: ids, store: s, noise: noise, probs: probs)
    }
}
