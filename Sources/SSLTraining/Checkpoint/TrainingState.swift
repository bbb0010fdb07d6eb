import Foundation
import SSLCheckpoint
import SSLCore
import SSLData

/// What a checkpoint's JSON header holds besides the payload description.
public struct TrainingState: Codable {
    public struct DataPosition: Codable {
        /// The sampler is a pure function of (seed, step); these say where that puts the two streams.
        public var unlabelledEpoch: Int
        public var unlabelledBatchInEpoch: Int
        public var labelledStreamPosition: Int
    }
    public struct WarmupState: Codable {
        public var steps: Int
        public var betaAtStep: Float
    }
    public struct RNGState: Codable {
        public var generator = "philox4x32-10"
        public var seed: UInt64
        public var keyedBy = "(seed, step, global example index, stream)"
        public var nextStep: Int
    }
    public var config: TrainConfig
    public var model: ModelKind
    /// The model's configuration as the run built it (nil in format-1 checkpoints: `LoadedModel` derives it once,
    /// see `migratedModelConfig`).
    public var modelConfig: ModelConfig? = nil
    public var layout: ParameterLayout
    /// Steps completed; training continues with this step.
    public var step: Int
    public var epoch: Double
    public var dataPosition: DataPosition
    public var warmup: WarmupState
    public var rng: RNGState
    public var adamStep: Int
    public var worldSize: Int
    /// BLAS threads per rank: sgemm's summation order depends on it, so a bit-exact resume needs the same.
    public var blasThreads: Int?
    /// The matrix-product backend and precision (nil in checkpoints written before they existed: blas fp32).
    public var engine: EngineChoice? = nil
    public var engineChoice: EngineChoice { engine ?? EngineChoice(.blas, .fp32) }
    public var lastValidationAccuracy: Double?
    /// The best validation score so far and its step (`checkpoints/best.ckpt` holds that step's state).
    public var bestValidation: Double? = nil
    public var bestStep: Int? = nil
    /// Seconds spent in training steps up to this step, summed over every segment of the run (a resume continues
    /// the count), and seconds since the run began (steps, validation and checkpoints, as metrics.jsonl's
    /// `seconds`). Nil in checkpoints written before they were kept.
    public var trainingSeconds: Double? = nil
    public var elapsedSeconds: Double? = nil
    /// The training split's per-feature statistics when the run standardised its features.
    public var standardization: Standardization? = nil
    /// Format 1: M1+M2's frozen M1 (now in `modelConfig`).
    public var stack: StackedM1? = nil
    /// What the features were divided by (CSV and NPY data scaled to [0, 1]; 255 for IDX, applied when read).
    public var dataScale: Float? = nil
    /// Format 1: p(y) when it was not uniform (now in `modelConfig`).
    public var classPrior: [Float]? = nil
    /// The classes' names when the training file named them (CSV), class k = classNames[k]; nil: numbered.
    public var classNames: [String]? = nil
    /// The build that wrote the checkpoint (`ssl-dist --version`); nil before it was recorded.
    public var build: String? = nil
    public var writtenAt: String
}

/// The payload: parameters and state, Adam's m and v (parameters only), Adam's step count, and the moving average
/// of parameters and state when the store keeps one, in this order.
func payloadSections(_ store: ParameterStore, _ adam: Adam, _ adamStep: UnsafeMutablePointer<Int64>) -> [PayloadSection] {
    let values = store.values.count * MemoryLayout<Float>.size, params = store.layout.parameterCount * MemoryLayout<Float>.size
    var sections = [PayloadSection("parameters", UnsafeMutableRawPointer(store.values.pointer), bytes: values),
                    PayloadSection("adam.m", UnsafeMutableRawPointer(adam.m.pointer), bytes: params),
                    PayloadSection("adam.v", UnsafeMutableRawPointer(adam.v.pointer), bytes: params),
                    PayloadSection("adam.t", UnsafeMutableRawPointer(adamStep), bytes: 8)]
    if let a = store.average { sections.append(PayloadSection("average", UnsafeMutableRawPointer(a.pointer), bytes: values)) }
    return sections
}

/// FNV-1a over the bit patterns of every payload section (8-byte words): equal exactly when the parameters and
/// the optimizer state are equal bit for bit.
public func payloadDigest(_ sections: [PayloadSection]) -> UInt64 {
    var h = FNV1a()
    for s in sections {
        let words = s.bytes / 8
        let p = s.pointer.assumingMemoryBound(to: UInt8.self)
        for i in 0..<words { h.add(UnsafeRawPointer(p + 8 * i).loadUnaligned(as: UInt64.self)) }
        for i in (8 * words)..<s.bytes { h.add(p[i]) }
    }
    return h.value
}

/// Reads a training checkpoint's header, decoding the state it describes.
public func readTrainingState(_ reader: CheckpointReader) throws -> TrainingState {
    let dec = JSONDecoder(); dec.keyDecodingStrategy = .convertFromSnakeCase
    do { return try dec.decode(TrainingState.self, from: reader.header) } catch {
        throw CheckpointError(reader.path, "the header is not an ssl-dist training checkpoint: \(error)")
    }
}
