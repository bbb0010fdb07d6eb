import Foundation
import SSLCore
import SSLData

/// Every training setting, declared once each, in the order `--help` and `--print-config` show them: its flag (also
/// the TOML key), its default before a model's recipe (`ModelKind.recipe`), the range of a given value, its help, and
/// whether it may change on resume. The Swift name of a declaration is how code reads the setting (`config.vat`, see
/// `TrainConfig`) and its key in config.json and checkpoints. A new setting is one line here, beside its use.
public struct TrainSettings {
    public let model = Setting<ModelKind>("model", .adgm, "the model")
    public let data = Setting<String>("data", "fashion-mnist",
        "dataset: fashion-mnist, mnist:DIR, idx:IMAGES,LABELS, csv:PATH, npy:X.npy,Y.npy, cube:SPECTRA.npy,GROUND_TRUTH.npy")
    public let testData = Setting<String?>("test-data", nil, "a separate test set (same forms), for data without a test split")
    public let labelColumn = Setting<LabelColumn>("label-column", .last,
        "CSV label column: first, last (default), a column number counted from 1, or a header name")
    public let scale = Setting<Float?>("scale", nil, "divide CSV/NPY features by this (default: the training maximum)")
    public let validation = Setting<Int?>("validation", nil, check: SettingChecks.atLeast(0),
        "MNIST family: validation examples from the end of train (default 10000)")
    public let validationFraction = Setting<Double>("validation-fraction", 0.1,
        "stratified validation fraction, of what the test split leaves, for data without a test split (0.1 with --test-fraction 0.2: 8% of all)")
    public let testFraction = Setting<Double>("test-fraction", 0.2,
        "stratified test fraction of all examples, taken first, for data without a test split")
    public let labelsPerClass = Setting<Int?>("labels-per-class", 10, replaces: ["labels", "labelled-file"], "labelled examples per class")
    public let labels = Setting<Int?>("labels", nil, replaces: ["labels-per-class", "labelled-file"],
        "labelled examples in total (instead of labels-per-class)")
    /// A file of training-split positions whose examples carry the labels (instead of a seeded draw).
    public let labelledFile = Setting<String?>("labelled-file", nil, replaces: ["labels-per-class", "labels"],
        "train on these labelled examples (instead of a draw): training-split positions, one per line, as a run's labelled.txt")
    public let includeLabelledInUnlabelled = Setting<Bool>("include-labelled-in-unlabelled", true, "labelled examples also in the unlabelled set")
    /// How --labels N picks examples; nil means stratified.
    public let labelSampling = Setting<LabelSplit.Sampling?>("label-sampling", nil, "how --labels N picks (default stratified)")
    public let maxPerClass = Setting<Int?>("max-per-class", nil, check: SettingChecks.atLeast(1), "keep at most N training examples per class (seeded)")
    /// Weights of the classification term per class: balanced (inverse labelled frequency); nil or none: all 1.
    public let classWeights = Setting<ClassWeighting?>("class-weights", nil, "weights of the classification term (default none)")
    /// p(y) of the generative models and the class-balance term's target (`ClassPrior`; nil: uniform, as in the papers).
    public let classPrior = Setting<ClassPrior?>("class-prior", nil,
        "p(y) and the class-balance term's target (semi-supervised default estimated: p(y) uniform, the target the unlabelled data's class mix estimated while training; uniform, as in the papers; labelled: the labelled proportions)")

    public let epochs = Setting<Int?>("epochs", nil, check: SettingChecks.positive, replaces: ["steps"], resume: true,
        "train until this epoch (a pass of batch-size over the unlabelled set)")
    public let steps = Setting<Int?>("steps", nil, check: SettingChecks.positive, replaces: ["epochs"], resume: true,
        "train until this step (instead of epochs)")
    /// The unlabelled set in this many contiguous shards, each rank reading only its own (`GlobalBatchSampler`); nil:
    /// one permutation of the whole set per epoch, every rank reading all of it (the order of every run before shards:
    /// a config without the key).
    public let shards = Setting<Int?>("shards", 256, zeroIsOff: true, check: SettingChecks.positive,
        "cut the unlabelled set into N shards, shuffled within each every epoch and taken round-robin; rank r reads only "
        + "shards r, r+W, … (W ranks), and the global batch is the same for every W ≤ N")
    public let batchSize = Setting<Int>("batch-size", 100, check: SettingChecks.atLeast(0), "global unlabelled batch per step")
    public let labelledBatchSize = Setting<Int>("labelled-batch-size", 100, check: SettingChecks.atLeast(1), "global labelled batch per step")

