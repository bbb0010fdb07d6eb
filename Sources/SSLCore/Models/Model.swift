import Foundation

// B examples (labelled first, then unlabelled), K classes, D input features.

public enum ModelKind: String, Codable, CaseIterable, Sendable {
    case m2, adgm, sdgm, supervised

    /// ADGM and SDGM have an auxiliary variable a.
    public var hasAuxiliary: Bool { self == .adgm || self == .sdgm }
}

/// Everything that fixes a model's architecture and objective.
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

    public init(kind: ModelKind, inputDim: Int, classes: Int, hidden: [Int], latent: Int, auxiliary: Int,
                activation: Activation, alpha: Float, evalSamples: Int, likelihood: Likelihood = .bernoulli) {
        self.kind = kind; self.inputDim = inputDim; self.classes = classes; self.hidden = hidden
        self.latent = latent; self.auxiliary = auxiliary; self.activation = activation
        self.alpha = alpha; self.evalSamples = evalSamples; self.likelihood = likelihood
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
    public func rows(classes k: Int) -> Int { max(labelled + unlabelled * k, evaluation) }
}

/// One step's local slice of a global batch: labelled examples first, then unlabelled.
public final class Batch {
    /// (labelled + unlabelled) × D, values in [0, 1] (binarised for Bernoulli models).
    public private(set) var x: Mat
    public private(set) var labels: [Int32] = []
    /// Global example indices (within the training split), for noise keys.
    public private(set) var ids: [Int] = []
    public private(set) var unlabelled = 0
    public var labelled: Int { labels.count }
    private let storage: Buffer

    public init(capacity: Int, features: Int) {
        storage = Buffer(count: capacity * features)
        x = Mat(storage.pointer, 0, features)
        labels.reserveCapacity(capacity); ids.reserveCapacity(capacity)
    }

    /// Starts a new batch; then `append` labelled examples, then unlabelled ones.
    public func reset() { labels.removeAll(keepingCapacity: true); ids.removeAll(keepingCapacity: true); unlabelled = 0; x.rows = 0 }

    /// Appends one example's row; returns the row to fill.
    public func append(id: Int, label: Int32?) -> UnsafeMutablePointer<Float> {
        precondition((x.rows + 1) * x.cols <= storage.count, "Batch capacity exceeded")
        if let label {
            precondition(unlabelled == 0, "labelled examples must come before unlabelled ones")
            labels.append(label)
        } else {
            unlabelled += 1
        }
        ids.append(id)
        x.rows += 1
        return x.row(x.rows - 1)
    }
}

/// The normalisers of the objective: global batch counts, identical on every rank.
public struct GlobalCounts: Equatable {
    public var labelled: Int
    public var unlabelled: Int
    public init(labelled: Int, unlabelled: Int) { self.labelled = labelled; self.unlabelled = unlabelled }
}

/// Sums over a step's local examples, reported per example once summed across ranks.
/// Bounds are at β = 1 (the true bounds); `objective` is the β-weighted, normalised loss minimised.
public struct LossSums: Equatable {
    public var labelledBound = 0.0      // Σ L(x, y)
    public var unlabelledBound = 0.0    // Σ U(x)
    public var crossEntropy = 0.0       // Σ −log q(y|x) over labelled
    public var correct = 0.0            // labelled examples classified right (training batch)
    public var labelledCount = 0.0
    public var unlabelledCount = 0.0
    public var objective = 0.0

    public init() {}
    public static let fieldCount = 7
    public var array: [Double] {
        [labelledBound, unlabelledBound, crossEntropy, correct, labelledCount, unlabelledCount, objective]
    }
    public init(array a: [Double]) {
        precondition(a.count == Self.fieldCount)
        (labelledBound, unlabelledBound, crossEntropy, correct) = (a[0], a[1], a[2], a[3])
        (labelledCount, unlabelledCount, objective) = (a[4], a[5], a[6])
    }
    public static func + (l: LossSums, r: LossSums) -> LossSums {
        LossSums(array: zip(l.array, r.array).map(+))
    }
}

/// A semi-supervised model with hand-written forward and backward passes.
public protocol SSLModel: AnyObject {
    var config: ModelConfig { get }
    var layout: ParameterLayout { get }
    /// The batch capacity the workspace was allocated for.
    var capacity: Capacity { get }
    /// Forward and backward for one local batch; *adds* gradients of the objective into `store.grads`.
    /// The objective is normalised by the global counts, so summing gradients over ranks gives the
    /// gradient of the global batch.
    func trainStep(_ batch: Batch, store: ParameterStore, noise: NoiseSource, step: Int, beta: Float,
                   counts: GlobalCounts) -> LossSums
    /// Class probabilities q(y|x) for the rows of `x` (at most `capacity.evaluation`), into `probs` (B×K).
    /// `ids` key evaluation noise (ADGM's samples of a).
    func classify(_ x: Mat, ids: UnsafeBufferPointer<Int>, store: ParameterStore, noise: NoiseSource, probs: Mat)
}

/// A model with a generative side: p(x|y,z) to decode, q(z|x,y) to encode.
public protocol GenerativeModel: SSLModel {
    /// Bernoulli means σ(logits) of p(x|y,z) for each row (z_r, y_r), into `means` (n×D).
    func decode(z: Mat, labels: [Int32], store: ParameterStore, into means: Mat)
    /// The posterior mean of q(z|x,y) for each row (x_r, y_r), into `z` (n×Z). ADGM uses a = μ_a(x).
    func encodeMean(x: Mat, labels: [Int32], store: ParameterStore, into z: Mat)
}

