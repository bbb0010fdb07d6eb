import Foundation

// B examples (labelled first, then unlabelled), R enumerated rows (see RowMap), K classes.

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

/// A model's costs as the bound's algebra needs them: ℓ_β(r), the β-weighted cost of row r (every term of the
/// negative ELBO that depends on the row's label), and e_β(b), a per-example term outside the label sum (ADGM's
/// β·log q(a|x); 0 for M2). Both take (index, β).
public struct RowCosts {
    public var row: (Int, Double) -> Double
    public var example: (Int, Double) -> Double
    public init(row: @escaping (Int, Double) -> Double, example: @escaping (Int, Double) -> Double = { _, _ in 0 }) {
        self.row = row; self.example = example
    }
}

/// The algebra of the semi-supervised bound over an enumerated batch, shared by M2, ADGM and SDGM:
///   labelled b:   L_β = ℓ_β(b) + e_β(b),  plus α·CE(q(y|x_b), y_b)
///   unlabelled u: U_β = Σ_k π_k ℓ_β(r_k) + β Σ_k π_k log π_k + e_β(u)
/// J = mean_l L_β + mean_u U_β + α·mean_l CE, normalised by the global counts; the reported bounds are at β = 1.
/// With N·K = S > 1 replicas per example (`mc`, `iw`), each example's bound is −(1/N) Σ_n log (1/K) Σ_k e^{−C_nk}
/// over its replicas' costs C = L_β or U_β, the gradients are weighted by the replicas' importance weights ω, and
/// α·CE is averaged over the replicas. Counts are of examples, not replicas. Holds its scratch (allocated once).
public final class BoundTerms {
    let costs: UnsafeMutablePointer<Double>, perExample: UnsafeMutablePointer<Double>
    let replicaCost: UnsafeMutablePointer<Double>, values: UnsafeMutablePointer<Double>
    /// The importance weights of the last `importanceWeights` call, one per replica.
    public let omega: UnsafeMutablePointer<Float>
    /// λ of the class-balance term (0: none) and its fixed target −log p(y); or the state `mixRef` holding the
    /// estimated class mix π, the target in its place (the term is off while π is unset, all 0). `classMass` holds the
    /// K sums of q̄ exchanged by `reducer`, then K log ratios log(q̄/target).
    let balance: Double, negativeLogPrior: [Double], classMass: UnsafeMutablePointer<Double>
    let mixRef: ParamRef?
    let reducer: BatchReducer

    public init(_ ws: Workspace, maxExamples b: Int, classes k: Int, balance: Float = 0, negativeLogPrior: [Double] = [],
                mixRef: ParamRef? = nil) {
        costs = ws.doubles(b * k); perExample = ws.doubles(b)
        replicaCost = ws.doubles(b); values = ws.doubles(b); omega = ws.floats(b)
        self.balance = Double(balance); self.negativeLogPrior = negativeLogPrior
        self.mixRef = mixRef
        classMass = ws.doubles(2 * k); reducer = ws.reducer
    }

    /// C_β per replica: labelled ℓ_β + e_β; unlabelled Σ_k π_k ℓ_β(r_k) + β Σ_k π_k log π_k + e_β, into `replicaCost`.
    func replicaCosts(_ lp: Mat, _ map: RowMap, beta: Double, _ c: RowCosts) {
        let bl = map.labelled, bu = map.examples - map.labelled
        for r in 0..<bl { replicaCost[r] = c.row(r, beta) + c.example(r, beta) }
        guard bu > 0 else { return }
        for r in bl..<map.rows { costs[r - bl] = c.row(r, beta) }
        expectedCostMinusEntropy(logProbs: lp.rows(bl, bu), costs: costs, entropyScale: beta, rowValue: replicaCost + bl)
        for u in 0..<bu { replicaCost[bl + u] += c.example(bl + u, beta) }
    }

    /// Each example's bound from `replicaCost` (labelled examples first), added to `sums`: with `objective` counts
    /// into the objective normalised by them; otherwise into the reported labelled and unlabelled bound sums.
    func addBounds(labelled el: Int, unlabelled eu: Int, mc: Int, iw: Int, to sums: inout LossSums, objective counts: GlobalCounts? = nil) {
        importanceBound(costs: replicaCost, examples: el + eu, mc: mc, iw: iw, values: values)
        if let counts {
            for e in 0..<el { sums.objective += values[e] / Double(counts.labelled) }
            for e in el..<(el + eu) { sums.objective += values[e] / Double(counts.unlabelled) }
        } else {
            for e in 0..<el { sums.labelledBound += values[e] }
            for e in el..<(el + eu) { sums.unlabelledBound += values[e] }
        }
    }