    public let hidden = Setting<[Int]?>("hidden", nil, check: SettingChecks.sizes, "hidden sizes, e.g. 500,500")
    public let classifierHidden = Setting<[Int]?>("classifier-hidden", nil, check: SettingChecks.sizes,
        "hidden sizes of the classifier q(y|·), e.g. 1200,600,300,150 (unset: --hidden)")
    public let latent = Setting<Int?>("latent", nil, check: SettingChecks.atLeast(1), "latent size z")
    public let auxiliary = Setting<Int?>("auxiliary", nil, check: SettingChecks.atLeast(1), "auxiliary size a")
    public let activation = Setting<Activation>("activation", .relu, "hidden activation")
    /// p(x|y,z); nil means Bernoulli.
    public let likelihood = Setting<Likelihood?>("likelihood", nil,
        "p(x|·): bernoulli for binary or [0, 1] data, gaussian for real values (the stacked models: always gaussian)")
    public let standardize = Setting<Bool?>("standardize", nil, "standardise each feature with the training split's mean and std")
    /// How weight matrices start (nil: Glorot-uniform, as in every run before this setting existed).
    public let initialization = Setting<WeightInit?>("init", nil,
        "how weight matrices start: Glorot-uniform, or U(±1/√fan_in) over the whole layer (PyTorch's default)")
    public let batchNorm = Setting<Bool?>("batch-norm", nil, "batch normalisation in every network, statistics over all ranks")
    /// M1+M2, M1+ADGM, M1+SDGM: the trained M1 checkpoint (file or run directory) whose latent features they model.
    public let m1 = Setting<String?>("m1", nil, "m1m2, m1adgm, m1sdgm: the trained M1 (checkpoint file or run directory)")
    public let mc = Setting<Int?>("mc", nil, check: SettingChecks.atLeast(1), "Monte Carlo samples of each example's bound (default 1)")
    public let iw = Setting<Int?>("iw", nil, check: SettingChecks.atLeast(1), "importance samples of each example's bound (default 1: the ELBO)")
    public let alpha = Setting<Float?>("alpha", nil, check: SettingChecks.notNegative, "weight α of the classification term (unset: 0.1·N/N_labelled)")
    /// λ of --class-balance is given per this many input dimensions and scaled by D/this (recipes: 784, MNIST's, so the
    /// term keeps its weight against a bound that grows with the input's dimension); nil: not scaled (runs before it).
    public let classBalanceDimensions = Setting<Int?>("class-balance-dimensions", nil, check: SettingChecks.atLeast(1),
        "λ of --class-balance is per this many input dimensions: scaled by D/N for D-dimensional data (recipes: 784)")
    public let classBalance = Setting<Float?>("class-balance", nil, zeroIsOff: true, check: SettingChecks.notNegative,
        "λ of λ·(KL(mean q(y|x) ‖ target) + mean H(q(y|x))) over the unlabelled batch (target: see --class-prior)")
    /// ADGM, SDGM: the lowest log-variance of p(a|·) (nil: −40, `logVarianceFloor`); see `ModelConfig.auxLogVarianceMin`.
    public let auxLogVarianceMin = Setting<Float?>("aux-logvar-min", nil, check: SettingChecks.within("[-40, 10]") { $0 >= -40 && $0 <= 10 },
        "ADGM/SDGM: the lowest log-variance of p(a|·), which bounds how far an unlikely label's cost can run from the likely one's (unset: -40)")
    /// Virtual adversarial training of the classifier (`VirtualAdversarial`): ε, the L2 size of each example's
    /// perturbation (nil: off), λ the term's weight (nil: 1), ξ the power iteration's step (nil: 10), and the input
    /// dimension ε is given for (ε·√(D/this) for D-dimensional data: the same size per feature; nil: ε as given).
    public let vat = Setting<Float?>("vat", nil, zeroIsOff: true, check: SettingChecks.positive,
        "virtual adversarial training of the classifier: ε, the L2 size of each example's perturbation, e.g. 2 (unset: off)")
    public let vatWeight = Setting<Float?>("vat-weight", nil, check: SettingChecks.positive, "--vat: λ, the weight of the mean KL(q(y|x) ‖ q(y|x + r_adv)) (default 1)")
    public let vatXi = Setting<Float?>("vat-xi", nil, check: SettingChecks.positive, "--vat: ξ, the power iteration's step (default 10)")
    public let vatDimensions = Setting<Int?>("vat-dimensions", nil, check: SettingChecks.atLeast(1),
        "--vat: ε is per this many input dimensions, scaled by √(D/N) for D-dimensional data (unset: ε as given)")
    /// Which batch statistics normalise VAT's perturbed passes (nil: each its own, `VATStatistics.perturbed`).
    public let vatStatistics = Setting<VATStatistics?>("vat-statistics", nil,
        "--vat with --batch-norm: normalise the perturbed passes with their own batch statistics (perturbed) or the clean pass's (clean)")
    public let learningRate = Setting<Float>("lr", 3e-4, check: SettingChecks.positive,
        "learning rate (lamb: each step's size as a fraction of each tensor's norm)")
    /// Adam (nil) or LAMB (Adam with a trust ratio per tensor: `--lr` is then each step's size relative to a tensor's norm).
    public let optimizer = Setting<OptimizerKind?>("optimizer", nil,
        "adam, or lamb: Adam's direction with a trust ratio per tensor, for large global batches (unset: adam)")
    public let lrSchedule = Setting<LRScheduleKind?>("lr-schedule", nil, "learning-rate schedule (unset: constant)")
    public let lrDecay = Setting<Double?>("lr-decay", nil, check: SettingChecks.within("(0, 1]") { $0 > 0 && $0 <= 1 }, "step schedule: factor (default 0.75)")
    public let lrDecayEpochs = Setting<Int?>("lr-decay-epochs", nil, check: SettingChecks.atLeast(1), "step schedule: epochs between decays (default 200)")
    public let lrMin = Setting<Float?>("lr-min", nil, check: SettingChecks.notNegative, "the schedule's floor (step: 3e-5, cosine and cooldown: 0)")
    public let lrCooldown = Setting<Double?>("lr-cooldown", nil, check: SettingChecks.within("(0, 1]") { $0 > 0 && $0 <= 1 },
        "cooldown schedule: the last fraction of the run over which the rate decays (default 0.2)")
    /// Above this global unlabelled batch, LAMB at `lambLearningRate` instead of the optimizer and rate given (nil:
    /// never): `TrainConfig.switchesToLAMB`.
    public let lambAbove = Setting<Int?>("lamb-above", nil, check: SettingChecks.atLeast(1),
        "above this global unlabelled batch, train with LAMB at --lamb-lr instead of --optimizer and --lr (m2's recipe: 100; unset: never)")
    public let lambLearningRate = Setting<Float?>("lamb-lr", nil, check: SettingChecks.positive,
        "the rate LAMB takes when --lamb-above switches to it (default 0.01)")
    /// The schedule LAMB follows when `lambAbove` switches to it (nil: `lrSchedule`): `TrainConfig.resolvedSchedule`.
    public let lambSchedule = Setting<LRScheduleKind?>("lamb-schedule", nil,
        "the learning-rate schedule LAMB follows when --lamb-above switches to it (m2's recipe: cooldown; unset: --lr-schedule)")
    /// The global batch `lambLearningRate` is meant for (nil: at every batch): `TrainConfig.batchScaledLearningRate`.
    public let lambReferenceBatch = Setting<Int?>("lamb-reference-batch", nil, check: SettingChecks.atLeast(1),
        "the global unlabelled batch --lamb-lr is meant for: at a larger --batch-size B LAMB's rate is --lamb-lr × √(B/N) "
        + "(m2's recipe: 800; unset: --lamb-lr at every batch)")
    /// The global batch `--lr` is meant for (nil: `--lr` at every batch): `TrainConfig.batchScaledLearningRate`.
    public let lrReferenceBatch = Setting<Int?>("lr-reference-batch", nil, check: SettingChecks.atLeast(1),
        "the global unlabelled batch --lr is meant for: at a larger --batch-size B the rate is --lr × B/N (at most × 8), "
        + "after a warm-up of --scaled-lr-warmup-epochs unless --lr-warmup-epochs is given (the linear scaling rule); unset: --lr at every batch")
    /// The schedule the rate follows when `lrReferenceBatch` scales it (nil: `lrSchedule`): `TrainConfig.resolvedSchedule`.
    public let scaledLRSchedule = Setting<LRScheduleKind?>("scaled-lr-schedule", nil,
        "the learning-rate schedule when --lr-reference-batch scales the rate (adgm's recipe: cooldown; unset: --lr-schedule)")
    /// The warm-up when `lrReferenceBatch` scales the rate and `lrWarmupEpochs` is not given (nil: one epoch).
    public let scaledLRWarmupEpochs = Setting<Double?>("scaled-lr-warmup-epochs", nil, check: SettingChecks.notNegative,
        "the warm-up in epochs when --lr-reference-batch scales the rate and --lr-warmup-epochs is not given (adgm's recipe: 2; unset: 1)")
    /// The rate rises linearly from lr/steps to the schedule's over this many epochs (nil: from the first step).
    public let lrWarmupEpochs = Setting<Double?>("lr-warmup-epochs", nil, check: SettingChecks.notNegative,
        "the learning rate rises linearly to the schedule's over the first E epochs (0 or unset: none)")
    public let clipGradNorm = Setting<Float?>("clip-grad-norm", nil, zeroIsOff: true, check: SettingChecks.positive, "clip the global gradient norm to this")
    public let clipGradValue = Setting<Float?>("clip-grad-value", nil, zeroIsOff: true, check: SettingChecks.positive,
        "clip every gradient element to ±this (after the norm)")
    public let weightPrior = Setting<Bool?>("weight-prior", nil, "N(0,1) prior on the weights, scaled by 1/N (weight decay)")
    /// Decay of a moving average of the parameters, used for validation, test and every command that loads the checkpoint.
    public let ema = Setting<Float?>("ema", nil, zeroIsOff: true, check: SettingChecks.within("(0, 1), e.g. 0.999") { $0 > 0 && $0 < 1 },
        "decay of a moving average of the parameters used for evaluation, e.g. 0.999")
    /// KL warm-up: β rises linearly from 0 to 1 over this many steps, or over `warmupEpochs` epochs when that is set
    /// (the recipe of m1; a run's steps per epoch are known once its data are read: `klWarmupSteps(stepsPerEpoch:)`).
    public let warmupSteps = Setting<Int>("warmup-steps", 0, check: SettingChecks.atLeast(0), replaces: ["warmup-epochs"],
        "KL warm-up: β rises 0→1 over this many steps")
    public let warmupEpochs = Setting<Double?>("warmup-epochs", nil, check: { v in
        guard let e = SettingChecks.number(v), !(e >= 0 && e.isFinite) else { return nil }
        return "\(e) must be 0 or more"
    }, replaces: ["warmup-steps"], "KL warm-up over this many epochs (instead of steps)")
    public let binarize = Setting<Bool>("binarize", true, "dynamic binarisation for the Bernoulli likelihood")

