// B examples, D input, Z₁ M1's latent, F kept dimensions of z₁.

extension ModelKind {
    /// M2's recipe on its M1's features (Adam 1e-3, clipping to ±1, α 10, the moving average; features are never
    /// binarised), with virtual adversarial training on those features at ε 2 (as given: the features are M1's
    /// posterior means, about unit scale): on MNIST-100, 30 epochs, seeds 1–3, 96.85% against 94.34% without; 60
    /// epochs 97.34% (seed 1); on 10:1 imbalanced MNIST balanced accuracy 93.7% against 88.6%, on Fashion-MNIST 74.65%
    /// against 74.45% (seed 1 each; docs/results.md). M1+ADGM and M1+SDGM take ADGM's and SDGM's recipes without VAT.
    /// All three model real-valued features: a Gaussian likelihood (the only one they accept).
    public static let m1m2 = ModelKind("m1m2", labelSum: true, stacks: "m2",
                                       recipe: "--hidden 500 --latent 50 --lr 1e-3 --clip-grad-value 1 --alpha 10 --ema 0.999 "
                                           + "--likelihood gaussian --vat 2 " + classBalanceRecipe) { c, capacity, _, ws in
        StackedModel(c, capacity: capacity, workspace: ws)
    }
    public static let m1adgm = ModelKind("m1adgm", stacks: "adgm", recipe: auxiliaryRecipe + " --likelihood gaussian") {
        c, capacity, _, ws in
        StackedModel(c, capacity: capacity, workspace: ws)
    }
    public static let m1sdgm = ModelKind("m1sdgm", stacks: "sdgm", recipe: auxiliaryRecipe + " --likelihood gaussian") {
        c, capacity, _, ws in
        StackedModel(c, capacity: capacity, workspace: ws)
    }
}

/// M1+M2 of Kingma et al. 2014: M2 with a Gaussian likelihood on the latent features z₁ of a trained, frozen M1; and
/// in the same way M1+ADGM and M1+SDGM (`config.kind.inner`), the models of Maaløe et al. 2016 on those features.
///
/// Each step draws z₁ ~ q(z₁|x) afresh for every example (keyed by seed, step, example), keeps the dimensions
/// listed in `stack.kept` (those whose posterior mean varies, std ≥ 0.1 over the training split, as in Kingma's
/// code) and runs the inner model on them. The classifier is q(y|μ₁(x)) (ADGM, SDGM: q(y|a, μ₁(x)) averaged over
/// their samples of a): raw x goes through M1's encoder to its posterior mean, so evaluation takes the same data as
/// every other model. M1's parameters come first in the layout (`frozenCount` of them) and get no gradient: the
/// trainer neither reduces nor updates them; M1's networks always run in inference (batch normalisation with M1's own
/// running statistics).
///
/// Generation goes down both models: z₂ ~ N(0, I) and y give the inner model's mean of z₁'s kept dimensions (the
/// others, which M1 left at its prior, at 0), and M1's decoder turns that z₁ into the means of p(x|z₁).
public final class StackedModel: GenerativeModel {
    public let config: ModelConfig
    public let layout: ParameterLayout
    public let capacity: Capacity
    public let m1: M1
    /// M2, ADGM or SDGM on the kept dimensions of z₁.
    public let inner: GenerativeModel
    public let frozenCount: Int
    let kept: [Int]
    let features: Batch
    let evalFeatures: Buffer
    let epsBuffer: Buffer

    public init(_ config: ModelConfig, capacity: Capacity, workspace ws: Workspace) {
        guard let stack = config.stack else { preconditionFailure("a stacked model needs config.stack (the frozen M1)") }
        self.config = config
        self.capacity = capacity
        kept = stack.kept
        var layout = ParameterLayout()
        m1 = M1(StackedModel.m1Config(config), capacity: capacity, layout: &layout, prefix: "m1.", workspace: ws)
        frozenCount = layout.parameterCount
        var innerConfig = config
        innerConfig.kind = config.kind.inner; innerConfig.inputDim = stack.kept.count; innerConfig.likelihood = .gaussian
        innerConfig.stack = nil
        guard config.kind.stacked, let generative = innerConfig.kind.build(innerConfig, capacity, &layout, ws) as? GenerativeModel else {
            preconditionFailure("\(config.kind.rawValue) is not a model on an M1's features")
        }
        inner = generative
        self.layout = layout
        features = Batch(capacity: capacity.labelled + capacity.unlabelled, features: kept.count)
        epsBuffer = Buffer(count: capacity.examples * stack.latent)
        evalFeatures = Buffer(count: capacity.examples * kept.count)
    }

