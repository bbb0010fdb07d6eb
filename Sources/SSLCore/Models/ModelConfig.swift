import Foundation

// B examples (labelled first, then unlabelled), K classes, D input features.

/// Everything that fixes a model's architecture and objective. Built once per run from the training settings and the
/// data (`TrainConfig.modelConfig`), stored in every checkpoint, and read back by everything that loads one.
public struct ModelConfig: Codable, Equatable, Sendable {
    public var kind: ModelKind
    public var inputDim: Int
    public var classes: Int
    public var hidden: [Int]
    /// The classifier q(y|·)'s hidden sizes (nil: `hidden`, as in every run before it).
    public var classifierHidden: [Int]? = nil
    public var classifierSizes: [Int] { classifierHidden ?? hidden }
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
    /// How the model's N(0, 1) noise is drawn: `float` for new runs; `double` for checkpoints written before it (a
    /// config without the field), which resume and evaluate with the draws they were trained with.
    public var normals: NormalDraw = .float

    /// The model's noise under `seed`, drawn as `normals` says.
    public func noise(seed: UInt64) -> NoiseSource { NoiseSource(seed: seed, normals: normals) }

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
        case classWeights, mc, iw, stack, classPrior, normalize, classBalance, classMix, auxLogVarianceMin, vat, normals
        case classifierHidden
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
        normals = try c.decodeIfPresent(NormalDraw.self, forKey: .normals) ?? .double
        classifierHidden = try c.decodeIfPresent([Int].self, forKey: .classifierHidden)
    }
}