    public let seed = Setting<UInt64>("seed", 1, "label split, data order, noise and initialisation")
    public let evalSamples = Setting<Int>("eval-samples", 10, check: SettingChecks.atLeast(1), resume: true,
        "ADGM/SDGM: samples of a averaged by the classifier")
    public let evalBatchSize = Setting<Int>("eval-batch-size", 500, check: SettingChecks.atLeast(1), resume: true, "examples per evaluation chunk")
    public let validateEvery = Setting<Int>("validate-every", 1, check: SettingChecks.atLeast(1), resume: true,
        "validate every N epochs (and at the end)")
    /// Several ranks: the size of the gradient buckets summed while backward goes on (nil: the default; 0: one
    /// allreduce after backward). Bit-identical resume needs the same world size and the same buckets.
    public let allreduceBucketMB = Setting<Double?>("allreduce-bucket-mb", nil, check: SettingChecks.notNegative, resume: true,
        "several ranks: sum gradients in buckets of about this many MB, each sent as soon as backward has finished it "
        + "(default \(TrainConfig.defaultAllreduceBucketMB); 0: one allreduce after backward)")
    /// Several ranks: each rank updates only its part of the parameters (`OptimizerShards`); nil, as in configs written
    /// before it existed: every rank updates all of them. `auto` is decided each time a run starts or resumes.
    public let shardOptimizer = Setting<OptimizerSharding?>("shard-optimizer", .auto, resume: true,
        "several ranks: each rank sums the gradients of, and updates, only its part of the parameters, then the ranks "
        + "gather the parts (the allreduce's bytes, 1/ranks of the optimizer's work); auto: on when all ranks share a node")
    public let checkEvery = Setting<Int>("check-every", 100, check: SettingChecks.atLeast(0), resume: true,
        "compare a parameter digest across ranks every N steps (0: never)")
    public let checkpointEvery = Setting<Int>("checkpoint-every", 1000, check: SettingChecks.atLeast(0), resume: true,
        "write a checkpoint every N steps (0: only at the end)")
    public let keepCheckpoints = Setting<Int>("keep-checkpoints", 3, check: SettingChecks.atLeast(1), resume: true, "keep the newest N checkpoints")
    public let runDir = Setting<String?>("run-dir", nil, resume: true, "run directory (default runs/MODEL-seedS)")
}