    /// The configuration of the M1 under a stacked configuration.
    public static func m1Config(_ config: ModelConfig) -> ModelConfig {
        let stack = config.stack!
        var c = ModelConfig(kind: .m1, inputDim: config.inputDim, classes: config.classes, hidden: stack.hidden,
                            latent: stack.latent, auxiliary: 0, activation: stack.activation, alpha: 0, evalSamples: 1,
                            likelihood: stack.likelihood)
        c.normalize = stack.normalize ?? false
        return c
    }

    /// Copies a trained M1's parameters and state (`m1Store`, laid out as a standalone M1 of `m1Config`) into this
    /// model's frozen part of `store`. Throws when the M1 does not have this model's M1 architecture.
    public func loadFrozenM1(from m1Store: ParameterStore, into store: ParameterStore) throws {
        let mine = m1.layout, theirs = m1Store.layout
        let sameShapes = mine.entries.count <= layout.entries.count
            && theirs.entries.map(\.shape) == Array(layout.entries.prefix(theirs.entries.count)).map(\.shape)
            && theirs.parameterCount == frozenCount
        guard sameShapes, theirs.entries.count == mine.entries.count else {
            throw ModelError("the M1 checkpoint's \(theirs.entries.count) tensors (\(theirs.parameterCount) parameters) do not "
                             + "match \(config.kind.rawValue)'s frozen M1 (\(mine.entries.count) tensors, \(frozenCount) parameters)")
        }
        store.values.pointer.update(from: m1Store.values.pointer, count: frozenCount)
        // M1's state (batch normalisation's running statistics) opens the state region.
        (store.values.pointer + layout.parameterCount).update(from: m1Store.values.pointer + frozenCount, count: theirs.stateCount)
    }

    /// z₁ ~ q(z₁|x) of every example of `batch`, its kept dimensions as the inner model's batch (noise keyed by seed, step, example).
    func sampleFeatures(_ batch: Batch, store s: ParameterStore, noise: NoiseSource, step: Int) -> Batch {
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
        return features
    }

    public func trainStep(_ batch: Batch, store s: ParameterStore, noise: NoiseSource, step: Int, beta: Float,
                          counts: GlobalCounts) -> LossSums {
        inner.trainStep(sampleFeatures(batch, store: s, noise: noise, step: step), store: s, noise: noise, step: step,
                     beta: beta, counts: counts)
    }

    public func bound(_ batch: Batch, store s: ParameterStore, noise: NoiseSource, step: Int) -> LossSums {
        inner.bound(sampleFeatures(batch, store: s, noise: noise, step: step), store: s, noise: noise, step: step)
    }

    /// M1's posterior means of the kept dimensions for the rows of `x`, into `out` (n × kept).
    public func features(_ x: Mat, store s: ParameterStore, into out: Mat) {
        let (mu, _) = m1.encode(x, store: s)
        for i in 0..<x.rows { for (j, c) in kept.enumerated() { out[i, j] = mu[i, c] } }
    }

    /// `features` of the rows of `x` in this model's own buffer (valid until the next call).
    func featureMeans(_ x: Mat, store s: ParameterStore) -> Mat {
        let f = Mat(evalFeatures.pointer, x.rows, kept.count)
        features(x, store: s, into: f)
        return f
    }

    public func classify(_ x: Mat, ids: UnsafeBufferPointer<Int>, store s: ParameterStore, noise: NoiseSource, probs: Mat) {
        inner.classify(featureMeans(x, store: s), ids: ids, store: s, noise: noise, probs: probs)
    }

    public func decode(z: Mat, labels: [Int32], store s: ParameterStore, into means: Mat) {
        let f = Mat(evalFeatures.pointer, z.rows, kept.count)
        inner.decode(z: z, labels: labels, store: s, into: f)
        let z1 = Mat(epsBuffer.pointer, z.rows, m1.config.latent)
        z1.zero()
        for i in 0..<z.rows { for (j, c) in kept.enumerated() { z1[i, c] = f[i, j] } }
        m1.decode(z: z1, store: s, into: means)
    }

    /// The inner model's posterior mean of z₂ given M1's posterior mean of z₁ (kept dimensions) and the label.
    public func encodeMean(x: Mat, labels: [Int32], store s: ParameterStore, into z: Mat) {
        inner.encodeMean(x: featureMeans(x, store: s), labels: labels, store: s, into: z)
    }
}

/// A model that cannot be built or loaded as asked, saying why.
public struct ModelError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
