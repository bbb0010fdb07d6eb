import Foundation

// B examples (labelled first, then unlabelled), K classes, D input features.

public enum ModelKind: String, Codable, CaseIterable, Sendable {
    case m2, adgm, sdgm, supervised, m1, m1m2

    /// ADGM and SDGM have an auxiliary variable a.
    public var hasAuxiliary: Bool { self == .adgm || self == .sdgm }
    /// Every model but M1 (a VAE without labels) has a classifier q(y|x).
    public var classifies: Bool { self != .m1 }
    /// Every model but the supervised baseline has a bound on −log p(x).
    public var hasBound: Bool { self != .supervised }
}

/// The frozen M1 under an M1+M2 model: its architecture, and the latent dimensions M2 sees.
public struct StackedM1: Codable, Equatable, Sendable {
    public var hidden: [Int]
    public var latent: Int
    public var activation: Activation
    public var likelihood: Likelihood
    /// The dimensions of z₁ kept as M2's features (posterior-mean std ≥ 0.1 over the training split), ascending.
    public var kept: [Int]
    public init(hidden: [Int], latent: Int, activation: Activation, likelihood: Likelihood, kept: [Int]) {
        self.hidden = hidden; self.latent = latent; self.activation = activation; self.likelihood = likelihood; self.kept = kept
    }
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
    /// Monte Carlo samples N and importance samples K of the bound: −(1/N) Σ_n log (1/K) Σ_k w_nk.
    public var mc = 1
    public var iw = 1
    /// M1+M2: the frozen M1 under M2.
    public var stack: StackedM1? = nil
    /// p(y): per-class probabilities (nil: uniform, 1/K, as in the papers).
    public var classPrior: [Float]? = nil
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

/// One step's local slice of a global batch: labelled examples first, then unlabelled.
public final class Batch {
    /// (labelled + unlabelled) × D, values in [0, 1] (binarised for Bernoulli models).
    public private(set) var x: Mat
    public private(set) var labels: [Int32] = []
    /// Global example indices (within the training split), for noise keys.
    public private(set) var ids: [Int] = []
    /// Which Monte Carlo / importance sample of its example each row is (0 unless replicated); keys the noise.
    public private(set) var replica: [Int] = []
    public private(set) var unlabelled = 0
    public var labelled: Int { labels.count }
    private let storage: Buffer

    public init(capacity: Int, features: Int) {
        storage = Buffer(count: capacity * features)
        x = Mat(storage.pointer, 0, features)
        labels.reserveCapacity(capacity); ids.reserveCapacity(capacity)
    }

    /// Starts a new batch; then `append` labelled examples, then unlabelled ones.
    public func reset() {
        labels.removeAll(keepingCapacity: true); ids.removeAll(keepingCapacity: true); replica.removeAll(keepingCapacity: true)
        unlabelled = 0; x.rows = 0
    }

    /// Appends one example's row; returns the row to fill.
    public func append(id: Int, label: Int32?, replica r: Int = 0) -> UnsafeMutablePointer<Float> {
        precondition((x.rows + 1) * x.cols <= storage.count, "Batch capacity exceeded")
        if let label {
            precondition(unlabelled == 0, "labelled examples must come before unlabelled ones")
            labels.append(label)
        } else {
            unlabelled += 1
        }
        ids.append(id)
        replica.append(r)
        x.rows += 1
        return x.row(x.rows - 1)
    }

