import Foundation

// B examples (labelled first, then unlabelled), K classes, D input features.

/// A model with hand-written forward and backward passes over one parameter store.
public protocol SSLModel: AnyObject {
    var config: ModelConfig { get }
    var layout: ParameterLayout { get }
    /// The batch capacity the workspace was allocated for.
    var capacity: Capacity { get }
    /// Parameters at the start of the layout that are frozen (M1 under M1+M2, M1+ADGM, M1+SDGM): no gradient, no update.
    var frozenCount: Int { get }
    /// Forward and backward for one local batch; *adds* gradients of the objective into `store.grads`.
    /// The objective is normalised by the global counts, so summing gradients over ranks gives the gradient of the
    /// global batch. With batch normalisation every rank must call it at the same time (batch statistics are global).
    func trainStep(_ batch: Batch, store: ParameterStore, noise: NoiseSource, step: Int, beta: Float,
                   counts: GlobalCounts) -> LossSums
}

public extension SSLModel {
    var frozenCount: Int { 0 }
}

/// A model with a bound on −log p(x): everything but the supervised baseline.
public protocol BoundModel: SSLModel {
    /// The bounds of `batch` at β = 1 from a forward pass only (no gradient; batch normalisation uses its running
    /// statistics): Σ L(x,y) over the labelled examples and Σ U(x) over the unlabelled ones (for M1, both its bound).
    func bound(_ batch: Batch, store: ParameterStore, noise: NoiseSource, step: Int) -> LossSums
}

/// A model whose training step and forward-only bound are one pass through `run`: with `.training` the backward pass
/// too, with `.inference` (β = 1, each example counted once) the forward pass and the loss sums only.
public protocol PassModel: BoundModel {
    func run(_ given: Batch, store: ParameterStore, noise: NoiseSource, step: Int, beta: Float, counts: GlobalCounts,
             pass: Pass) -> LossSums
}

extension PassModel {
    public func trainStep(_ batch: Batch, store: ParameterStore, noise: NoiseSource, step: Int, beta: Float,
                          counts: GlobalCounts) -> LossSums {
        run(batch, store: store, noise: noise, step: step, beta: beta, counts: counts, pass: .training)
    }

    public func bound(_ batch: Batch, store: ParameterStore, noise: NoiseSource, step: Int) -> LossSums {
        run(batch, store: store, noise: noise, step: step, beta: 1, counts: .perExample(batch), pass: .inference)
    }
}

/// A model with a classifier q(y|x): everything but M1.
public protocol Classifier: SSLModel {
    /// Class probabilities q(y|x) for the rows of `x` (at most `capacity.evaluation`), into `probs` (B×K).
    /// `ids` key evaluation noise (ADGM's samples of a).
    func classify(_ x: Mat, ids: UnsafeBufferPointer<Int>, store: ParameterStore, noise: NoiseSource, probs: Mat)
}

/// A model with a generative side: p(x|y,z) to decode, q(z|x,y) to encode.
public protocol GenerativeModel: Classifier, BoundModel {
    /// The means of p(x|y,z) for each row (z_r, y_r), into `means` (n×D).
    func decode(z: Mat, labels: [Int32], store: ParameterStore, into means: Mat)
    /// The posterior mean of q(z|x,y) for each row (x_r, y_r), into `z` (n×Z). ADGM uses a = μ_a(x).
    func encodeMean(x: Mat, labels: [Int32], store: ParameterStore, into z: Mat)
}

/// The model `config` describes, its workspace allocated for `capacity`, its products computed by the workspace's
/// engine (each kind says how it is built: `ModelKind.build`).
public func makeModel(_ config: ModelConfig, capacity: Capacity, workspace: Workspace = Workspace()) -> SSLModel {
    var layout = ParameterLayout()
    return config.kind.build(config, capacity, &layout, workspace)
}

/// Runs a plain x → logits classifier (inference) and writes softmax probabilities.
func classifyWithMLP(_ net: MLP, x: Mat, identity: inout RowMap, store s: ParameterStore, probs: Mat) {
    identity.buildIdentity(count: x.rows)
    net.forward(s, inputs: [x], map: identity, pass: .inference)
    logSoftmax(net.out[0], into: probs)
    for i in 0..<probs.count { probs.p[i] = Foundation.exp(probs.p[i]) }
}

/// The means of p(x|y,z) from a decoder network `net` taking [y, z], for rows (z_r, y_r).
func decodeMeans(_ net: MLP, _ obs: ObservationModel, z: Mat, labels: [Int32], classes: Int, map: inout RowMap,
                 store s: ParameterStore, into means: Mat) {
    map.build(labels: labels, unlabelled: 0, classes: classes)
    net.forward(s, inputs: [z, z], map: map, pass: .inference)
    obs.means(net.out[0], into: means)
}