    /// The importance weights ω of a replicated batch (every replica's costs known): softmax over each example's
    /// K importance samples, / N. Labelled replicas come first, then unlabelled, each example's N·K consecutive.
    public func importanceWeights(_ lp: Mat, _ map: RowMap, beta: Double, mc: Int, iw: Int, _ c: RowCosts) {
        replicaCosts(lp, map, beta: beta, c)
        importanceBound(costs: replicaCost, examples: map.examples / (mc * iw), mc: mc, iw: iw, values: values, omega: omega)
    }

    /// The loss sums of the batch: the objective at β (normalised by the global counts), the bounds at β = 1, the
    /// classifier's cross-entropy and accuracy on the labelled examples, and the label spread of the unlabelled ones.
    public func sums(_ lp: Mat, _ map: RowMap, labels: [Int32], counts: GlobalCounts, alpha: Float, beta: Float,
                     classWeights: [Float]?, mc: Int, iw: Int, _ c: RowCosts) -> LossSums {
        let bl = map.labelled, bu = map.examples - map.labelled, k = map.classes
        let s = mc * iw, sd = Double(s)
        let el = bl / s, eu = bu / s
        var sums = LossSums()
        replicaCosts(lp, map, beta: Double(beta), c)
        addBounds(labelled: el, unlabelled: eu, mc: mc, iw: iw, to: &sums, objective: counts)
        replicaCosts(lp, map, beta: 1, c)
        addBounds(labelled: el, unlabelled: eu, mc: mc, iw: iw, to: &sums)
        if bl > 0 {
            for r in 0..<bl where argmaxRow(lp, r) == Int(labels[r]) { sums.correct += 1 / sd }
            labels.withUnsafeBufferPointer { y in crossEntropy(logProbs: lp.prefix(rows: bl), labels: y, rowLoss: perExample) }
            for r in 0..<bl { sums.crossEntropy += perExample[r] / sd }
            sums.objective += Double(alpha) * weightedSum(perExample, labels: labels, classWeights: classWeights) / Double(counts.labelled) / sd
        }
        for u in 0..<bu {
            let first = bl + u * k
            var lo = Double.infinity, hi = -Double.infinity
            for r in first..<(first + k) { let v = c.row(r, 1); lo = min(lo, v); hi = max(hi, v) }
            sums.labelSpread += (hi - lo) / sd
        }
        sums.labelledCount = Double(el)
        sums.unlabelledCount = Double(eu)
        return sums
    }

    /// dJ/dlogits of the classifier, overwriting `dlogits`: α·CE on the labelled rows, and on the unlabelled ones the y
    /// part of U_β's gradient, π_k·(g_k − Σ_j π_j g_j) with g_k = ℓ_β(r_k) + β log π_k, each replica weighted by its
    /// importance weight when `weighted` (after `importanceWeights`); plus the class-balance term's gradient when λ > 0.
    /// Returns this rank's share of the class-balance term (0 without), for the objective: every rank must call it.
    @discardableResult
    public func classifierGradient(_ lp: Mat, _ map: RowMap, labels: [Int32], counts: GlobalCounts, alpha: Float, beta: Float,
                                   classWeights: [Float]?, replicas s: Int, weighted: Bool, store: ParameterStore,
                                   dlogits: Mat, _ c: RowCosts) -> Double {
        let bl = map.labelled, bu = map.examples - map.labelled
        dlogits.zero()
        if bl > 0 {
            labels.withUnsafeBufferPointer { y in
                crossEntropy(logProbs: lp.prefix(rows: bl), labels: y, rowLoss: perExample,
                             weight: alpha / Float(counts.labelled * s), classWeights: classWeights, dlogits: dlogits.prefix(rows: bl))
            }
        }
        if bu > 0 {
            for r in bl..<map.rows { costs[r - bl] = c.row(r, Double(beta)) }
            expectedCostMinusEntropy(logProbs: lp.rows(bl, bu), costs: costs, entropyScale: Double(beta), rowValue: perExample,
                                     weight: 1 / Float(counts.unlabelled), rowWeights: weighted ? UnsafePointer(omega + bl) : nil,
                                     dlogits: dlogits.rows(bl, bu))
        }
        return classBalance(lp.rows(bl, bu), counts: counts, replicas: s, store: store, dlogits: dlogits.rows(bl, bu))
    }