extension TrainSettings {
    /// The declarations, read through `TrainConfig`'s members.
    public static let declared = TrainSettings()

    /// Every setting with its key in config.json and checkpoints (its Swift name), in declaration order.
    public static let keyed: [(key: String, setting: any AnySetting)] = Mirror(reflecting: declared).children.compactMap { child in
        guard let key = child.label, let s = child.value as? any AnySetting else { return nil }
        return (key, s)
    }

    /// Every setting, in the order `--help` and `--print-config` show them.
    public static let all: [any AnySetting] = keyed.map(\.setting)

    /// The setting whose flag is `name`.
    static func named(_ name: String) -> (any AnySetting)? { all.first { $0.name == name } }

    /// The settings that may change on resume, as flags.
    public static var resumable: [String] { all.filter(\.harmlessOnResume).map { "--\($0.name)" } }

    /// The settings a new run starts from: the recipe of the model the given settings name (the last one wins),
    /// or of the default model.
    public static func newRunBase(_ given: [GivenSetting]) throws -> TrainConfig {
        var model = TrainConfig().model
        for g in given where g.name == "model" {
            guard let m = ModelKind(setting: g.value) else {
                throw SettingError(place: g.place, problem: "'model' " + ModelKind.problem(with: g.value))
            }
            model = m
        }
        return TrainConfig.recipe(for: model)
    }

