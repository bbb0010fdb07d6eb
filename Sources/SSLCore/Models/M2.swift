import Foundation

// B examples, R enumerated rows, K classes, D input, H hidden, Z latent.

/// M2 of Kingma et al. 2014, "Semi-supervised Learning with Deep Generative Models".
///
///   q(y|x) = Cat(softmax(f(x))),  q(z|x,y) = N(μ(x,y), diag e^{lv(x,y)}),
///   p(x|y,z) = Bernoulli(σ(g(y,z))),  p(z) = N(0, I),  p(y) = 1/K.
///
/// Labelled bound:   L(x,y) = −log p(x|y,z) + KL(q(z|x,y) ‖ p(z)) − log p(y)   ≥ −log p(x,y)
/// Unlabelled bound: U(x)   = Σ_y q(y|x)·L(x,y) − H(q(y|x))                        ≥ −log p(x)
/// Objective: J = mean_l L + mean_u U + α·mean_l CE(q(y|x), y). With warm-up, β scales the
/// KL terms (KL_z, −log p(y) and −H, i.e. KL(q(y|x) ‖ p(y))); reported bounds are at β = 1.
/// z is sampled once per (example, label) row; W_x·x of the encoder is computed once per example.
public final class M2: GenerativeModel {
    public let config: ModelConfig
    public let layout: ParameterLayout
    let classifier: MLP  // x → logits (B×K)
    let encoder: MLP     // [x, y] → μ, lv (R×Z)
    let decoder: MLP     // [y, z] → logits or mean (R×D)
    let observation: ObservationModel
    public let capacity: Capacity

    var map: RowMap
    var identity: RowMap
    let logProbs: Mat, eps: Mat, z: Mat, dz: Mat
    let weights: UnsafeMutablePointer<Float>, betaWeights: UnsafeMutablePointer<Float>
    let rec: UnsafeMutablePointer<Double>, kl: UnsafeMutablePointer<Double>
    let costs: UnsafeMutablePointer<Double>, perExample: UnsafeMutablePointer<Double>
    let scratch: UnsafeMutablePointer<Float>

    public init(_ config: ModelConfig, capacity: Capacity) {
        self.config = config
        self.capacity = capacity
        let k = config.classes, d = config.inputDim, zdim = config.latent
        let maxB = capacity.examples, maxR = capacity.rows(classes: k)
        let ws = Workspace()
        var layout = ParameterLayout()
        classifier = MLP(&layout, "qy", parts: [("x", .perRow(d))], hidden: config.hidden, heads: [("logits", k)],
                         activation: config.activation, maxRows: maxB, maxExamples: maxB, workspace: ws)
        encoder = MLP(&layout, "qz", parts: [("x", .perExample(d)), ("y", .label(k))], hidden: config.hidden,
                      heads: [("mu", zdim), ("logvar", zdim)], activation: config.activation,
                      maxRows: maxR, maxExamples: maxB, workspace: ws)
        decoder = MLP(&layout, "px", parts: [("y", .label(k)), ("z", .perRow(zdim))], hidden: config.hidden.reversed(),
                      heads: [(ObservationModel.head(config.likelihood), d)], activation: config.activation,
                      maxRows: maxR, maxExamples: maxB, workspace: ws)
        observation = ObservationModel(&layout, "px", likelihood: config.likelihood, dim: d)
        self.layout = layout
        map = RowMap(capacityRows: maxR, capacityExamples: maxB)
        identity = RowMap(capacityRows: maxB, capacityExamples: maxB)
        logProbs = ws.mat(maxB, k)
        eps = ws.mat(maxR, zdim); z = ws.mat(maxR, zdim); dz = ws.mat(maxR, zdim)
        weights = ws.floats(maxR); betaWeights = ws.floats(maxR)
        rec = ws.doubles(maxR); kl = ws.doubles(maxR)
        costs = ws.doubles(maxB * k); perExample = ws.doubles(maxB)
        scratch = ws.floats(2 * d)
        self.workspace = ws
    }
    let workspace: Workspace

