import Foundation

// B examples (labelled first, then unlabelled), K classes, D input features.

/// The frozen M1 under a stacked model (M1+M2, M1+ADGM, M1+SDGM): its architecture, and the latent dimensions the
/// inner model sees.
public struct StackedM1: Codable, Equatable, Sendable {
    public var hidden: [Int]
    public var latent: Int
    public var activation: Activation
    public var likelihood: Likelihood
    /// The dimensions of z₁ kept as M2's features (posterior-mean std ≥ 0.1 over the training split), ascending.
    public var kept: [Int]
    /// Whether the M1's networks batch-normalise (nil in checkpoints written before it existed: no).
    public var normalize: Bool? = nil
    public init(hidden: [Int], latent: Int, activation: Activation, likelihood: Likelihood, kept: [Int], normalize: Bool = false) {
        self.hidden = hidden; self.latent = latent; self.activation = activation; self.likelihood = likelihood; self.kept = kept
        self.normalize = normalize ? true : nil
    }
}

/// Everything that fixes a model's architecture and objective. Built once per run from the training settings and the
/// data (`TrainConfig.modelConfig`), stored in every checkpoint, and read back by everything that loads one.
public struct ModelConfig: Codable, Equatable, Sendable {
    public var kind: ModelKind
    public var inputDim: Int
    public var classes: Int
    public var hidden: [Int]
    public var latent: Int
    public var auxiliary: Int
    public var activation: Activation
    /// Weight of the classification term α·CE.
    public var alpha: Float
    /// ADGM: samples of a averaged by the classifier at evaluation.
    public var evalSamples: Int
    /// p(x|y,z): Bernoulli (binary or [0, 1] data) or Gaussian (real-valued data).
    public var likelihood: Likelihood
    /// Per-class weights of the classification term (nil: all 1).
    public var classWeights: [Float]? = nil
    /// Monte Carlo samples N and importance samples K of the bound: −(1/N) Σ_n log (1/K) Σ_k w_nk.
    public var mc = 1
    public var iw = 1
    /// M1+M2, M1+ADGM, M1+SDGM: the frozen M1 under the inner model.
    public var stack: StackedM1? = nil
    /// p(y): per-class probabilities (nil: uniform, 1/K, as in the papers).
    public var classPrior: [Float]? = nil
    /// Batch normalisation after every hidden layer of every network.
    public var normalize = false
    /// λ of the class-balance term λ·(KL(q̄(y) ‖ p(y)) + mean H(q(y|x))) over each step's unlabelled examples (0: none,
    /// as in the papers; see `BoundTerms.classBalance`).
    public var classBalance: Float = 0
    /// The class-balance term's target estimated from the unlabelled data (see `ClassMixEstimate`) in place of p(y);
    /// nil: p(y) is the target. The bound's own p(y) is `classPrior` either way.
    public var classMix: ClassMixEstimate? = nil
    /// ADGM, SDGM: the lowest log-variance p(a|·) may use (nil: `logVarianceFloor`, −40, as in every run before it).
    /// Below it the density uses the floor and the log-variance gets no gradient. It bounds how far the cost of an
    /// unlikely label can run away from the likely one's (the label spread) when p(a|y,z) grows sure of a.
    public var auxLogVarianceMin: Float? = nil
    /// Virtual adversarial training of the classifier (nil: none, as in the papers; see `VirtualAdversarial`).
    public var vat: VATSettings? = nil

    /// −log p(y) per class.
    public var negativeLogPrior: [Double] {
        classPrior.map { $0.map { -Foundation.log(Double($0)) } } ?? [Double](repeating: Foundation.log(Double(classes)), count: classes)
    }
    /// Samples of the latent variables drawn per example: N·K.
    public var replicas: Int { mc * iw }

