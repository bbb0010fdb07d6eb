import Foundation

/// A kind of model, with everything the rest of ssl-dist needs to know about it: its name (the `--model` value and
/// what checkpoints store), what it has (a classifier, a bound, p(y), an auxiliary a, an M1 under it), the recipe it
/// trains with, and how it is built. Each kind is declared beside its model's code (`M2.swift`: `.m2`) and
/// registered once, in `allCases`; nothing else names the kinds.
///
/// A new model is its file, with its type and a `static let` of this struct, plus a line in `allCases`
/// (CONTRIBUTING.md shows it).
public struct ModelKind: RawRepresentable, CaseIterable, Hashable, Codable, Sendable, CustomStringConvertible {
    /// Every model, in the order `--help` and messages list them: the one registration of a kind.
    public static let allCases: [ModelKind] = [.m2, .adgm, .sdgm, .supervised, .vat, .m1, .m1m2, .m1adgm, .m1sdgm]

    /// The `--model` value, and what checkpoints and config.json store.
    public let rawValue: String
    /// Every model but M1 (a VAE without labels) has a classifier q(y|x).
    public let classifies: Bool
    /// Every model but the classifier-only ones (supervised, vat) has a bound on −log p(x).
    public let hasBound: Bool
    /// Whether a step has an unlabelled batch: every model with a bound, and a classifier with a term on unlabelled
    /// examples (vat); not the supervised baseline.
    public let learnsFromUnlabelled: Bool
    /// The models with p(y) and an unlabelled bound that sums over labels (also on M1's features).
    public var semiSupervised: Bool { inner.labelSum }
    /// The models virtual adversarial training (`--vat`) can train: a classifier and unlabelled examples to smooth it on.
    public var adversarialCapable: Bool { classifies && learnsFromUnlabelled }
    /// ADGM and SDGM (also on M1's features) have an auxiliary variable a.
    public var hasAuxiliary: Bool { inner.auxiliary }
    /// M1+M2, M1+ADGM and M1+SDGM: a semi-supervised model on the latent features of a frozen M1.
    public var stacked: Bool { innerName != nil }
    /// The model a stacked kind runs on its M1's features (the kind itself otherwise).
    public var inner: ModelKind { innerName.flatMap { ModelKind(rawValue: $0) } ?? self }
    /// The settings a new run of this model starts from, as `ssl-dist train` flags (`TrainConfig.recipe(for:)` reads
    /// them with the command line's parser, and `--help` shows them as per-model defaults); why each is there is
    /// written beside the declaration.
    public let recipe: String
    /// The model for `config`, its parameters declared after those already in the layout (a stacked model's M1).
    public let build: @Sendable (ModelConfig, Capacity, inout ParameterLayout, Workspace) -> SSLModel

    let labelSum: Bool
    let auxiliary: Bool
    let innerName: String?

    /// `stacks`: for a model on a frozen M1's features, the name of the model it runs there. `unlabelled` defaults to
    /// `hasBound`.
    public init(_ name: String, classifies: Bool = true, hasBound: Bool = true, unlabelled: Bool? = nil, labelSum: Bool = false,
                auxiliary: Bool = false, stacks: String? = nil, recipe: String,
                build: @escaping @Sendable (ModelConfig, Capacity, inout ParameterLayout, Workspace) -> SSLModel) {
        rawValue = name; self.classifies = classifies; self.hasBound = hasBound; learnsFromUnlabelled = unlabelled ?? hasBound
        self.labelSum = labelSum
        self.auxiliary = auxiliary; innerName = stacks; self.recipe = recipe; self.build = build
    }

    public init?(rawValue: String) {
        guard let k = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = k
    }

    public var description: String { rawValue }
    public static func == (a: ModelKind, b: ModelKind) -> Bool { a.rawValue == b.rawValue }
    public func hash(into h: inout Hasher) { h.combine(rawValue) }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let k = ModelKind(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                "unknown model '\(name)' (this build knows \(Self.names { _ in true }))"))
        }
        self = k
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    /// The kinds for which `include` holds, in registration order, as messages list them: "m1m2, m1adgm or m1sdgm".
    public static func names(where include: (ModelKind) -> Bool) -> String {
        let names = allCases.filter(include).map(\.rawValue)
        guard let last = names.last, names.count > 1 else { return names.joined() }
        return names.dropLast().joined(separator: ", ") + " or " + last
    }
}