    /// The class-balance term λ·(KL(q̄ ‖ p(y)) + mean_u H(q(y|x_u))), q̄ = the classifier's mean q(y|x) over the
    /// global batch's unlabelled replicas (summed over ranks by the reducer, so 1 and N ranks compute the same step);
    /// with an estimated mix π (`ClassMixEstimate`), KL(q̄ ‖ π) in place of KL(q̄ ‖ p(y)), and no term before π is set.
    /// With p uniform it is λ·(log K − I(x; y)): it asks for confident predictions whose mix over the batch follows
    /// p(y), against a classifier that gives one class's examples to another (the bound's own E_x KL(q(y|x) ‖ p(y))
    /// is I(x; y) + KL(q̄ ‖ p(y)), and its −H term favours unsure predictions). Adds its gradient
    /// π_j·(g_j − Σ_k π_k g_k), g_j = λ·(log(q̄_j/p_j) − log π_j)/(N_u·S), to `dlogits`; returns the term times this
    /// rank's share of the unlabelled replicas.
    func classBalance(_ lp: Mat, counts: GlobalCounts, replicas s: Int, store: ParameterStore, dlogits: Mat) -> Double {
        guard balance > 0, counts.unlabelled > 0 else { return 0 }
        let k = lp.cols, n = Double(counts.unlabelled * s)
        let estimate = mixRef.map { UnsafePointer(store.w($0)) }
        // Every rank holds the same π, so every rank skips (or makes) the exchange below alike.
        if let estimate, estimate[0] == 0 { return 0 }
        for j in 0..<k { classMass[j] = 0 }
        for r in 0..<lp.rows { for j in 0..<k { classMass[j] += Foundation.exp(Double(lp[r, j])) } }
        reducer.sum(UnsafeMutableBufferPointer(start: classMass, count: k))
        var kl = 0.0
        let logRatio = classMass + k
        for j in 0..<k {
            let q = max(classMass[j] / n, 1e-30)
            logRatio[j] = Foundation.log(q) - (estimate.map { Foundation.log(Double($0[j])) } ?? -negativeLogPrior[j])
            kl += q * logRatio[j]
        }
        var entropy = 0.0
        for r in 0..<lp.rows {
            var mean = 0.0
            for j in 0..<k {
                let l = Double(lp[r, j]), p = Foundation.exp(l)
                entropy -= p * l
                mean += p * (logRatio[j] - l)
            }
            for j in 0..<k {
                let l = Double(lp[r, j])
                dlogits[r, j] += Float(balance / n * Foundation.exp(l) * (logRatio[j] - l - mean))
            }
        }
        return balance * (kl * Double(lp.rows) / n + entropy / n)
    }
}

/// Row weights of the enumerated batch: 1/N_l for labelled rows, π_{b,k}/N_u for unlabelled rows; times each row's
/// example's importance weight when `omega` is given.
public func fillRowWeights(_ w: UnsafeMutablePointer<Float>, map: RowMap, logProbs: Mat, counts: GlobalCounts,
                           omega: UnsafePointer<Float>? = nil) {
    let invL = counts.labelled > 0 ? 1 / Float(counts.labelled) : 0
    let invU = counts.unlabelled > 0 ? 1 / Float(counts.unlabelled) : 0
    for r in 0..<map.labelled { w[r] = invL }
    for r in map.labelled..<map.rows {
        let b = Int(map.example[r])
        w[r] = Foundation.exp(logProbs[b, Int(map.label[r])]) * invU
    }
    if let omega { for r in 0..<map.rows { w[r] *= omega[Int(map.example[r])] } }
}

/// out[i] = w[i]·s.
@inline(__always)
func scaled(_ w: UnsafePointer<Float>, _ s: Float, _ n: Int, into out: UnsafeMutablePointer<Float>) {
    for i in 0..<n { out[i] = w[i] * s }
}