    public init(kind: ModelKind, inputDim: Int, classes: Int, hidden: [Int], latent: Int, auxiliary: Int,
                activation: Activation, alpha: Float, evalSamples: Int, likelihood: Likelihood = .bernoulli) {
        self.kind = kind; self.inputDim = inputDim; self.classes = classes; self.hidden = hidden
        self.latent = latent; self.auxiliary = auxiliary; self.activation = activation
        self.alpha = alpha; self.evalSamples = evalSamples; self.likelihood = likelihood
    }

    // Fields added after the first checkpoints decode as their defaults when missing.
    enum CodingKeys: String, CodingKey {
        case kind, inputDim, classes, hidden, latent, auxiliary, activation, alpha, evalSamples, likelihood
        case classWeights, mc, iw, stack, classPrior, normalize, classBalance, classMix, auxLogVarianceMin, vat
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(ModelKind.self, forKey: .kind)
        inputDim = try c.decode(Int.self, forKey: .inputDim)
        classes = try c.decode(Int.self, forKey: .classes)
        hidden = try c.decode([Int].self, forKey: .hidden)
        latent = try c.decode(Int.self, forKey: .latent)
        auxiliary = try c.decode(Int.self, forKey: .auxiliary)
        activation = try c.decode(Activation.self, forKey: .activation)
        alpha = try c.decode(Float.self, forKey: .alpha)
        evalSamples = try c.decode(Int.self, forKey: .evalSamples)
        likelihood = try c.decodeIfPresent(Likelihood.self, forKey: .likelihood) ?? .bernoulli
        classWeights = try c.decodeIfPresent([Float].self, forKey: .classWeights)
        mc = try c.decodeIfPresent(Int.self, forKey: .mc) ?? 1
        iw = try c.decodeIfPresent(Int.self, forKey: .iw) ?? 1
        stack = try c.decodeIfPresent(StackedM1.self, forKey: .stack)
        classPrior = try c.decodeIfPresent([Float].self, forKey: .classPrior)
        normalize = try c.decodeIfPresent(Bool.self, forKey: .normalize) ?? false
        classBalance = try c.decodeIfPresent(Float.self, forKey: .classBalance) ?? 0
        classMix = try c.decodeIfPresent(ClassMixEstimate.self, forKey: .classMix)
        auxLogVarianceMin = try c.decodeIfPresent(Float.self, forKey: .auxLogVarianceMin)
        vat = try c.decodeIfPresent(VATSettings.self, forKey: .vat)
    }
}

/// Virtual adversarial training's settings: the perturbation's size ε (L2, per example), the term's weight λ, and
/// the power iteration's step ξ (see `VirtualAdversarial`).
public struct VATSettings: Codable, Equatable, Sendable {
    public var epsilon: Float
    public var weight: Float
    public var xi: Float
    public init(epsilon: Float, weight: Float = 1, xi: Float = 10) { self.epsilon = epsilon; self.weight = weight; self.xi = xi }

    /// The term for a model's classifier with `features` perturbed inputs, or nil without these settings.
    public static func term(_ v: VATSettings?, rows: Int, features: Int, classes: Int, workspace: Workspace) -> VirtualAdversarial? {
        v.map { VirtualAdversarial(epsilon: $0.epsilon, weight: $0.weight, xi: $0.xi, maxRows: rows, features: features,
                                   classes: classes, workspace: workspace) }
    }
}

/// Batch capacities a model allocates its workspace for.
public struct Capacity: Equatable, Sendable {
    public var labelled: Int
    public var unlabelled: Int
    /// Examples per evaluation chunk.
    public var evaluation: Int
    public init(labelled: Int, unlabelled: Int, evaluation: Int) {
        self.labelled = labelled; self.unlabelled = unlabelled; self.evaluation = evaluation
    }
    public var examples: Int { max(labelled + unlabelled, evaluation) }
    /// Room for each training example `n` times over (Monte Carlo and importance samples).
    public func replicated(_ n: Int) -> Capacity { Capacity(labelled: labelled * n, unlabelled: unlabelled * n, evaluation: evaluation) }
    public func rows(classes k: Int) -> Int { max(labelled + unlabelled * k, evaluation) }
}