/// The means of p(x|y,z) from a decoder network `net` taking [y, z], for rows (z_r, y_r).
func decodeMeans(_ net: MLP, _ obs: ObservationModel, z: Mat, labels: [Int32], classes: Int, map: inout RowMap,
                 store s: ParameterStore, into means: Mat) {
    map.build(labels: labels, unlabelled: 0, classes: classes)
    net.forward(s, inputs: [z, z], map: map)
    obs.means(net.out[0], into: means)
}

public func makeModel(_ config: ModelConfig, capacity: Capacity) -> SSLModel {
    switch config.kind {
    case .m2: return M2(config, capacity: capacity)
    case .adgm, .sdgm: return ADGM(config, capacity: capacity)
    case .supervised: return Supervised(config, capacity: capacity)
    }
}

// MARK: - Helpers shared by the models

/// Index of the largest entry in each row.
public func argmaxRow(_ m: Mat, _ r: Int) -> Int {
    let p = m.row(r)
    var best = 0
    for j in 1..<m.cols where p[j] > p[best] { best = j }
    return best
}

/// Row weights of the enumerated batch: 1/N_l for labelled rows, π_{b,k}/N_u for unlabelled rows.
func fillRowWeights(_ w: UnsafeMutablePointer<Float>, map: RowMap, logProbs: Mat, counts: GlobalCounts) {
    let invL = counts.labelled > 0 ? 1 / Float(counts.labelled) : 0
    let invU = counts.unlabelled > 0 ? 1 / Float(counts.unlabelled) : 0
    for r in 0..<map.labelled { w[r] = invL }
    for r in map.labelled..<map.rows {
        let b = Int(map.example[r])
        w[r] = Foundation.exp(logProbs[b, Int(map.label[r])]) * invU
    }
}

/// Fills eps(R×n) with N(0,1), row r keyed by (global id of its example, its label).
func fillRowNoise(_ eps: Mat, map: RowMap, ids: [Int], noise: NoiseSource, step: Int, stream: NoiseStream) {
    for r in 0..<map.rows {
        let b = Int(map.example[r])
        let pop: Population = r < map.labelled ? .labelled : .unlabelled
        noise.normals(step: step, example: ids[b], stream: stream, population: pop, sub: Int(map.label[r]),
                      into: eps.row(r), count: eps.cols)
    }
}

/// Scales w by s into out.
@inline(__always)
func scaled(_ w: UnsafePointer<Float>, _ s: Float, _ n: Int, into out: UnsafeMutablePointer<Float>) {
    for i in 0..<n { out[i] = w[i] * s }
}

/// The classifier's part of a step, shared by M2 and ADGM. With ℓ_β(r) the β-weighted cost of row r
/// (`rowCost(r, β)`) and e_β(b) a per-example term outside the label sum (`exampleCost(b, β)`, ADGM's
/// β·log q(a|x); 0 for M2):
///   labelled b:   L_β = ℓ_β(b) + e_β(b),  plus α·CE(q(y|x_b), y_b)
///   unlabelled u: U_β = Σ_k π_k ℓ_β(r_k) + β Σ_k π_k log π_k + e_β(u)
/// It writes the gradient of J w.r.t. the classifier logits into `dlogits` (overwriting), and returns the
/// loss sums: the objective (normalised by the global counts) and the bounds at β = 1.
/// `costs` holds at least B_u·K doubles, `perExample` at least B.
func classifierTerms(logProbs lp: Mat, map: RowMap, labels: [Int32], counts: GlobalCounts, alpha: Float, beta: Float,
                     classWeights: [Float]?,
                     dlogits: Mat, costs: UnsafeMutablePointer<Double>, perExample: UnsafeMutablePointer<Double>,
                     rowCost: (Int, Double) -> Double, exampleCost: (Int, Double) -> Double) -> LossSums {
    let bl = map.labelled, bu = map.examples - map.labelled, rows = map.rows
    let b = Double(beta)
    var sums = LossSums()
    dlogits.zero()
    for r in 0..<bl {
        sums.labelledBound += rowCost(r, 1) + exampleCost(r, 1)
        sums.objective += (rowCost(r, b) + exampleCost(r, b)) / Double(counts.labelled)
        if argmaxRow(lp, r) == Int(labels[r]) { sums.correct += 1 }
    }
    if bl > 0 {
        labels.withUnsafeBufferPointer { y in
            crossEntropy(logProbs: lp.prefix(rows: bl), labels: y, rowLoss: perExample,
                         weight: alpha / Float(counts.labelled), classWeights: classWeights, dlogits: dlogits.prefix(rows: bl))
        }
        for r in 0..<bl { sums.crossEntropy += perExample[r] }
        sums.objective += Double(alpha) * weightedSum(perExample, labels: labels, classWeights: classWeights) / Double(counts.labelled)
    }
    if bu > 0 {
        let lpU = lp.rows(bl, bu)
        // β-weighted costs for the gradient, then the β = 1 bound for the report.
        for r in bl..<rows { costs[r - bl] = rowCost(r, b) }
        expectedCostMinusEntropy(logProbs: lpU, costs: costs, entropyScale: b, rowValue: perExample,
                                 weight: 1 / Float(counts.unlabelled), dlogits: dlogits.rows(bl, bu))
        for u in 0..<bu { sums.objective += (perExample[u] + exampleCost(bl + u, b)) / Double(counts.unlabelled) }
        for r in bl..<rows { costs[r - bl] = rowCost(r, 1) }
        expectedCostMinusEntropy(logProbs: lpU, costs: costs, entropyScale: 1, rowValue: perExample)
        for u in 0..<bu { sums.unlabelledBound += perExample[u] + exampleCost(bl + u, 1) }
    }
    sums.labelledCount = Double(bl)
    sums.unlabelledCount = Double(bu)
    return sums
}

public extension SSLModel {
    var capacityLabelled: Int { capacity.labelled }
    var capacityExamples: Int { capacity.evaluation }
}