    /// Fills this batch with `source`'s examples, each repeated `count` times in a row (replicas 0..<count).
    public func replicate(_ source: Batch, count: Int) {
        reset()
        for b in 0..<source.x.rows {
            let label: Int32? = b < source.labelled ? source.labels[b] : nil
            for r in 0..<count { append(id: source.ids[b], label: label, replica: r).update(from: source.x.row(b), count: x.cols) }
        }
    }
}

/// −(1/N) Σ_n log (1/K) Σ_k exp(−C_{n,k}) per example, from per-replica costs C (examples × N·K, replica n·K + k),
/// computed stably (log-sum-exp about the smallest cost). With `omega`, also the gradient weights
/// ω_{n,k} = softmax_k(−C_{n,·})/N, so that d(value) = Σ ω dC. With N = K = 1 the value is C and ω = 1.
public func importanceBound(costs: UnsafePointer<Double>, examples: Int, mc: Int, iw: Int,
                            values: UnsafeMutablePointer<Double>, omega: UnsafeMutablePointer<Float>? = nil) {
    let s = mc * iw
    for b in 0..<examples {
        var total = 0.0
        for n in 0..<mc {
            let c = costs + b * s + n * iw
            var m = c[0]
            for k in 1..<max(iw, 1) where c[k] < m { m = c[k] }
            var sum = 0.0
            for k in 0..<iw { sum += Foundation.exp(m - c[k]) }
            total += m - Foundation.log(sum / Double(iw))
            if let omega {
                for k in 0..<iw { omega[b * s + n * iw + k] = Float(Foundation.exp(m - c[k]) / sum / Double(mc)) }
            }
        }
        values[b] = total / Double(mc)
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
    /// Parameters at the start of the layout that are frozen (M1 under M1+M2): no gradient, no update.
    var frozenCount: Int { get }
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

public func makeModel(_ config: ModelConfig, capacity: Capacity, engine: MatMulEngine = .reference()) -> SSLModel {
    switch config.kind {
    case .m2: return M2(config, capacity: capacity, engine: engine)
    case .adgm, .sdgm: return ADGM(config, capacity: capacity, engine: engine)
    case .supervised: return Supervised(config, capacity: capacity, engine: engine)
    case .m1: return M1(config, capacity: capacity, engine: engine)
    case .m1m2: return M1M2(config, capacity: capacity, engine: engine)
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

/// Fills eps(R×n) with N(0,1), row r keyed by (global id of its example, its label, its replica).
func fillRowNoise(_ eps: Mat, map: RowMap, batch: Batch, noise: NoiseSource, step: Int, stream: NoiseStream) {
    for r in 0..<map.rows {
        let b = Int(map.example[r])
        let pop: Population = r < map.labelled ? .labelled : .unlabelled
        noise.normals(step: step, example: batch.ids[b], stream: stream, population: pop, sub: Int(map.label[r]),
                      replica: batch.replica[b], into: eps.row(r), count: eps.cols)
    }
}

/// A class prior from labelled proportions, smoothed (add-one) so no class has probability 0:
/// p_k = (n_k + 1) / (N + K).
public func labelledClassPrior(labels: [Int32], classes k: Int) -> [Float] {
    var counts = [Int](repeating: 0, count: k)
    for y in labels { counts[Int(y)] += 1 }
    return counts.map { Float(Double($0 + 1) / Double(labels.count + k)) }
}

/// Multiplies each row's weight by its example's importance weight ω.
func scaleRowWeights(_ w: UnsafeMutablePointer<Float>, map: RowMap, omega: UnsafePointer<Float>) {
    for r in 0..<map.rows { w[r] *= omega[Int(map.example[r])] }
}

/// Scales w by s into out.
@inline(__always)
func scaled(_ w: UnsafePointer<Float>, _ s: Float, _ n: Int, into out: UnsafeMutablePointer<Float>) {
    for i in 0..<n { out[i] = w[i] * s }
}

/// Each example's bound from its replicas' costs (`importanceBound`; labelled examples first), added to `sums`:
/// with `objective` counts, into the objective normalised by them; otherwise into the reported labelled and
/// unlabelled bound sums. `values` holds at least `labelled + unlabelled` doubles.
func addBounds(costs: UnsafePointer<Double>, labelled el: Int, unlabelled eu: Int, mc: Int, iw: Int,
               values: UnsafeMutablePointer<Double>, to sums: inout LossSums, objective counts: GlobalCounts? = nil) {
    importanceBound(costs: costs, examples: el + eu, mc: mc, iw: iw, values: values)
    if let counts {
        for e in 0..<el { sums.objective += values[e] / Double(counts.labelled) }
        for e in el..<(el + eu) { sums.objective += values[e] / Double(counts.unlabelled) }
    } else {
        for e in 0..<el { sums.labelledBound += values[e] }
        for e in el..<(el + eu) { sums.unlabelledBound += values[e] }
    }
}

/// The β-weighted cost C_β of each (replica of an) example, i.e. minus its ELBO sample:
///   labelled b:   ℓ_β(b) + e_β(b)
///   unlabelled u: Σ_k π_k ℓ_β(r_k) + β Σ_k π_k log π_k + e_β(u)
/// with ℓ_β(r) = `rowCost(r, β)` and e_β(b) = `exampleCost(b, β)` (see `classifierTerms`). `costs` holds at least
/// B_u·K doubles; the result goes to `out` (B).
func replicaCosts(logProbs lp: Mat, map: RowMap, beta: Double, costs: UnsafeMutablePointer<Double>, out: UnsafeMutablePointer<Double>,
                  rowCost: (Int, Double) -> Double, exampleCost: (Int, Double) -> Double) {
    let bl = map.labelled, bu = map.examples - map.labelled
    for r in 0..<bl { out[r] = rowCost(r, beta) + exampleCost(r, beta) }
    guard bu > 0 else { return }
    for r in bl..<map.rows { costs[r - bl] = rowCost(r, beta) }
    expectedCostMinusEntropy(logProbs: lp.rows(bl, bu), costs: costs, entropyScale: beta, rowValue: out + bl)
    for u in 0..<bu { out[bl + u] += exampleCost(bl + u, beta) }
}

/// The importance weights of a replicated batch (`model.config.replicas` > 1): costs C_β per replica, then
/// ω = softmax over each example's K importance samples, / N. Labelled replicas come first, then unlabelled,
/// each example's N·K replicas consecutive.
func replicaWeights(logProbs lp: Mat, map: RowMap, beta: Double, mc: Int, iw: Int, costs: UnsafeMutablePointer<Double>,
                    replicaCost: UnsafeMutablePointer<Double>, values: UnsafeMutablePointer<Double>, omega: UnsafeMutablePointer<Float>,
                    rowCost: (Int, Double) -> Double, exampleCost: (Int, Double) -> Double) {
    replicaCosts(logProbs: lp, map: map, beta: beta, costs: costs, out: replicaCost, rowCost: rowCost, exampleCost: exampleCost)
    let s = mc * iw
    importanceBound(costs: replicaCost, examples: map.examples / s, mc: mc, iw: iw, values: values, omega: omega)
}

/// The classifier's part of a step, shared by M2 and ADGM. With ℓ_β(r) the β-weighted cost of row r
/// (`rowCost(r, β)`) and e_β(b) a per-example term outside the label sum (`exampleCost(b, β)`, ADGM's
/// β·log q(a|x); 0 for M2):
///   labelled b:   L_β = ℓ_β(b) + e_β(b),  plus α·CE(q(y|x_b), y_b)
///   unlabelled u: U_β = Σ_k π_k ℓ_β(r_k) + β Σ_k π_k log π_k + e_β(u)
/// It writes the gradient of J w.r.t. the classifier logits into `dlogits` (overwriting), and returns the
/// loss sums: the objective (normalised by the global counts) and the bounds at β = 1.
///
/// With N·K = S > 1 replicas per example (`mc`, `iw`), each example's bound is −(1/N) Σ_n log (1/K) Σ_k e^{−C_nk}
/// over its replicas' costs, the unlabelled logits' gradient is weighted by the replicas' importance weights
/// `omega`, and α·CE is averaged over the replicas. Counts are of examples, not replicas.
/// `costs` holds at least B_u·K doubles, `perExample`, `replicaCost` and `values` at least B.
func classifierTerms(logProbs lp: Mat, map: RowMap, labels: [Int32], counts: GlobalCounts, alpha: Float, beta: Float,
                     classWeights: [Float]?, mc: Int = 1, iw: Int = 1, omega: UnsafePointer<Float>? = nil,
                     dlogits: Mat, costs: UnsafeMutablePointer<Double>, perExample: UnsafeMutablePointer<Double>,
                     replicaCost: UnsafeMutablePointer<Double>, values: UnsafeMutablePointer<Double>,
                     rowCost: (Int, Double) -> Double, exampleCost: (Int, Double) -> Double) -> LossSums {
    let bl = map.labelled, bu = map.examples - map.labelled, rows = map.rows
    let s = mc * iw, sd = Double(s)
    let el = bl / s, eu = bu / s
    let b = Double(beta)
    var sums = LossSums()
    dlogits.zero()
    // The objective's bound terms (β) and the reported bounds (β = 1), per example.
    replicaCosts(logProbs: lp, map: map, beta: b, costs: costs, out: replicaCost, rowCost: rowCost, exampleCost: exampleCost)
    addBounds(costs: replicaCost, labelled: el, unlabelled: eu, mc: mc, iw: iw, values: values, to: &sums, objective: counts)
    replicaCosts(logProbs: lp, map: map, beta: 1, costs: costs, out: replicaCost, rowCost: rowCost, exampleCost: exampleCost)
    addBounds(costs: replicaCost, labelled: el, unlabelled: eu, mc: mc, iw: iw, values: values, to: &sums)

    if bl > 0 {
        for r in 0..<bl where argmaxRow(lp, r) == Int(labels[r]) { sums.correct += 1 / sd }
        labels.withUnsafeBufferPointer { y in
            crossEntropy(logProbs: lp.prefix(rows: bl), labels: y, rowLoss: perExample,
                         weight: alpha / Float(counts.labelled * s), classWeights: classWeights, dlogits: dlogits.prefix(rows: bl))
        }
        for r in 0..<bl { sums.crossEntropy += perExample[r] / sd }
        sums.objective += Double(alpha) * weightedSum(perExample, labels: labels, classWeights: classWeights) / Double(counts.labelled) / sd
    }
    if bu > 0 {
        // The y part of U_β's gradient, each replica weighted by its importance weight.
        for r in bl..<rows { costs[r - bl] = rowCost(r, b) }
        expectedCostMinusEntropy(logProbs: lp.rows(bl, bu), costs: costs, entropyScale: b, rowValue: perExample,
                                 weight: 1 / Float(counts.unlabelled), rowWeights: omega.map { $0 + bl },
                                 dlogits: dlogits.rows(bl, bu))
    }
    sums.labelledCount = Double(el)
    sums.unlabelledCount = Double(eu)
    return sums
}

public extension SSLModel {
    var frozenCount: Int { 0 }
    var capacityLabelled: Int { capacity.labelled }
    var capacityExamples: Int { capacity.evaluation }
}
