import Foundation
import SSLCore
import SSLData

/// Every setting of a training run. Stored in the run directory (and, later, in every checkpoint).
public struct TrainConfig: Codable, Equatable {
    public var model: ModelKind = .adgm
    public var data: String = "fashion-mnist"
    public var testData: String? = nil
    public var labelColumn: LabelColumn = .last
    public var scale: Float? = nil
    public var validation: Int? = nil
    public var validationFraction: Double = 0.1
    public var testFraction: Double = 0.2

    public var labelsPerClass: Int? = 10
    public var labels: Int? = nil
    public var includeLabelledInUnlabelled = true
    /// How --labels N picks examples; nil means stratified.
    public var labelSampling: LabelSplit.Sampling? = nil
    /// Keep at most this many training examples of each class (seeded); nil keeps all.
    public var maxPerClass: Int? = nil
    /// Weights of the classification term per class: "balanced" (inverse labelled frequency); nil or "none": all 1.
    public var classWeights: ClassWeighting? = nil
    /// p(y) of the generative models: uniform (nil, as in the papers) or the labelled proportions.
    public var classPrior: ClassPrior? = nil

    public var epochs: Int? = nil
    public var steps: Int? = nil
    public var batchSize = 100
    public var labelledBatchSize = 100

    public var hidden: [Int]? = nil
    public var latent: Int? = nil
    public var auxiliary: Int? = nil
    public var activation: Activation = .relu
    /// p(x|y,z); nil means Bernoulli (optional so configs written before it existed still decode).
    public var likelihood: Likelihood? = nil
    /// Standardise each feature with the training split's mean and std (Gaussian models); nil means no.
    public var standardize: Bool? = nil
    /// M1+M2: the trained M1 checkpoint (file or run directory) whose latent features M2 models.
    public var m1: String? = nil
    /// Monte Carlo samples N and importance samples K of every example's bound (nil: 1).
    public var mc: Int? = nil
    public var iw: Int? = nil
    public var alpha: Float? = nil
    public var learningRate: Float = 3e-4
    public var clipGradNorm: Float? = nil
    public var warmupSteps = 0
    public var binarize = true

    public var seed: UInt64 = 1
    public var evalSamples = 10
    public var evalBatchSize = 500
    /// Validate every this many epochs (and at the end).
    public var validateEvery = 1
    /// Compare a digest of the parameters across ranks every this many steps (0: never).
    public var checkEvery = 100
    /// Write a checkpoint every this many steps (0: only at the end).
    public var checkpointEvery = 1000
    /// Keep the newest this many checkpoints.
    public var keepCheckpoints = 3
    public var runDir: String? = nil

    public init() {}

    /// Default hidden/latent/auxiliary sizes: Kingma's M1 (600,600; z 50), M2 and M1+M2's M2 (500; z 50),
    /// Maaløe's ADGM and SDGM (500,500; z 100; a 100).
    public var resolvedHidden: [Int] {
        if let hidden { return hidden }
        switch model {
        case .m1: return [600, 600]
        case .m2, .m1m2, .supervised: return [500]
        case .adgm, .sdgm: return [500, 500]
        }
    }
    public var resolvedLatent: Int { latent ?? (model == .adgm || model == .sdgm ? 100 : 50) }
    public var resolvedAuxiliary: Int { auxiliary ?? 100 }
    public var resolvedRunDir: String { runDir ?? "runs/\(model.rawValue)-seed\(seed)" }
    /// M1+M2's M2 models real-valued latent features: always Gaussian.
    public var resolvedLikelihood: Likelihood { model == .m1m2 ? .gaussian : likelihood ?? .bernoulli }
    public var resolvedMC: Int { mc ?? 1 }
    public var resolvedIW: Int { iw ?? 1 }
    /// Dynamic binarisation applies to the Bernoulli likelihood only (M1+M2 feeds M1's encoder the data as they are).
    public var binarizes: Bool { binarize && resolvedLikelihood == .bernoulli }
    /// The input data must lie in [0, 1] (Bernoulli models; M1+M2 checks against its M1 instead).
    var requiresUnitRange: Bool { resolvedLikelihood == .bernoulli }

    /// α = 0.1·N_total/N_labelled unless given.
    public func resolvedAlpha(total: Int, labelled: Int) -> Float {
        alpha ?? Float(0.1 * Double(total) / Double(max(labelled, 1)))
    }

    public var splitOptions: SplitOptions {
        get throws {
            SplitOptions(validation: validation, validationFraction: validationFraction, testFraction: testFraction,
                         testData: try testData.map { try DataSpec(parsing: $0, flag: "--test-data") },
                         labelColumn: labelColumn, scale: scale, seed: seed,
                         requireUnitRange: requiresUnitRange)
        }
    }

