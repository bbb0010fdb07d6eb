import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed

/// A trained model loaded from a checkpoint, for evaluation and generation.
public struct LoadedModel {
    public let state: TrainingState
    public let path: String
    public let model: SSLModel
    /// The values every command evaluates with: the moving average of the parameters (and state) when the run kept
    /// one (`--ema`), otherwise the trained values.
    public let store: ParameterStore
    public let modelConfig: ModelConfig
    /// Whether `store` holds the moving average.
    public let averaged: Bool

    /// The run's noise, drawn as the model was trained (its seed and `ModelConfig.normals`).
    public var noise: NoiseSource { modelConfig.noise(seed: state.config.seed) }

    /// The model's classifier, or an error naming the checkpoint when it has none (M1).
    public func classifier() throws -> Classifier {
        guard let c = model as? Classifier else {
            throw TrainingError(message: "\(path) holds an \(modelConfig.kind.rawValue) model, which has no classifier q(y|x)")
        }
        return c
    }

    /// Loads `spec` (a checkpoint file, a run directory, "latest" of `runDir`, or a `latest` pointer file) on every
    /// rank. `capacity` sizes the workspace (default: 100 + 100 examples per step, and the checkpoint's evaluation
    /// chunk); `evalSamples`, `mc` and `iw` override the checkpoint's; `engine` is the matrix-product backend and
    /// precision (nil: the checkpoint's).
    public static func load(_ spec: String, runDir: String = ".", comm: Communicator, capacity: Capacity? = nil,
                            evalSamples: Int? = nil, mc: Int? = nil, iw: Int? = nil, engine: EngineChoice? = nil) throws -> LoadedModel {
        let loading = CheckpointLoading(comm: comm)
        let (state, reader) = try loading.header(spec, runDir: runDir)
        var config = try state.modelConfig ?? migratedModelConfig(state)
        if let e = evalSamples { config.evalSamples = e }
        if let n = mc { config.mc = n }
        if let k = iw { config.iw = k }
        // Bound chunks shrink with the samples per example, so the workspace stays near 100 + 100 examples' worth.
        let perChunk = max(1, 100 / config.replicas)
        let capacity = capacity ?? Capacity(labelled: perChunk, unlabelled: perChunk, evaluation: state.config.evalBatchSize)
        let model = makeModel(config, capacity: capacity, workspace: Workspace(engine: try MatMulEngine(engine ?? state.engineChoice)))
        guard model.layout == state.layout else {
            throw TrainingError(message: "the checkpoint's layout does not match the \(state.model.rawValue) model its config describes")
        }
        let store = ParameterStore(layout: model.layout)
        var hasAverage = false
        try comm.onRoot("reading the checkpoint") { hasAverage = reader!.payload.sections.contains { $0.name == "average" } }
        try comm.broadcast(&hasAverage)
        if hasAverage { store.keepAverage() }
        let adam = Adam(count: model.layout.parameterCount)
        let t = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        defer { t.deallocate() }
        try loading.payload(reader, into: payloadSections(store, adam, t))
        return LoadedModel(state: state, path: reader?.path ?? spec, model: model, store: store.averaged() ?? store,
                           modelConfig: config, averaged: hasAverage)
    }
}

/// The model configuration of a format-1 checkpoint (written before configurations were stored), derived once from
/// what its header does hold: the input size from the first layer's weights, the classes from the classifier's
/// output layer (10 without one), the sizes, activation and likelihood from the training settings, the frozen M1 and
/// the class prior from their own header fields. Class weights were not stored (they only weigh training).
func migratedModelConfig(_ state: TrainingState) throws -> ModelConfig {
    let c = state.config
    guard let d = state.layout.entries.first(where: { $0.name.hasSuffix(".l0.W_x") })?.shape.last else {
        throw TrainingError(message: "the checkpoint's layout has no input layer (W_x); cannot tell the input size")
    }
    if state.model.stacked && state.stack == nil {
        throw TrainingError(message: "the \(state.model.rawValue) checkpoint has no record of its M1 (stack); it is damaged or from another tool")
    }
    let k = state.layout.entries.first(where: { $0.name == "qy.logits.W" })?.shape.first ?? 10
    var m = ModelConfig(kind: state.model, inputDim: d, classes: k, hidden: c.resolvedHidden, latent: c.resolvedLatent,
                        auxiliary: c.resolvedAuxiliary, activation: c.activation, alpha: c.alpha ?? 0,
                        evalSamples: c.evalSamples, likelihood: c.resolvedLikelihood)
    m.mc = c.resolvedMC
    m.iw = c.resolvedIW
    m.stack = state.stack
    m.classPrior = state.classPrior
    m.normals = .double  // every format-1 run drew its noise in Double
    return m
}

/// Runs M1's encoder over every example of `data` (or those at `indices`, in that order), in chunks its workspace
/// holds: `body(start, μ, logvar)` gets each chunk's first position (an example index, or a place in `indices`) and
/// its rows of q(z|x).
public func encodeInChunks(_ m1: M1, store: ParameterStore, data: Dataset, rows indices: [Int]? = nil,
                           _ body: (Int, Mat, Mat) -> Void) {
    let d = data.dim, chunk = m1.encodeCapacity, count = indices?.count ?? data.count
    let input = Buffer(count: chunk * d)
    var start = 0
    while start < count {
        let n = min(chunk, count - start)
        data.features.withUnsafeBufferPointer { f in
            if let indices {
                for r in 0..<n { (input.pointer + r * d).update(from: f.baseAddress! + data.offset(ofExample: indices[start + r]), count: d) }
            } else {
                input.pointer.update(from: f.baseAddress! + start * d, count: n * d)
            }
        }
        let (mu, logvar) = m1.encode(Mat(input.pointer, n, d), store: store)
        body(start, mu, logvar)
        start += n
    }
}

/// The count, and per latent dimension the sum and the sum of squares, of M1's posterior mean μ(x) over the examples
/// of `data` at `indices` (accumulated in Double, in their order): `Standardization(sums:)` turns ranks' sums into the
/// spread of μ over them.
func posteriorMeanSums(_ m1: LoadedModel, _ data: Dataset, _ indices: [Int]) -> [Double] {
    guard let model = m1.model as? M1 else { return [] }
    let z = m1.modelConfig.latent
    var sums = [Double](repeating: 0, count: 1 + 2 * z)
    sums[0] = Double(indices.count)
    encodeInChunks(model, store: m1.store, data: data, rows: indices) { _, mu, _ in
        for i in 0..<mu.rows { for j in 0..<z { let v = Double(mu[i, j]); sums[1 + j] += v; sums[1 + z + j] += v * v } }
    }
    return sums
}
