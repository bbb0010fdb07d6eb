import Foundation
import SSLCore
import SSLData

/// Every setting of a training run, as the flags and config files give them (nil: the default). Stored in the run
/// directory and in every checkpoint. `TrainSettings` is the one table that maps each to its flag and key.
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
    /// A file of training-split positions whose examples carry the labels (instead of a seeded draw).
    public var labelledFile: String? = nil
    public var includeLabelledInUnlabelled = true
    /// How --labels N picks examples; nil means stratified.
    public var labelSampling: LabelSplit.Sampling? = nil
    /// Keep at most this many training examples of each class (seeded); nil keeps all.
    public var maxPerClass: Int? = nil
    /// Weights of the classification term per class: "balanced" (inverse labelled frequency); nil or "none": all 1.
    public var classWeights: ClassWeighting? = nil
    /// p(y) of the generative models and the class-balance term's target: uniform (nil, as in the papers), the
    /// labelled proportions, or estimated (p(y) uniform, the term's target the estimated mix of the unlabelled data).
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
    /// M1+M2, M1+ADGM, M1+SDGM: the trained M1 checkpoint (file or run directory) whose latent features they model.
    public var m1: String? = nil
    /// Monte Carlo samples N and importance samples K of every example's bound (nil: 1).
    public var mc: Int? = nil
    public var iw: Int? = nil
    public var alpha: Float? = nil
    public var learningRate: Float = 3e-4
    /// Adam (nil) or LAMB (Adam with a trust ratio per tensor: `--lr` is then each step's size relative to a tensor's norm).
    public var optimizer: OptimizerKind? = nil
    public var clipGradNorm: Float? = nil
    /// Clip every gradient element to ±this (after the norm clipping).
    public var clipGradValue: Float? = nil
    /// The learning-rate schedule (nil: constant) and its parameters.
    public var lrSchedule: LRScheduleKind? = nil
    public var lrDecay: Double? = nil
    public var lrDecayEpochs: Int? = nil
    public var lrMin: Float? = nil
    /// The rate rises linearly from lr/steps to the schedule's over this many epochs (nil: from the first step).
    public var lrWarmupEpochs: Double? = nil
    /// An N(0, 1) prior on the weights, scaled by 1/N (weight decay).
    public var weightPrior: Bool? = nil
    /// Batch normalisation in every network.
    public var batchNorm: Bool? = nil
    /// λ of the class-balance term λ·(KL(q̄(y) ‖ p(y)) + mean H(q(y|x))) on the unlabelled examples (nil: none).
    public var classBalance: Float? = nil
    /// λ is given per this many input dimensions: the term's λ is scaled by D/this (the recipes: 784, MNIST's, so the
    /// term keeps its weight against a bound that grows with the input's dimension); nil: not scaled (runs before it).
    public var classBalanceDimensions: Int? = nil
    /// ADGM, SDGM: the lowest log-variance of p(a|·) (nil: −40, `logVarianceFloor`); see `ModelConfig.auxLogVarianceMin`.
    public var auxLogVarianceMin: Float? = nil
    /// Virtual adversarial training of the classifier: ε, the L2 size of each example's perturbation (nil: off), λ the
    /// term's weight (nil: 1) and ξ the power iteration's step (nil: 10); see `VirtualAdversarial`.
    public var vat: Float? = nil
    public var vatWeight: Float? = nil
    public var vatXi: Float? = nil
    /// ε is given per this many input dimensions and scaled by √(D/this) for D-dimensional data: the same size per
    /// feature (ε/√784 = 0.071 per pixel at ε 2 on MNIST) whatever D is (nil: ε as given).
    public var vatDimensions: Int? = nil
    /// How weight matrices start (nil: Glorot-uniform, as in every run before this setting existed).
    public var initialization: WeightInit? = nil
    /// Decay of an exponential moving average of the parameters, used for validation, test and every command that
    /// loads the checkpoint (nil: none).
    public var ema: Float? = nil
    /// KL warm-up: β rises linearly from 0 to 1 over this many steps, or over `warmupEpochs` epochs when that is set
    /// (the recipe of m1; a run's steps per epoch are known once its data are read: `warmupSteps(stepsPerEpoch:)`).
    public var warmupSteps = 0
    public var warmupEpochs: Double? = nil
    public func warmupSteps(stepsPerEpoch: Int) -> Int {
        warmupEpochs.map { Int(($0 * Double(stepsPerEpoch)).rounded()) } ?? warmupSteps
    }
    public var binarize = true

    public var seed: UInt64 = 1
    public var evalSamples = 10
    public var evalBatchSize = 500
    /// Validate every this many epochs (and at the end).
    public var validateEvery = 1
    /// Several ranks: the size of the gradient buckets summed while backward goes on (nil: the default; 0: one
    /// allreduce after backward). Bit-identical resume needs the same world size and the same buckets.
    public var allreduceBucketMB: Double? = nil
    public static let defaultAllreduceBucketMB = 2.0
    /// Compare a digest of the parameters across ranks every this many steps (0: never).
    public var checkEvery = 100
    /// Write a checkpoint every this many steps (0: only at the end).
    public var checkpointEvery = 1000
    /// Keep the newest this many checkpoints.
    public var keepCheckpoints = 3
    public var runDir: String? = nil

    /// The bare settings, without a model's recipe: what format-1 checkpoints and the library's callers start from.
    /// New runs of `ssl-dist train` start from `recipe(for:)` instead.
    public init() {}

    /// The settings a new run of `model` starts from: the bare settings with the model's recipe (`ModelKind.recipe`,
    /// flags read by the command line's parser; why each value is there is written beside the model's declaration).
    /// Every value lands in the run's config.json and checkpoints, so a later change of a recipe never changes a
    /// resumed run.
    public static func recipe(for model: ModelKind) -> TrainConfig {
        var c = TrainConfig()
        c.model = model
        do {
            return try TrainSettings.apply(try TrainSettings.parse(arguments: model.recipe.split(separator: " ").map(String.init)), to: c)
        } catch {
            preconditionFailure("the recipe of \(model) does not parse: \(error)")
        }
    }

    /// Adam as these settings train with it: the learning rate, clipping by norm and by value, and the moving average
    /// of the parameters, which `store` is made to keep.
    public func makeOptimizer(for store: ParameterStore) -> Adam {
        if ema != nil { store.keepAverage() }
        return Adam(count: store.layout.parameterCount, learningRate: learningRate, clipNorm: clipGradNorm,
                    clipValue: clipGradValue, averageDecay: ema, trustRatio: optimizer == .lamb)
    }

    /// Default hidden/latent/auxiliary sizes: Kingma's M1 (600,600; z 50), M2 and M1+M2's M2 (500; z 50),
    /// Maaløe's ADGM and SDGM (500,500; z 100; a 100).
    /// The network sizes: the given ones, else the model's recipe's (configs written before the recipes named sizes
    /// leave them unset); a model without z or a takes any value.
    public var resolvedHidden: [Int] { hidden ?? Self.recipe(for: model).hidden! }
    public var resolvedLatent: Int { latent ?? Self.recipe(for: model).latent ?? 50 }
    public var resolvedAuxiliary: Int { auxiliary ?? Self.recipe(for: model).auxiliary ?? 100 }
    public var resolvedRunDir: String { runDir ?? "runs/\(model.rawValue)-seed\(seed)" }
    /// A stacked model models real-valued latent features: always Gaussian.
    public var resolvedLikelihood: Likelihood { model.stacked ? .gaussian : likelihood ?? .bernoulli }
    public var resolvedMC: Int { mc ?? 1 }
    public var resolvedIW: Int { iw ?? 1 }
    /// Dynamic binarisation applies to the Bernoulli likelihood only (stacked models feed M1's encoder the data as they are).
    public var binarizes: Bool { binarize && resolvedLikelihood == .bernoulli }
    /// The input data must lie in [0, 1] (Bernoulli models; M1+M2 checks against its M1 instead).
    var requiresUnitRange: Bool { resolvedLikelihood == .bernoulli }

    /// α = 0.1·N_total/N_labelled unless given.
    public func resolvedAlpha(total: Int, labelled: Int) -> Float {
        alpha ?? Float(0.1 * Double(total) / Double(max(labelled, 1)))
    }
    public var resolvedBatchNorm: Bool { batchNorm ?? false }

    /// These settings with those added after format-1 checkpoints set to what such a run used (all off), so a resume
    /// of one continues the same computation whatever today's defaults are.
    public func pinningFormat1Defaults() -> TrainConfig {
        var c = self
        c.batchNorm = c.batchNorm ?? false
        c.weightPrior = c.weightPrior ?? false
        c.lrSchedule = c.lrSchedule ?? .constant
        return c
    }
    public var resolvedWeightPrior: Bool { weightPrior ?? false }

    /// The learning rate schedule in steps.
    /// Steps of the learning-rate warm-up (0: none).
    public func lrWarmupSteps(stepsPerEpoch: Int) -> Int { Int(((lrWarmupEpochs ?? 0) * Double(stepsPerEpoch)).rounded()) }

    public func schedule(stepsPerEpoch: Int, totalSteps: Int) -> LearningRateSchedule {
        switch lrSchedule ?? .constant {
        case .constant: return .constant
        case .step: return .step(every: (lrDecayEpochs ?? 200) * stepsPerEpoch, factor: lrDecay ?? 0.75, floor: Double(lrMin ?? 3e-5))
        case .cosine: return .cosine(total: totalSteps, floor: Double(lrMin ?? 0))
        }
    }

    /// The model this run trains, from these settings and the training data: the one place a `ModelConfig` is built.
    /// `labels` are the labelled examples' classes (for α's default, the labelled prior and the class weights).
    public func modelConfig(inputDim: Int, classes: Int, trainingExamples: Int, labels: [Int32], stack: StackedM1?) -> ModelConfig {
        var m = ModelConfig(kind: model, inputDim: inputDim, classes: classes, hidden: resolvedHidden, latent: resolvedLatent,
                            auxiliary: resolvedAuxiliary, activation: activation,
                            alpha: resolvedAlpha(total: trainingExamples, labelled: labels.count), evalSamples: evalSamples,
                            likelihood: resolvedLikelihood)
        m.mc = resolvedMC
        m.iw = resolvedIW
        m.stack = stack
        m.normalize = resolvedBatchNorm
        m.auxLogVarianceMin = auxLogVarianceMin
        m.vat = vat.map {
            VATSettings(epsilon: $0 * Float(vatDimensions.map { (Double(inputDim) / Double($0)).squareRoot() } ?? 1),
                        weight: vatWeight ?? 1, xi: vatXi ?? 10)
        }
        m.classBalance = (classBalance ?? 0) * Float(classBalanceDimensions.map { Double(inputDim) / Double($0) } ?? 1)
        switch classPrior ?? .uniform {
        case .uniform: break
        case .labelled: m.classPrior = labelledClassPrior(labels: labels, classes: classes)
        case .estimated: m.classMix = ClassMixEstimate(labelledPrior: labelledClassPrior(labels: labels, classes: classes))
        }
        if classWeights == .balanced { m.classWeights = balancedClassWeights(labels: labels, classes: classes) }
        return m
    }

    public var splitOptions: SplitOptions {
        get throws {
            SplitOptions(validation: validation, validationFraction: validationFraction, testFraction: testFraction,
                         testData: try testData.map { try DataSpec(parsing: $0, flag: "--test-data") },
                         labelColumn: labelColumn, scale: scale, seed: seed,
                         requireUnitRange: requiresUnitRange)
        }
    }

    /// Checks that do not need the data. Errors name the flag. Each setting's own range is checked by its declaration
    /// in `TrainSettings` (every value is put through it again here); what follows are the rules between settings.
    public func validate() throws {
        func bad(_ flag: String, _ why: String) -> ConfigError { ConfigError(flag: flag, problem: why) }
        var copy = self
        for s in TrainSettings.all {
            guard let v = s.get(self) else { continue }
            do { try s.set(&copy, v) } catch let e as SettingError { throw bad("--\(s.name)", e.problem) }
        }
        if epochs == nil && steps == nil { throw bad("--epochs", "give --epochs N or --steps N") }
        if epochs != nil && steps != nil { throw bad("--steps", "give either --epochs or --steps, not both") }
        if batchSize == 0 && model != .supervised { throw bad("--batch-size", "0 must be positive for \(model.rawValue)") }
        if let m = lrMin, m > learningRate, (lrSchedule ?? .constant) != .constant {
            throw bad("--lr-min", "\(m) is above --lr \(learningRate): the schedule would raise the learning rate; give a floor below --lr")
        }
        if classBalance != nil {
            if !model.semiSupervised { throw bad("--class-balance", "is for --model \(ModelKind.names { $0.semiSupervised }) (this run is \(model.rawValue))") }
        }
        if vat != nil && !model.semiSupervised {
            throw bad("--vat", "is for --model \(ModelKind.names { $0.semiSupervised }) (this run is \(model.rawValue))")
        }
        // (--vat-dimensions is in the recipes, so `--vat 0` on its own turns the term off.)
        if vat == nil, let flag = vatWeight != nil ? "--vat-weight" : vatXi != nil ? "--vat-xi" : nil {
            throw bad(flag, "sets virtual adversarial training, which is off: give --vat EPSILON too")
        }
        if auxLogVarianceMin != nil && !model.hasAuxiliary {
            throw bad("--aux-logvar-min", "is for the models with an auxiliary a: \(ModelKind.names { $0.hasAuxiliary }) (this run is \(model.rawValue))")
        }
        if model.stacked {
            let m = model.rawValue
            if m1 == nil { throw bad("--m1", "\(m) needs the trained M1: --m1 CHECKPOINT (train it with --model m1)") }
            if likelihood == .bernoulli { throw bad("--likelihood", "\(m) models real-valued latent features: it is always gaussian") }
            if standardize == true { throw bad("--standardize", "\(m) applies its M1's standardisation (train the M1 with --standardize)") }
        } else if m1 != nil {
            throw bad("--m1", "is for --model \(ModelKind.names { $0.stacked }) (this run is \(model.rawValue))")
        }
        if classPrior != nil && classPrior != .uniform && !model.semiSupervised {
            throw bad("--class-prior", "is for the models with p(y): \(ModelKind.names { $0.semiSupervised })")
        }
        let replicas = resolvedMC * resolvedIW
        if replicas > 10_000 { throw bad(iw != nil ? "--iw" : "--mc", "--mc × --iw is \(replicas); at most 10000 samples per example") }
        // Every sample is a row of the step's networks (K rows for an unlabelled example): keep the workspace sane.
        if (batchSize + labelledBatchSize) * replicas > 100_000 {
            throw bad(replicas == 1 ? "--batch-size" : iw != nil ? "--iw" : "--mc", "(--batch-size + --labelled-batch-size) × --mc × --iw is "
                      + "\((batchSize + labelledBatchSize) * replicas) examples per step; at most 100000: use smaller batches")
        }
        if model == .supervised && replicas > 1 {
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
    /// p(y) uniform; the class-balance term's target is the unlabelled data's class mix, estimated early in training
    /// by EM from the classifier's predictions (`ClassMixEstimate`). The semi-supervised recipes' default.
    case estimated
}

/// The update rule.
public enum OptimizerKind: String, Codable, CaseIterable, Sendable {
    case adam
    /// Adam's direction, each tensor's step scaled to lr·‖W‖ (LAMB): measured to keep m2's accuracy per epoch at a
    /// global batch of 800 (docs/distributed.md).
    case lamb
}

/// How the learning rate changes with the step.
public enum LRScheduleKind: String, Codable, CaseIterable, Sendable {
    case constant
    /// ×--lr-decay every --lr-decay-epochs epochs, never below --lr-min (Maaløe's: 0.75 every 200, floor 3e-5).
    case step
    /// Cosine from --lr down to --lr-min over the run.
    case cosine
}

/// How the classification term weighs the classes.
public enum ClassWeighting: String, Codable, CaseIterable, Sendable {
    case none
    /// c_k = N_l / (K·n_k) over the labelled set: every class carries the same total weight.
    case balanced
}

