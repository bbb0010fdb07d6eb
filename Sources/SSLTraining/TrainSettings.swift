import Foundation
import SSLCore
import SSLData

/// A setting's value as given on the command line or in a config file.
public enum SettingValue: Equatable {
    case int(Int), double(Double), string(String), bool(Bool), ints([Int])
}

/// One training setting: its name (the command-line flag without "--", and the config-file key), the kind of
/// value it takes, whether it may differ from a checkpoint's on resume, and how it reads and writes a config.
public struct Setting {
    public enum Kind: String { case int = "an integer", double = "a number", string = "a string", bool = "true or false", ints = "a list of integers" }
    public let name: String
    public let kind: Kind
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

public enum TrainSettings {
    static func int(_ v: SettingValue) -> Int? { if case .int(let i) = v { return i }; return nil }
    static func double(_ v: SettingValue) -> Double? {
        switch v { case .double(let d): return d; case .int(let i): return Double(i); default: return nil }
    }
    static func string(_ v: SettingValue) -> String? { if case .string(let s) = v { return s }; return nil }
    /// A Float setting as a double with the Float's shortest decimal form (3e-4, not 0.000300000014...).
    static func float(_ f: Float) -> SettingValue { .double(Double("\(f)") ?? Double(f)) }

    static func choice<E: RawRepresentable & CaseIterable>(_ v: SettingValue, _ name: String, _: E.Type) throws -> E where E.RawValue == String {
        guard let s = string(v), let e = E(rawValue: s) else {
            throw SettingError(place: name, problem: "should be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return e
    }

    /// Every training setting, in the order `--print-config` writes them.
    public static let all: [Setting] = [
        Setting(name: "model", kind: .string, harmlessOnResume: false,
                set: { $0.model = try choice($1, "model", ModelKind.self) }, get: { .string($0.model.rawValue) }),
        Setting(name: "data", kind: .string, harmlessOnResume: false, set: { $0.data = string($1)! }, get: { .string($0.data) }),
        Setting(name: "test-data", kind: .string, harmlessOnResume: false, set: { $0.testData = string($1)! }, get: { $0.testData.map { .string($0) } }),
        Setting(name: "label-column", kind: .string, harmlessOnResume: false,
                set: { $0.labelColumn = try choice($1, "label-column", LabelColumn.self) }, get: { .string($0.labelColumn.rawValue) }),
        Setting(name: "scale", kind: .double, harmlessOnResume: false, set: { $0.scale = Float(double($1)!) }, get: { $0.scale.map(float) }),
        Setting(name: "validation", kind: .int, harmlessOnResume: false, set: { $0.validation = int($1)! }, get: { $0.validation.map { .int($0) } }),
        Setting(name: "validation-fraction", kind: .double, harmlessOnResume: false, set: { $0.validationFraction = double($1)! },
                get: { .double($0.validationFraction) }),
        Setting(name: "test-fraction", kind: .double, harmlessOnResume: false, set: { $0.testFraction = double($1)! }, get: { .double($0.testFraction) }),
        Setting(name: "labels-per-class", kind: .int, harmlessOnResume: false, set: { $0.labelsPerClass = int($1)!; $0.labels = nil },
                get: { $0.labelsPerClass.map { .int($0) } }),
        Setting(name: "labels", kind: .int, harmlessOnResume: false, set: { $0.labels = int($1)!; $0.labelsPerClass = nil },
                get: { $0.labels.map { .int($0) } }),
        Setting(name: "include-labelled-in-unlabelled", kind: .bool, harmlessOnResume: false,
                set: { if case .bool(let b) = $1 { $0.includeLabelledInUnlabelled = b } }, get: { .bool($0.includeLabelledInUnlabelled) }),
        Setting(name: "label-sampling", kind: .string, harmlessOnResume: false,
                set: { $0.labelSampling = try choice($1, "label-sampling", LabelSplit.Sampling.self) },
                get: { $0.labelSampling.map { .string($0.rawValue) } }),
        Setting(name: "max-per-class", kind: .int, harmlessOnResume: false, set: { $0.maxPerClass = int($1)! },
                get: { $0.maxPerClass.map { .int($0) } }),
        Setting(name: "class-weights", kind: .string, harmlessOnResume: false,
                set: { $0.classWeights = try choice($1, "class-weights", ClassWeighting.self) },
                get: { $0.classWeights.map { .string($0.rawValue) } }),
        Setting(name: "class-prior", kind: .string, harmlessOnResume: false,
                set: { $0.classPrior = try choice($1, "class-prior", ClassPrior.self) },
                get: { $0.classPrior.map { .string($0.rawValue) } }),
        Setting(name: "epochs", kind: .int, harmlessOnResume: true, set: { $0.epochs = int($1)!; $0.steps = nil }, get: { $0.epochs.map { .int($0) } }),
        Setting(name: "steps", kind: .int, harmlessOnResume: true, set: { $0.steps = int($1)!; $0.epochs = nil }, get: { $0.steps.map { .int($0) } }),
        Setting(name: "batch-size", kind: .int, harmlessOnResume: false, set: { $0.batchSize = int($1)! }, get: { .int($0.batchSize) }),
        Setting(name: "labelled-batch-size", kind: .int, harmlessOnResume: false, set: { $0.labelledBatchSize = int($1)! },
                get: { .int($0.labelledBatchSize) }),
        Setting(name: "hidden", kind: .ints, harmlessOnResume: false, set: { if case .ints(let h) = $1 { $0.hidden = h } },
                get: { $0.hidden.map { .ints($0) } }),
        Setting(name: "latent", kind: .int, harmlessOnResume: false, set: { $0.latent = int($1)! }, get: { $0.latent.map { .int($0) } }),
        Setting(name: "auxiliary", kind: .int, harmlessOnResume: false, set: { $0.auxiliary = int($1)! }, get: { $0.auxiliary.map { .int($0) } }),
        Setting(name: "activation", kind: .string, harmlessOnResume: false,
                set: { $0.activation = try choice($1, "activation", Activation.self) }, get: { .string($0.activation.rawValue) }),
        Setting(name: "likelihood", kind: .string, harmlessOnResume: false,
                set: { $0.likelihood = try choice($1, "likelihood", Likelihood.self) }, get: { $0.likelihood.map { .string($0.rawValue) } }),
        Setting(name: "standardize", kind: .bool, harmlessOnResume: false,
                set: { if case .bool(let b) = $1 { $0.standardize = b } }, get: { $0.standardize.map { .bool($0) } }),
        Setting(name: "m1", kind: .string, harmlessOnResume: false, set: { $0.m1 = string($1)! }, get: { $0.m1.map { .string($0) } }),
        Setting(name: "mc", kind: .int, harmlessOnResume: false, set: { $0.mc = int($1)! }, get: { $0.mc.map { .int($0) } }),
        Setting(name: "iw", kind: .int, harmlessOnResume: false, set: { $0.iw = int($1)! }, get: { $0.iw.map { .int($0) } }),
        Setting(name: "alpha", kind: .double, harmlessOnResume: false, set: { $0.alpha = Float(double($1)!) }, get: { $0.alpha.map(float) }),
        Setting(name: "lr", kind: .double, harmlessOnResume: false, set: { $0.learningRate = Float(double($1)!) },
                get: { float($0.learningRate) }),
        Setting(name: "clip-grad-norm", kind: .double, harmlessOnResume: false, set: { $0.clipGradNorm = Float(double($1)!) },
                get: { $0.clipGradNorm.map(float) }),
        Setting(name: "warmup-steps", kind: .int, harmlessOnResume: false, set: { $0.warmupSteps = int($1)! }, get: { .int($0.warmupSteps) }),
        Setting(name: "binarize", kind: .bool, harmlessOnResume: false, set: { if case .bool(let b) = $1 { $0.binarize = b } },
                get: { .bool($0.binarize) }),
        Setting(name: "seed", kind: .int, harmlessOnResume: false, set: {
            guard let s = int($1), s >= 0 else { throw SettingError(place: "seed", problem: "should be 0 or more") }
            $0.seed = UInt64(s)
        }, get: { .int(Int(truncatingIfNeeded: $0.seed)) }),
        Setting(name: "eval-samples", kind: .int, harmlessOnResume: true, set: { $0.evalSamples = int($1)! }, get: { .int($0.evalSamples) }),
        Setting(name: "eval-batch-size", kind: .int, harmlessOnResume: true, set: { $0.evalBatchSize = int($1)! }, get: { .int($0.evalBatchSize) }),
        Setting(name: "validate-every", kind: .int, harmlessOnResume: true, set: { $0.validateEvery = int($1)! }, get: { .int($0.validateEvery) }),
        Setting(name: "check-every", kind: .int, harmlessOnResume: true, set: { $0.checkEvery = int($1)! }, get: { .int($0.checkEvery) }),
        Setting(name: "checkpoint-every", kind: .int, harmlessOnResume: true, set: { $0.checkpointEvery = int($1)! },
                get: { .int($0.checkpointEvery) }),
        Setting(name: "keep-checkpoints", kind: .int, harmlessOnResume: true, set: { $0.keepCheckpoints = int($1)! },
                get: { .int($0.keepCheckpoints) }),
        Setting(name: "run-dir", kind: .string, harmlessOnResume: true, set: { $0.runDir = string($1)! }, get: { $0.runDir.map { .string($0) } }),
    ]

    public static func named(_ name: String) -> Setting? { all.first { $0.name == name } }

    /// Whether `value` has the kind `setting` takes (an integer is also a number).
    static func fits(_ value: SettingValue, _ kind: Setting.Kind) -> Bool {
        switch (value, kind) {
        case (.int, .int), (.int, .double), (.double, .double), (.string, .string), (.bool, .bool), (.ints, .ints): return true
        default: return false
        }
    }

    /// Applies `given` (name, value, where it came from) to `base`, in order. Refuses a pair that excludes
    /// each other (epochs/steps, labels/labels-per-class) when both are given.
    public static func apply(_ given: [(name: String, value: SettingValue, place: String)], to base: TrainConfig) throws -> TrainConfig {
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
                throw SettingError(place: g.place, problem: "'\(g.name)' " + e.problem)
            }
        }
        return c
    }

    /// The names among `given` that would change `saved` (a checkpoint's config) and may not.
    public static func conflicts(_ given: [(name: String, value: SettingValue, place: String)], with saved: TrainConfig) -> [String] {
        given.compactMap { g in
            guard let s = named(g.name), !s.harmlessOnResume else { return nil }
            var c = saved
            try? s.set(&c, g.value)
            return c == saved ? nil : g.place
        }
    }
}
