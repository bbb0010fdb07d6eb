import Foundation
import SSLCore
import SSLData

/// A setting's value as given on the command line or in a config file.
public enum SettingValue: Equatable {
    case int(Int), double(Double), string(String), bool(Bool), ints([Int])
}

/// One training setting, declared once: its name (the command-line flag without "--", and the config-file key), the
/// kind of value it takes, its help, whether it may differ from a checkpoint's on resume, and how it reads, checks
/// and writes a `TrainConfig`. The flag, the TOML key, the default shown in `--help`, the check of its value and the
/// resume rule all come from this declaration.
public struct Setting {
    public enum Kind: String { case int = "an integer", double = "a number", string = "a string", bool = "true or false", ints = "a list of integers" }
    public let name: String
    public let kind: Kind
    public let help: String
    /// May differ from the checkpoint's on resume (it does not change what is computed).
    public let harmlessOnResume: Bool
    let set: (inout TrainConfig, SettingValue) throws -> Void
    let get: (TrainConfig) -> SettingValue?
}

/// A problem with a setting, naming where it came from (a flag, or a config file's key and line).
public struct SettingError: Error, CustomStringConvertible {
    public let place: String
    public let problem: String
    public var description: String { "\(place): \(problem)" }
}

/// A given setting: its name, value and where it came from ("--lr", "run.toml line 3").
public typealias GivenSetting = (name: String, value: SettingValue, place: String)

public enum TrainSettings {
    // MARK: - Builders: one per kind of field, each checking its value where a bound is given

    static func value<T>(_ v: SettingValue, _ name: String) throws -> T {
        switch (v, T.self) {
        case (.int(let i), is Int.Type): return i as! T
        case (.int(let i), is Double.Type): return Double(i) as! T
        case (.double(let d), is Double.Type): return d as! T
        case (.string(let s), is String.Type): return s as! T
        case (.bool(let b), is Bool.Type): return b as! T
        case (.ints(let a), is [Int].Type): return a as! T
        default: throw SettingError(place: name, problem: "has the wrong kind of value")
        }
    }

    static func int(_ name: String, _ kp: WritableKeyPath<TrainConfig, Int>, min: Int, resume: Bool = false, _ help: String) -> Setting {
        Setting(name: name, kind: .int, help: help, harmlessOnResume: resume, set: { c, v in
            let i: Int = try value(v, name)
            guard i >= min else { throw SettingError(place: name, problem: "\(i) must be at least \(min)") }
            c[keyPath: kp] = i
        }, get: { .int($0[keyPath: kp]) })
    }

    static func int(_ name: String, _ kp: WritableKeyPath<TrainConfig, Int?>, min: Int, resume: Bool = false, _ help: String) -> Setting {
        Setting(name: name, kind: .int, help: help, harmlessOnResume: resume, set: { c, v in
            let i: Int = try value(v, name)
            guard i >= min else { throw SettingError(place: name, problem: "\(i) must be at least \(min)") }
            c[keyPath: kp] = i
        }, get: { $0[keyPath: kp].map { .int($0) } })
    }

    /// A Float setting as a double with the Float's shortest decimal form (3e-4, not 0.000300000014...).
    static func float(_ f: Float) -> SettingValue { .double(Double("\(f)") ?? Double(f)) }

    static func float(_ name: String, _ kp: WritableKeyPath<TrainConfig, Float>, positive: Bool, _ help: String) -> Setting {
        Setting(name: name, kind: .double, help: help, harmlessOnResume: false, set: { c, v in
            let d: Double = try value(v, name)
            guard !positive || d > 0 else { throw SettingError(place: name, problem: "\(d) must be positive") }
            c[keyPath: kp] = Float(d)
        }, get: { float($0[keyPath: kp]) })
    }

    /// A setting's own range: nil when `d` is allowed, else what is wrong ("must be positive").
    typealias Range = (Double) -> String?
    static let positive: Range = { $0 > 0 ? nil : "must be positive" }
    static let notNegative: Range = { $0 >= 0 ? nil : "must be 0 or more" }
    static func within(_ text: String, _ ok: @escaping (Double) -> Bool) -> Range { { ok($0) ? nil : "must be in \(text)" } }