    /// A setting's default as `--help` shows it: one value, or the value of each group of models whose recipes
    /// differ ("1e-3 (m2, adgm, sdgm), 3e-4 (supervised, m1, m1m2)").
    static func defaultText(_ s: any AnySetting) -> String {
        if s.name == "model" { return s.get(TrainConfig()).map { "; default \(ConfigFile.literal($0))" } ?? "" }
        var groups: [(value: String, models: [String])] = []
        for m in ModelKind.allCases {
            let v = s.get(TrainConfig.recipe(for: m)).map(ConfigFile.literal) ?? (s.kind == .bool ? "false" : "unset")
            if let i = groups.firstIndex(where: { $0.value == v }) { groups[i].models.append(m.rawValue) } else { groups.append((v, [m.rawValue])) }
        }
        if groups.count == 1 { return groups[0].value == "unset" ? "" : "; default \(groups[0].value)" }
        return "; default " + groups.map { "\($0.value) (\($0.models.joined(separator: ", ")))" }.joined(separator: ", ")
    }

    /// The settings table as `--help` shows it: each flag with its kind, then its help and default (per model where
    /// the recipes differ), indented and wrapped to fit 80 columns.
    public static var help: String {
        var lines = ["TRAINING SETTINGS (also the keys of a --config TOML file, without --; flags override the file).",
                     "Each model starts from its own recipe (docs/models.md); where they differ, the defaults say so:"]
        for s in all {
            let value = s.kind == .ints ? "n,n,…" : s.kind == .int ? "n" : s.kind == .double ? "x" : "s"
            lines.append(s.kind == .bool ? "  --[no-]\(s.name)" : "  --\(s.name) <\(value)>")
            let text = s.help + defaultText(s)
            var line = "     "
            for word in text.split(separator: " ") {
                if line.count + word.count + 1 > 78 { lines.append(line); line = "     " }
                line += " " + word
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// Whether `value` has the kind `setting` takes (an integer is also a number).
    public static func fits(_ value: SettingValue, _ kind: SettingKind) -> Bool {
        switch (value, kind) {
        case (.int, .int), (.int, .double), (.double, .double), (.string, .string), (.bool, .bool), (.ints, .ints): return true
        default: return false
        }
    }

    /// Reads `--name value`, `--name=value`, `--flag` and `--no-flag` for every setting of the table, in order.
    /// An argument that is no setting, or a value of the wrong kind, is an error naming it.
    public static func parse(arguments: [String]) throws -> [GivenSetting] {
        var out: [GivenSetting] = [], i = 0
        while i < arguments.count {
            let arg = arguments[i]
            guard arg.hasPrefix("--") else {
                throw SettingError(place: arg, problem: "unexpected argument; settings are given as --name value")
            }
            var name = String(arg.dropFirst(2)), inline: String? = nil
            if let eq = name.firstIndex(of: "=") { inline = String(name[name.index(after: eq)...]); name = String(name[..<eq]) }
            if let s = named(name), s.kind == .bool, inline == nil {
                out.append((name, .bool(true), arg)); i += 1; continue
            }
            if name.hasPrefix("no-"), let s = named(String(name.dropFirst(3))), s.kind == .bool, inline == nil {
                out.append((s.name, .bool(false), arg)); i += 1; continue
            }
            guard let s = named(name) else {
                throw SettingError(place: "--\(name)", problem: "unknown option (see ssl-dist train --help for the settings)")
            }
            guard let text = inline ?? (i + 1 < arguments.count ? arguments[i + 1] : nil) else {
                throw SettingError(place: "--\(name)", problem: "needs a value (\(s.kind.rawValue))")
            }
            i += inline == nil ? 2 : 1
            out.append((name, try parseValue(text, s, place: "--\(name)"), "--\(name)"))
        }
        return out
    }

    static func parseValue(_ text: String, _ s: any AnySetting, place: String) throws -> SettingValue {
        func bad() -> SettingError { SettingError(place: place, problem: "'\(text)' should be \(s.kind.rawValue)") }
        switch s.kind {
        case .int: guard let i = Int(text) else { throw bad() }; return .int(i)
        case .double: guard let d = Double(text) else { throw bad() }; return .double(d)
        case .string: return .string(text)
        case .bool: guard let b = Bool(text) else { throw bad() }; return .bool(b)
        case .ints:
            let v = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !v.isEmpty, v.allSatisfy({ $0 != nil }) else { throw bad() }
            return .ints(v.map { $0! })
        }
    }

    /// Applies `given` to `base`, in order. Refuses a pair that excludes each other (epochs/steps,
    /// labels/labels-per-class) when both are given.
    public static func apply(_ given: [GivenSetting], to base: TrainConfig) throws -> TrainConfig {
        for (a, b) in [("epochs", "steps"), ("labels", "labels-per-class")] {
            if let x = given.first(where: { $0.name == a }), let y = given.first(where: { $0.name == b }) {
                throw SettingError(place: "\(x.place) and \(y.place)", problem: "give either \(a) or \(b), not both")
            }
        }
        var c = base
        for g in given {
            guard let s = named(g.name) else { throw SettingError(place: g.place, problem: "unknown setting '\(g.name)'") }
            guard fits(g.value, s.kind) else { throw SettingError(place: g.place, problem: "'\(g.name)' should be \(s.kind.rawValue)") }
            do { try s.set(&c, g.value) } catch let e as SettingError {
                // A flag names itself; a config file's line needs the key.
                throw SettingError(place: g.place, problem: (g.place == "--\(g.name)" ? "" : "'\(g.name)' ") + e.problem)
            }
        }
        return c
    }

    /// The places among `given` that would change `saved` (a checkpoint's config) and may not.
    public static func conflicts(_ given: [GivenSetting], with saved: TrainConfig) -> [String] {
        given.compactMap { g in
            guard let s = named(g.name), !s.harmlessOnResume else { return nil }
            var c = saved
            try? s.set(&c, g.value)
            return c == saved ? nil : g.place
        }
    }
}
