import Foundation
import SSLCore
import SSLData

/// Every setting of a training run (nil: the default), as the flags and config files give them: a store of values
/// keyed by the declarations of `TrainSettings`, read and written as members (`config.vat`, `config.vat = 2`). Stored
/// in the run directory and in every checkpoint, under each declaration's Swift name. A key a config lacks reads as
/// unset (nil) for an optional setting, as JSON writes nil by leaving the key out, and as the declaration's default
/// otherwise, so configs written before a setting existed decode.
@dynamicMemberLookup
public struct TrainConfig: Codable, Equatable {
    /// The settings that differ from their declaration's default, by flag name.
    private var values: [String: AnyHashable] = [:]

    public subscript<Value>(dynamicMember path: KeyPath<TrainSettings, Setting<Value>>) -> Value {
        get { self[TrainSettings.declared[keyPath: path]] }
        set { self[TrainSettings.declared[keyPath: path]] = newValue }
    }

    subscript<Value>(setting: Setting<Value>) -> Value {
        get { values[setting.name].map { $0.base as! Value } ?? setting.defaultValue }
        set { values[setting.name] = newValue == setting.defaultValue ? nil : AnyHashable(newValue) }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: SettingKey.self)
        // Matched without case and underscores: checkpoints write snake_case, and reading it back gives
        // allreduceBucketMb for allreduceBucketMB.
        func plain(_ k: String) -> String { k.lowercased().replacingOccurrences(of: "_", with: "") }
        let present = Dictionary(container.allKeys.map { (plain($0.stringValue), $0) }, uniquingKeysWith: { a, _ in a })
        for (key, s) in TrainSettings.keyed {
            if let k = present[plain(key)] { try s.decode(container, key: k, into: &self) } else { s.clear(&self) }
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: SettingKey.self)
        for (key, s) in TrainSettings.keyed { try s.encode(self, into: &container, key: SettingKey(stringValue: key)) }
    }

    public static let defaultAllreduceBucketMB = 2.0

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
        if self.ema != nil { store.keepAverage() }
        return Adam(count: store.layout.parameterCount, learningRate: self.learningRate, clipNorm: self.clipGradNorm,
                    clipValue: self.clipGradValue, averageDecay: self.ema, trustRatio: self.resolvedOptimizer == .lamb)
    }

    /// Default hidden/latent/auxiliary sizes: Kingma's M1 (600,600; z 50), M2 and M1+M2's M2 (500; z 50),
    /// Maaløe's ADGM and SDGM (500,500; z 100; a 100).
    /// The network sizes: the given ones, else the model's recipe's (configs written before the recipes named sizes
    /// leave them unset); a model without z or a takes any value.
    /// Steps of the KL warm-up: `warmupEpochs` epochs when set, else `warmupSteps`.
    public func klWarmupSteps(stepsPerEpoch: Int) -> Int {
        self.warmupEpochs.map { Int(($0 * Double(stepsPerEpoch)).rounded()) } ?? self.warmupSteps
    }

    public var resolvedHidden: [Int] { self.hidden ?? Self.recipe(for: self.model).hidden! }
    public var resolvedLatent: Int { self.latent ?? Self.recipe(for: self.model).latent ?? 50 }
    public var resolvedAuxiliary: Int { self.auxiliary ?? Self.recipe(for: self.model).auxiliary ?? 100 }
    public var resolvedRunDir: String { self.runDir ?? "runs/\(self.model.rawValue)-seed\(self.seed)" }
    /// A stacked model models real-valued latent features: always Gaussian.
    public var resolvedLikelihood: Likelihood { self.model.stacked ? .gaussian : self.likelihood ?? .bernoulli }
    public var resolvedMC: Int { self.mc ?? 1 }
    public var resolvedIW: Int { self.iw ?? 1 }
    /// Dynamic binarisation applies to the Bernoulli likelihood only (stacked models feed M1's encoder the data as they are).
    public var binarizes: Bool { self.binarize && resolvedLikelihood == .bernoulli }
    /// The input data must lie in [0, 1] (Bernoulli models; M1+M2 checks against its M1 instead).
    var requiresUnitRange: Bool { resolvedLikelihood == .bernoulli }

    /// α = 0.1·N_total/N_labelled unless given.
    public func resolvedAlpha(total: Int, labelled: Int) -> Float {
        self.alpha ?? Float(0.1 * Double(total) / Double(max(labelled, 1)))
    }
    public var resolvedBatchNorm: Bool { self.batchNorm ?? false }

    /// These settings with those added after format-1 checkpoints set to what such a run used (all off), so a resume
    /// of one continues the same computation whatever today's defaults are.
    public func pinningFormat1Defaults() -> TrainConfig {
        var c = self
        c.batchNorm = c.batchNorm ?? false
        c.weightPrior = c.weightPrior ?? false
        c.lrSchedule = c.lrSchedule ?? .constant
        return c
    }
    public var resolvedWeightPrior: Bool { self.weightPrior ?? false }

    /// `--lr` scaled to the global batch (Goyal et al. 2017's linear rule): × B/N at a global unlabelled batch B above
    /// `lrReferenceBatch` N, at most × `maxBatchScale`; as given otherwise. The schedule starts from it; its floor
    /// (`--lr-min`) is not scaled. When the batch switches to LAMB, `--lamb-lr` instead, × √(B/N) above
    /// `lambReferenceBatch` N (m2 at 1,600 + 1,600, 15 epochs, seeds 1–3: 95.96% at 0.014 against 95.54% at 0.01 and
    /// batch 100's 95.76% after 10 epochs; docs/distributed.md).
    public var batchScaledLearningRate: Float {
        if switchesToLAMB {
            guard scalesLAMBRate else { return lambRate }
            return lambRate * (Float(self.batchSize) / Float(self.lambReferenceBatch!)).squareRoot()
        }
        guard let n = self.lrReferenceBatch, self.batchSize > n else { return self.learningRate }
        return self.learningRate * min(Float(self.batchSize) / Float(n), Self.maxBatchScale)
    }

    /// The largest factor `batchScaledLearningRate` applies: adgm at batch 800 trained at × 8 (lr 8e-3), and at 1600
    /// diverged at × 16 (validation 9% for three epochs).
    public static let maxBatchScale: Float = 8

    /// Whether the global batch is above `lambAbove` and no `--optimizer` was given: the run then trains with LAMB at
    /// `--lamb-lr` (m2 at 800 + 800, 12 epochs, seeds 1–3: 96.33% in the mean with LAMB at 0.01, 92.05% with Adam
    /// (seed 1), against 95.76% at batch 100 after 10 epochs; docs/distributed.md).
    public var switchesToLAMB: Bool { self.optimizer == nil && (self.lambAbove.map { self.batchSize > $0 } ?? false) }

    /// The update rule of this run: `--optimizer`, or LAMB when the global batch switches to it.
    public var resolvedOptimizer: OptimizerKind { switchesToLAMB ? .lamb : (self.optimizer ?? .adam) }

    /// `--lamb-lr`, 0.01 when not given: LAMB's rate before `lambReferenceBatch` scales it.
    public var lambRate: Float { self.lambLearningRate ?? 0.01 }

    /// Whether LAMB's rate is scaled up to the global batch (`--lamb-reference-batch`).
    public var scalesLAMBRate: Bool { self.lambReferenceBatch.map { self.batchSize > $0 } ?? false }

    /// Whether `--lr` is scaled up to the global batch (`--lr-reference-batch`; not when LAMB takes over).
    public var scalesLearningRate: Bool { !switchesToLAMB && batchScaledLearningRate != self.learningRate }

    /// Steps of the learning-rate warm-up (0: none): `--lr-warmup-epochs`, or when the rate is batch-scaled
    /// `--scaled-lr-warmup-epochs` (one epoch when not given).
    public func lrWarmupSteps(stepsPerEpoch: Int) -> Int {
        let scaled = scalesLearningRate ? (self.scaledLRWarmupEpochs ?? 1) : 0
        return Int(((self.lrWarmupEpochs ?? scaled) * Double(stepsPerEpoch)).rounded())
    }

    /// `--lr-schedule`, or `--lamb-schedule` when the global batch switches to LAMB (m2 at 800 + 800 on its 100-epoch
    /// schedule: LAMB at a constant rate collapsed over the last ten epochs, 91.87% at the end against 96.49% at its
    /// best), or `--scaled-lr-schedule` when `--lr-reference-batch` scales the rate (adgm at 1,600 after 15 epochs:
    /// 95.47% with the cooldown in the mean of 3 seeds; seed 1 93.60% with the cosine; docs/distributed.md).
    public var resolvedSchedule: LRScheduleKind {
        (switchesToLAMB ? self.lambSchedule : scalesLearningRate ? self.scaledLRSchedule : nil) ?? self.lrSchedule ?? .constant
    }

    /// The learning rate schedule in steps.
    public func schedule(stepsPerEpoch: Int, totalSteps: Int) -> LearningRateSchedule {
        switch resolvedSchedule {
        case .constant: return .constant
        case .step: return .step(every: (self.lrDecayEpochs ?? 200) * stepsPerEpoch, factor: self.lrDecay ?? 0.75, floor: Double(self.lrMin ?? 3e-5))
        case .cosine: return .cosine(total: totalSteps, floor: Double(self.lrMin ?? 0))
        case .cooldown:
            let start = totalSteps - Int((Double(totalSteps) * (self.lrCooldown ?? 0.2)).rounded())
            return .cooldown(start: start, total: totalSteps, floor: Double(self.lrMin ?? 0))
        }
    }

    /// The model this run trains, from these settings and the training data: the one place a `ModelConfig` is built.
    /// `labels` are the labelled examples' classes (for α's default, the labelled prior and the class weights).
    public func modelConfig(inputDim: Int, classes: Int, trainingExamples: Int, labels: [Int32], stack: StackedM1?) -> ModelConfig {
        var m = ModelConfig(kind: self.model, inputDim: inputDim, classes: classes, hidden: resolvedHidden, latent: resolvedLatent,
                            auxiliary: resolvedAuxiliary, activation: self.activation,
                            alpha: resolvedAlpha(total: trainingExamples, labelled: labels.count), evalSamples: self.evalSamples,
                            likelihood: resolvedLikelihood)
        m.mc = resolvedMC
        m.iw = resolvedIW
        m.stack = stack
        m.classifierHidden = self.classifierHidden
        m.normalize = resolvedBatchNorm
        m.auxLogVarianceMin = self.auxLogVarianceMin
        m.vat = self.vat.map {
            VATSettings(epsilon: $0 * Float(self.vatDimensions.map { (Double(inputDim) / Double($0)).squareRoot() } ?? 1),
                        weight: self.vatWeight ?? 1, xi: self.vatXi ?? 10, cleanStatistics: self.vatStatistics == .clean)
        }
        m.classBalance = (self.classBalance ?? 0) * Float(self.classBalanceDimensions.map { Double(inputDim) / Double($0) } ?? 1)
        switch self.classPrior ?? .uniform {
        case .uniform: break
        case .labelled: m.classPrior = labelledClassPrior(labels: labels, classes: classes)
        case .estimated: m.classMix = ClassMixEstimate(labelledPrior: labelledClassPrior(labels: labels, classes: classes))
        }
        if self.classWeights == .balanced { m.classWeights = balancedClassWeights(labels: labels, classes: classes) }
        return m
    }

    public var splitOptions: SplitOptions {
        get throws {
            SplitOptions(validation: self.validation, validationFraction: self.validationFraction, testFraction: self.testFraction,
                         testData: try self.testData.map { try DataSpec(parsing: $0, flag: "--test-data") },
                         labelColumn: self.labelColumn, scale: self.scale, seed: self.seed,
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
        if self.epochs == nil && self.steps == nil { throw bad("--epochs", "give --epochs N or --steps N") }
        if self.epochs != nil && self.steps != nil { throw bad("--steps", "give either --epochs or --steps, not both") }
        if self.batchSize == 0 && self.model.learnsFromUnlabelled { throw bad("--batch-size", "0 must be positive for \(self.model.rawValue)") }
        if let m = self.lrMin, m > self.learningRate, resolvedSchedule != .constant {
            throw bad("--lr-min", "\(m) is above --lr \(self.learningRate): the schedule would raise the learning rate; give a floor below --lr")
        }
        if self.classBalance != nil {
            if !self.model.semiSupervised { throw bad("--class-balance", "is for --model \(ModelKind.names { $0.semiSupervised }) (this run is \(self.model.rawValue))") }
        }
        if self.vat != nil && !self.model.adversarialCapable {
            throw bad("--vat", "is for --model \(ModelKind.names { $0.adversarialCapable }) (this run is \(self.model.rawValue))")
        }
        // A recipe's own values (--vat-dimensions, adgm's --vat-weight) are not asked for: `--vat 0` on its own turns
        // the term off.
        let recipe = Self.recipe(for: self.model)
        func given<T: Equatable>(_ value: T?, _ recipes: T?) -> Bool { value != nil && value != recipes }
        if self.vat == nil, let flag = given(self.vatWeight, recipe.vatWeight) ? "--vat-weight" : given(self.vatXi, recipe.vatXi) ? "--vat-xi"
            : given(self.vatStatistics, recipe.vatStatistics) ? "--vat-statistics" : nil {
            throw bad(flag, "sets virtual adversarial training, which is off: give --vat EPSILON too")
        }
        if self.auxLogVarianceMin != nil && !self.model.hasAuxiliary {
            throw bad("--aux-logvar-min", "is for the models with an auxiliary a: \(ModelKind.names { $0.hasAuxiliary }) (this run is \(self.model.rawValue))")
        }
        if self.model.stacked {
            let m = self.model.rawValue
            if self.m1 == nil { throw bad("--m1", "\(m) needs the trained M1: --m1 CHECKPOINT (train it with --model m1)") }
            if self.likelihood == .bernoulli { throw bad("--likelihood", "\(m) models real-valued latent features: it is always gaussian") }
            if self.standardize == true { throw bad("--standardize", "\(m) applies its M1's standardisation (train the M1 with --standardize)") }
        } else if self.m1 != nil {
            throw bad("--m1", "is for --model \(ModelKind.names { $0.stacked }) (this run is \(self.model.rawValue))")
        }
        if self.classPrior != nil && self.classPrior != .uniform && !self.model.semiSupervised {
            throw bad("--class-prior", "is for the models with p(y): \(ModelKind.names { $0.semiSupervised })")
        }
        let replicas = resolvedMC * resolvedIW
        if replicas > 10_000 { throw bad(self.iw != nil ? "--iw" : "--mc", "--mc × --iw is \(replicas); at most 10000 samples per example") }
        // Every sample is a row of the step's networks (K rows for an unlabelled example): keep the workspace sane.
        if (self.batchSize + self.labelledBatchSize) * replicas > 100_000 {
            throw bad(replicas == 1 ? "--batch-size" : self.iw != nil ? "--iw" : "--mc", "(--batch-size + --labelled-batch-size) × --mc × --iw is "
                      + "\((self.batchSize + self.labelledBatchSize) * replicas) examples per step; at most 100000: use smaller batches")
        }
        if !self.model.hasBound && replicas > 1 {
            throw bad(self.iw != nil ? "--iw" : "--mc", "--model \(self.model.rawValue) has no bound to sample")
        }
        if self.standardize == true && resolvedLikelihood == .bernoulli {
            throw bad("--standardize", "makes features real-valued; use it with --likelihood gaussian")
        }
        _ = try DataSpec(parsing: self.data)
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