    /// An optional Float; with `zeroIsOff`, 0 sets it to nil (turns off what a recipe turned on); any other value must
    /// pass `range`.
    static func float(_ name: String, _ kp: WritableKeyPath<TrainConfig, Float?>, zeroIsOff: Bool = false, range: Range? = nil,
                      _ help: String) -> Setting {
        Setting(name: name, kind: .double, help: help + (zeroIsOff ? " (0: off)" : ""), harmlessOnResume: false, set: { c, v in
            let d: Double = try value(v, name)
            if zeroIsOff && d == 0 { c[keyPath: kp] = nil; return }
            if let problem = range?(d) { throw SettingError(place: name, problem: "\(Float(d)) \(problem)") }
            c[keyPath: kp] = Float(d)
        }, get: { $0[keyPath: kp].map(float) })
    }

    static func double(_ name: String, _ kp: WritableKeyPath<TrainConfig, Double>, _ help: String) -> Setting {
        Setting(name: name, kind: .double, help: help, harmlessOnResume: false, set: { c, v in c[keyPath: kp] = try value(v, name) },
                get: { .double($0[keyPath: kp]) })
    }

    static func double(_ name: String, _ kp: WritableKeyPath<TrainConfig, Double?>, range: Range? = nil, resume: Bool = false,
                       _ help: String) -> Setting {
        Setting(name: name, kind: .double, help: help, harmlessOnResume: resume, set: { c, v in
            let d: Double = try value(v, name)
            if let problem = range?(d) { throw SettingError(place: name, problem: "\(d) \(problem)") }
            c[keyPath: kp] = d
        }, get: { $0[keyPath: kp].map { .double($0) } })
    }

    static func string(_ name: String, _ kp: WritableKeyPath<TrainConfig, String>, _ help: String) -> Setting {
        Setting(name: name, kind: .string, help: help, harmlessOnResume: false, set: { c, v in c[keyPath: kp] = try value(v, name) },
                get: { .string($0[keyPath: kp]) })
    }

    static func string(_ name: String, _ kp: WritableKeyPath<TrainConfig, String?>, resume: Bool = false, _ help: String) -> Setting {
        Setting(name: name, kind: .string, help: help, harmlessOnResume: resume, set: { c, v in
            let text: String = try value(v, name); c[keyPath: kp] = text
        }, get: { $0[keyPath: kp].map { .string($0) } })
    }

    static func bool(_ name: String, _ kp: WritableKeyPath<TrainConfig, Bool>, _ help: String) -> Setting {
        Setting(name: name, kind: .bool, help: help, harmlessOnResume: false, set: { c, v in c[keyPath: kp] = try value(v, name) },
                get: { .bool($0[keyPath: kp]) })
    }

    static func bool(_ name: String, _ kp: WritableKeyPath<TrainConfig, Bool?>, _ help: String) -> Setting {
        Setting(name: name, kind: .bool, help: help, harmlessOnResume: false, set: { c, v in
            let b: Bool = try value(v, name); c[keyPath: kp] = b
        }, get: { $0[keyPath: kp].map { .bool($0) } })
    }