    public func trainStep(_ batch: Batch, store s: ParameterStore, noise: NoiseSource, step: Int, beta: Float,
                          counts: GlobalCounts) -> LossSums {
        let k = config.classes, bl = batch.labelled, bu = batch.unlabelled, bn = bl + bu
        let x = batch.x
        precondition(bl <= capacity.labelled && bu <= capacity.unlabelled, "batch exceeds model capacity")
        map.build(labels: batch.labels, unlabelled: bu, classes: k)
        identity.buildIdentity(count: bn)
        let rows = map.rows
        let lp = logProbs.prefix(rows: bn)
        let logK = Foundation.log(Double(k))

        // Classifier q(y|x) on all examples.
        classifier.forward(s, inputs: [x], map: identity)
        logSoftmax(classifier.out[0], into: lp)
        fillRowWeights(weights, map: map, logProbs: lp, counts: counts)
        scaled(weights, beta, rows, into: betaWeights)

        // q(z|x,y), z = μ + σ·ε, p(x|y,z).
        encoder.forward(s, inputs: [x, x], map: map)
        let mu = encoder.out[0], lv = encoder.out[1]
        let epsR = eps.prefix(rows: rows), zR = z.prefix(rows: rows), dzR = dz.prefix(rows: rows)
        fillRowNoise(epsR, map: map, ids: batch.ids, noise: noise, step: step, stream: .latentZ)
        reparameterize(mu: mu, logvar: lv, eps: epsR, into: zR)
        decoder.forward(s, inputs: [zR, zR], map: map)

        // Losses per row, and their gradients weighted by the row weights.
        observation.nll(s, out: decoder.out[0], targets: x, map: map, rowLoss: rec, weights: weights,
                        dOut: decoder.dOut[0], scratch: scratch)
        encoder.dOut[0].zero(); encoder.dOut[1].zero()
        gaussianKLStandard(mu: mu, logvar: lv, rowLoss: kl, weights: betaWeights, dmu: encoder.dOut[0], dlogvar: encoder.dOut[1])

        dzR.zero()
        decoder.backward(s, inputs: [zR, zR], map: map, dInputs: [nil, dzR])
        reparameterizeBackward(logvar: lv, eps: epsR, dz: dzR, dmu: encoder.dOut[0], dlogvar: encoder.dOut[1])
        encoder.backward(s, inputs: [x, x], map: map, dInputs: [nil, nil])

        // Classifier gradients: α·CE on labelled, and the y-part of U on unlabelled.
        let sums = classifierTerms(
            logProbs: lp, map: map, labels: batch.labels, counts: counts, alpha: config.alpha, beta: beta,
            classWeights: config.classWeights,
            dlogits: classifier.dOut[0], costs: costs, perExample: perExample,
            rowCost: { r, b in self.rec[r] + b * (self.kl[r] + logK) }, exampleCost: { _, _ in 0 })
        classifier.backward(s, inputs: [x], map: identity, dInputs: [nil])
        return sums
    }

    public func decode(z: Mat, labels: [Int32], store s: ParameterStore, into means: Mat) {
        decodeMeans(decoder, observation, z: z, labels: labels, classes: config.classes, map: &map, store: s, into: means)
    }

    public func encodeMean(x: Mat, labels: [Int32], store s: ParameterStore, into z: Mat) {
        map.build(labels: labels, unlabelled: 0, classes: config.classes)
        encoder.forward(s, inputs: [x, x], map: map)
        z.copy(from: encoder.out[0])
    }

    public func classify(_ x: Mat, ids: UnsafeBufferPointer<Int>, store s: ParameterStore, noise: NoiseSource, probs: Mat) {
        classifyWithMLP(classifier, x: x, identity: &identity, store: s, probs: probs)
    }
}

/// Runs a plain x → logits classifier and writes softmax probabilities.
func classifyWithMLP(_ net: MLP, x: Mat, identity: inout RowMap, store s: ParameterStore, probs: Mat) {
    identity.buildIdentity(count: x.rows)
    net.forward(s, inputs: [x], map: identity)
    logSoftmax(net.out[0], into: probs)
    for i in 0..<probs.count { probs.p[i] = Foundation.exp(probs.p[i]) }
}