    /// Checks that do not need the data. Errors name the flag.
    public func validate() throws {
        func bad(_ flag: String, _ why: String) -> ConfigError { ConfigError(flag: flag, problem: why) }
        if epochs == nil && steps == nil { throw bad("--epochs", "give --epochs N or --steps N") }
        if epochs != nil && steps != nil { throw bad("--steps", "give either --epochs or --steps, not both") }
        if let e = epochs, e <= 0 { throw bad("--epochs", "\(e) must be positive") }
        if let s = steps, s <= 0 { throw bad("--steps", "\(s) must be positive") }
        if batchSize < 0 || (batchSize == 0 && model != .supervised) { throw bad("--batch-size", "\(batchSize) must be positive") }
        if labelledBatchSize <= 0 { throw bad("--labelled-batch-size", "\(labelledBatchSize) must be positive") }
        if let h = hidden, h.isEmpty || h.contains(where: { $0 <= 0 }) { throw bad("--hidden", "\(h) must be positive sizes, e.g. 500,500") }
        if let z = latent, z <= 0 { throw bad("--latent", "\(z) must be positive") }
        if let a = auxiliary, a <= 0 { throw bad("--auxiliary", "\(a) must be positive") }
        if !(learningRate > 0) { throw bad("--lr", "\(learningRate) must be positive") }
        if let c = clipGradNorm, !(c > 0) { throw bad("--clip-grad-norm", "\(c) must be positive") }
        if warmupSteps < 0 { throw bad("--warmup-steps", "\(warmupSteps) must be 0 or more") }
        if evalSamples <= 0 { throw bad("--eval-samples", "\(evalSamples) must be positive") }
        if evalBatchSize <= 0 { throw bad("--eval-batch-size", "\(evalBatchSize) must be positive") }
        if validateEvery <= 0 { throw bad("--validate-every", "\(validateEvery) must be positive") }
        if checkEvery < 0 { throw bad("--check-every", "\(checkEvery) must be 0 (off) or more") }
        if checkpointEvery < 0 { throw bad("--checkpoint-every", "\(checkpointEvery) must be 0 (only at the end) or more") }
        if keepCheckpoints < 1 { throw bad("--keep-checkpoints", "\(keepCheckpoints) must be at least 1") }
        if let a = alpha, !(a >= 0) { throw bad("--alpha", "\(a) must be 0 or more") }
        if let m = maxPerClass, m <= 0 { throw bad("--max-per-class", "\(m) must be positive") }
        if model == .m1m2 {
            if m1 == nil { throw bad("--m1", "m1m2 needs the trained M1: --m1 CHECKPOINT (train it with --model m1)") }
            if likelihood == .bernoulli { throw bad("--likelihood", "m1m2's M2 models real-valued latent features: it is always gaussian") }
            if standardize == true { throw bad("--standardize", "m1m2 applies its M1's standardisation (train the M1 with --standardize)") }
        } else if m1 != nil {
            throw bad("--m1", "is for --model m1m2 (this run is \(model.rawValue))")
        }
        if classPrior == .labelled && !(model == .m2 || model == .adgm || model == .sdgm || model == .m1m2) {
            throw bad("--class-prior", "is for the models with p(y): m2, adgm, sdgm, m1m2")
        }
        if let n = mc, n < 1 { throw bad("--mc", "\(n) must be at least 1") }
        if let k = iw, k < 1 { throw bad("--iw", "\(k) must be at least 1") }
        let replicas = resolvedMC * resolvedIW
        if replicas > 10_000 { throw bad(iw != nil ? "--iw" : "--mc", "--mc × --iw is \(replicas); at most 10000 samples per example") }
        // Every sample is a row of the step's networks (K rows for an unlabelled example): keep the workspace sane.
        if (batchSize + labelledBatchSize) * replicas > 100_000 {
            throw bad(iw != nil ? "--iw" : "--mc", "(--batch-size + --labelled-batch-size) × --mc × --iw is "
                      + "\((batchSize + labelledBatchSize) * replicas) examples per step; at most 100000: use smaller batches")
        }
        if model == .supervised && resolvedMC * resolvedIW > 1 {
            throw bad(iw != nil ? "--iw" : "--mc", "the supervised baseline has no bound to sample")
        }
        if standardize == true && resolvedLikelihood == .bernoulli {
            throw bad("--standardize", "makes features real-valued; use it with --likelihood gaussian")
        }
        _ = try DataSpec(parsing: data)
        _ = try splitOptions
    }
}

/// A setting that cannot work, naming the flag.
public struct ConfigError: Error, CustomStringConvertible {
    public let flag: String
    public let problem: String
    public init(flag: String, problem: String) { self.flag = flag; self.problem = problem }
    public var description: String { "\(flag): \(problem)" }
}

/// p(y) of the generative models.
public enum ClassPrior: String, Codable, CaseIterable, Sendable {
    /// 1/K, as in Kingma's and Maaløe's models.
    case uniform
    /// The labelled examples' class proportions, add-one smoothed: for data where one class dominates.
    case labelled
}

/// How the classification term weighs the classes.
public enum ClassWeighting: String, Codable, CaseIterable, Sendable {
    case none
    /// c_k = N_l / (K·n_k) over the labelled set: every class carries the same total weight.
    case balanced
}