    static func choice<E: RawRepresentable & CaseIterable>(_ v: SettingValue, _ name: String, _: E.Type) throws -> E where E.RawValue == String {
        guard case .string(let s) = v, let e = E(rawValue: s) else {
            throw SettingError(place: name, problem: "should be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return e
    }

    static func choice<E: RawRepresentable & CaseIterable>(_ name: String, _ kp: WritableKeyPath<TrainConfig, E>, _ help: String) -> Setting
    where E.RawValue == String {
        Setting(name: name, kind: .string, help: help + " (" + E.allCases.map(\.rawValue).joined(separator: ", ") + ")",
                harmlessOnResume: false, set: { c, v in c[keyPath: kp] = try choice(v, name, E.self) },
                get: { .string($0[keyPath: kp].rawValue) })
    }

    static func choice<E: RawRepresentable & CaseIterable>(_ name: String, _ kp: WritableKeyPath<TrainConfig, E?>, _ help: String) -> Setting
    where E.RawValue == String {
        Setting(name: name, kind: .string, help: help + " (" + E.allCases.map(\.rawValue).joined(separator: ", ") + ")",
                harmlessOnResume: false, set: { c, v in c[keyPath: kp] = try choice(v, name, E.self) },
                get: { $0[keyPath: kp].map { .string($0.rawValue) } })
    }

    // MARK: - The table

    /// Every training setting, in the order `--help` and `--print-config` show them.
    public static let all: [Setting] = [
        choice("model", \.model, "the model"),
        string("data", \.data, "dataset: fashion-mnist, mnist:DIR, idx:IMAGES,LABELS, csv:PATH, npy:X.npy,Y.npy, cube:SPECTRA.npy,GROUND_TRUTH.npy"),
        string("test-data", \.testData, "a separate test set (same forms), for data without a test split"),
        Setting(name: "label-column", kind: .string,
                help: "CSV label column: first, last (default), a column number counted from 1, or a header name",
                harmlessOnResume: false, set: { c, v in
                    let s: String = try value(v, "label-column")
                    guard let col = LabelColumn(rawValue: s) else {
                        throw SettingError(place: "label-column", problem: "'\(s)' should be first, last, a column number from 1, or a header name")
                    }
                    c.labelColumn = col
                }, get: { .string($0.labelColumn.rawValue) }),
        float("scale", \.scale, "divide CSV/NPY features by this (default: the training maximum)"),
        int("validation", \.validation, min: 0, "MNIST family: validation examples from the end of train (default 10000)"),
        double("validation-fraction", \.validationFraction, "stratified validation fraction, of what the test split leaves, for data without a test split (0.1 with --test-fraction 0.2: 8% of all)"),
        double("test-fraction", \.testFraction, "stratified test fraction of all examples, taken first, for data without a test split"),
        Setting(name: "labels-per-class", kind: .int, help: "labelled examples per class", harmlessOnResume: false,
                set: { c, v in let i: Int = try value(v, "labels-per-class"); c.labelsPerClass = i; c.labels = nil; c.labelledFile = nil },
                get: { $0.labelsPerClass.map { .int($0) } }),
        Setting(name: "labels", kind: .int, help: "labelled examples in total (instead of labels-per-class)", harmlessOnResume: false,
                set: { c, v in let i: Int = try value(v, "labels"); c.labels = i; c.labelsPerClass = nil; c.labelledFile = nil },
                get: { $0.labels.map { .int($0) } }),
        Setting(name: "labelled-file", kind: .string,
                help: "train on these labelled examples (instead of a draw): training-split positions, one per line, as a run's labelled.txt",
                harmlessOnResume: false,
                set: { c, v in let f: String = try value(v, "labelled-file"); c.labelledFile = f; c.labelsPerClass = nil; c.labels = nil },
                get: { $0.labelledFile.map { .string($0) } }),
        bool("include-labelled-in-unlabelled", \.includeLabelledInUnlabelled, "labelled examples also in the unlabelled set"),
        choice("label-sampling", \.labelSampling, "how --labels N picks (default stratified)"),
        int("max-per-class", \.maxPerClass, min: 1, "keep at most N training examples per class (seeded)"),
        choice("class-weights", \.classWeights, "weights of the classification term (default none)"),
        choice("class-prior", \.classPrior, "p(y) and the class-balance term's target (semi-supervised default estimated: p(y) uniform, the target the unlabelled data's class mix estimated while training; uniform, as in the papers; labelled: the labelled proportions)"),
        Setting(name: "epochs", kind: .int, help: "train until this epoch (a pass of batch-size over the unlabelled set)",
                harmlessOnResume: true, set: { c, v in
                    let i: Int = try value(v, "epochs")
                    guard i > 0 else { throw SettingError(place: "epochs", problem: "\(i) must be positive") }
                    c.epochs = i; c.steps = nil
                }, get: { $0.epochs.map { .int($0) } }),
        Setting(name: "steps", kind: .int, help: "train until this step (instead of epochs)", harmlessOnResume: true, set: { c, v in
                    let i: Int = try value(v, "steps")
                    guard i > 0 else { throw SettingError(place: "steps", problem: "\(i) must be positive") }
                    c.steps = i; c.epochs = nil
                }, get: { $0.steps.map { .int($0) } }),
        int("batch-size", \.batchSize, min: 0, "global unlabelled batch per step"),
        int("labelled-batch-size", \.labelledBatchSize, min: 1, "global labelled batch per step"),
        Setting(name: "hidden", kind: .ints, help: "hidden sizes, e.g. 500,500",
                harmlessOnResume: false, set: { c, v in
                    let h: [Int] = try value(v, "hidden")
                    guard !h.isEmpty, h.allSatisfy({ $0 > 0 }) else { throw SettingError(place: "hidden", problem: "\(h) must be positive sizes, e.g. 500,500") }
                    c.hidden = h
                }, get: { $0.hidden.map { .ints($0) } }),
        int("latent", \.latent, min: 1, "latent size z"),
        int("auxiliary", \.auxiliary, min: 1, "auxiliary size a"),
        choice("activation", \.activation, "hidden activation"),
        choice("likelihood", \.likelihood, "p(x|·): bernoulli for binary or [0, 1] data, gaussian for real values (the stacked models: always gaussian)"),
        bool("standardize", \.standardize, "standardise each feature with the training split's mean and std"),
        choice("init", \.initialization, "how weight matrices start: Glorot-uniform, or U(±1/√fan_in) over the whole layer (PyTorch's default)"),
        bool("batch-norm", \.batchNorm, "batch normalisation in every network, statistics over all ranks"),
        string("m1", \.m1, "m1m2, m1adgm, m1sdgm: the trained M1 (checkpoint file or run directory)"),
        int("mc", \.mc, min: 1, "Monte Carlo samples of each example's bound (default 1)"),
        int("iw", \.iw, min: 1, "importance samples of each example's bound (default 1: the ELBO)"),
        float("alpha", \.alpha, range: notNegative, "weight α of the classification term (unset: 0.1·N/N_labelled)"),
        int("class-balance-dimensions", \.classBalanceDimensions, min: 1,
            "λ of --class-balance is per this many input dimensions: scaled by D/N for D-dimensional data (recipes: 784)"),
        float("class-balance", \.classBalance, zeroIsOff: true, range: notNegative, "λ of λ·(KL(mean q(y|x) ‖ target) + mean H(q(y|x))) over the unlabelled batch (target: see --class-prior)"),
        float("aux-logvar-min", \.auxLogVarianceMin, range: within("[-40, 10]") { $0 >= -40 && $0 <= 10 },
              "ADGM/SDGM: the lowest log-variance of p(a|·), which bounds how far an unlikely label's cost can run from the likely one's (unset: -40)"),
        float("vat", \.vat, zeroIsOff: true, range: positive,
              "virtual adversarial training of the classifier: ε, the L2 size of each example's perturbation, e.g. 2 (unset: off)"),
        float("vat-weight", \.vatWeight, range: positive, "--vat: λ, the weight of the mean KL(q(y|x) ‖ q(y|x + r_adv)) (default 1)"),
        float("vat-xi", \.vatXi, range: positive, "--vat: ξ, the power iteration's step (default 10)"),
        int("vat-dimensions", \.vatDimensions, min: 1,
            "--vat: ε is per this many input dimensions, scaled by √(D/N) for D-dimensional data (unset: ε as given)"),
        float("lr", \.learningRate, positive: true, "learning rate (lamb: each step's size as a fraction of each tensor's norm)"),
        choice("optimizer", \.optimizer, "adam, or lamb: Adam's direction with a trust ratio per tensor, for large global batches (unset: adam)"),
        choice("lr-schedule", \.lrSchedule, "learning-rate schedule (unset: constant)"),
        double("lr-decay", \.lrDecay, range: within("(0, 1]") { $0 > 0 && $0 <= 1 }, "step schedule: factor (default 0.75)"),
        int("lr-decay-epochs", \.lrDecayEpochs, min: 1, "step schedule: epochs between decays (default 200)"),
        float("lr-min", \.lrMin, range: notNegative, "the schedule's floor (step: 3e-5, cosine: 0)"),
        double("lr-warmup-epochs", \.lrWarmupEpochs, range: notNegative,
               "the learning rate rises linearly to the schedule's over the first E epochs (0 or unset: none)"),
        float("clip-grad-norm", \.clipGradNorm, zeroIsOff: true, range: positive, "clip the global gradient norm to this"),
        float("clip-grad-value", \.clipGradValue, zeroIsOff: true, range: positive, "clip every gradient element to ±this (after the norm)"),
        bool("weight-prior", \.weightPrior, "N(0,1) prior on the weights, scaled by 1/N (weight decay)"),
        float("ema", \.ema, zeroIsOff: true, range: within("(0, 1), e.g. 0.999") { $0 > 0 && $0 < 1 }, "decay of a moving average of the parameters used for evaluation, e.g. 0.999"),
        Setting(name: "warmup-steps", kind: .int, help: "KL warm-up: β rises 0→1 over this many steps", harmlessOnResume: false,
                set: { c, v in
                    let i: Int = try value(v, "warmup-steps")
                    guard i >= 0 else { throw SettingError(place: "warmup-steps", problem: "\(i) must be at least 0") }
                    c.warmupSteps = i; c.warmupEpochs = nil
                }, get: { .int($0.warmupSteps) }),
        Setting(name: "warmup-epochs", kind: .double, help: "KL warm-up over this many epochs (instead of steps)",
                harmlessOnResume: false, set: { c, v in
                    let e: Double = try value(v, "warmup-epochs")
                    guard e >= 0, e.isFinite else { throw SettingError(place: "warmup-epochs", problem: "\(e) must be 0 or more") }
                    c.warmupEpochs = e; c.warmupSteps = 0
                }, get: { $0.warmupEpochs.map { .double($0) } }),
        bool("binarize", \.binarize, "dynamic binarisation for the Bernoulli likelihood"),
        Setting(name: "seed", kind: .int, help: "label split, data order, noise and initialisation", harmlessOnResume: false, set: { c, v in
            let s: Int = try value(v, "seed")
            guard s >= 0 else { throw SettingError(place: "seed", problem: "should be 0 or more") }
            c.seed = UInt64(s)
        }, get: { .int(Int(truncatingIfNeeded: $0.seed)) }),
        int("eval-samples", \.evalSamples, min: 1, resume: true, "ADGM/SDGM: samples of a averaged by the classifier"),
        int("eval-batch-size", \.evalBatchSize, min: 1, resume: true, "examples per evaluation chunk"),
        int("validate-every", \.validateEvery, min: 1, resume: true, "validate every N epochs (and at the end)"),
        double("allreduce-bucket-mb", \.allreduceBucketMB, range: notNegative, resume: true,
               "several ranks: sum gradients in buckets of about this many MB, each sent as soon as backward has finished it "
               + "(default \(TrainConfig.defaultAllreduceBucketMB); 0: one allreduce after backward)"),
        int("check-every", \.checkEvery, min: 0, resume: true, "compare a parameter digest across ranks every N steps (0: never)"),
        int("checkpoint-every", \.checkpointEvery, min: 0, resume: true, "write a checkpoint every N steps (0: only at the end)"),
        int("keep-checkpoints", \.keepCheckpoints, min: 1, resume: true, "keep the newest N checkpoints"),
        string("run-dir", \.runDir, resume: true, "run directory (default runs/MODEL-seedS)"),
    ]

    public static func named(_ name: String) -> Setting? { all.first { $0.name == name } }

    /// The settings that may change on resume, as flags.
    public static var resumable: [String] { all.filter(\.harmlessOnResume).map { "--\($0.name)" } }

    /// The settings a new run starts from: the recipe of the model the given settings name (the last one wins),
    /// or of the default model.
    public static func newRunBase(_ given: [GivenSetting]) throws -> TrainConfig {
        var model = TrainConfig().model
        for g in given where g.name == "model" {
            do { model = try choice(g.value, g.place, ModelKind.self) } catch let e as SettingError {
                throw SettingError(place: g.place, problem: "'model' " + e.problem)
            }
        }
        return TrainConfig.recipe(for: model)
    }

    /// A setting's default as `--help` shows it: one value, or the value of each group of models whose recipes
    /// differ ("1e-3 (m2, adgm, sdgm), 3e-4 (supervised, m1, m1m2)").
    static func defaultText(_ s: Setting) -> String {
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
    static func fits(_ value: SettingValue, _ kind: Setting.Kind) -> Bool {
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

    static func parseValue(_ text: String, _ s: Setting, place: String) throws -> SettingValue {
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
