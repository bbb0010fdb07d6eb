import Foundation

// B examples (labelled first, then unlabelled), K classes, D input.

extension ModelKind {
    /// Virtual adversarial training on its own, the discriminative reference of the papers' task (Miyato et al. report
    /// 98.64% on MNIST with 100 labels with a 1200-600-300-150 network): the supervised baseline's classifier (500)
    /// with batch normalisation, Adam 1e-3 with a moving average (0.999), and the term at ε 2 per 784 input dimensions,
    /// as the generative models have it (`adversarialRecipe`). MNIST-100, 10 epochs: 94.26, 95.29, 95.43% (seeds 1–3)
    /// with batch normalisation, 92.73% without (seed 1); with the clean pass's statistics in the perturbed passes
    /// (`--vat-statistics clean`) 89.28, 89.72% (seeds 1, 2). The paper's deeper network with batch normalisation does
    /// not train with the perturbed passes' own statistics (validation 35–39%; docs/results.md).
    public static let vat = ModelKind("vat", hasBound: false, unlabelled: true,
                                      recipe: "--hidden 500 --batch-norm --lr 1e-3 --ema 0.999 " + adversarialRecipe) { c, capacity, _, ws in
        VATClassifier(c, capacity: capacity, workspace: ws)
    }
}

/// A classifier q(y|x) = Cat(softmax(f(x))) trained by virtual adversarial training (Miyato et al. 2018) on labelled
/// and unlabelled examples, with no generative model:
///
///   J = mean_l CE(q(y|x), y) + λ/N · Σ_{l ∪ u} KL(q(y|x) ‖ q(y|x + r_adv))
///
/// N the global batch's examples; r_adv and the term's gradient are `VirtualAdversarial`'s. Every example of the step
/// passes f once for p, so batch normalisation's statistics cover labelled and unlabelled examples together, as in
/// M2's classifier. Without `--vat` (`config.vat` nil) it is the supervised baseline whose batch normalisation also
/// sees the unlabelled batch.
public final class VATClassifier: Classifier {
    public let config: ModelConfig
    public let layout: ParameterLayout
    public let capacity: Capacity
    let classifier: MLP
    let vat: VirtualAdversarial?
    var identity: RowMap
    let logProbs: Mat
    let perExample: UnsafeMutablePointer<Double>

    public init(_ config: ModelConfig, capacity: Capacity, workspace ws: Workspace) {
        self.config = config
        self.capacity = capacity
        let maxB = capacity.examples, k = config.classes
        var layout = ParameterLayout()
        classifier = MLP(&layout, "qy", parts: [("x", .perRow(config.inputDim))], hidden: config.classifierSizes,
                         heads: [("logits", k)], activation: config.activation, normalize: config.normalize,
                         maxRows: maxB, maxExamples: maxB, workspace: ws)
        self.layout = layout
        vat = config.vat.map { VirtualAdversarial($0, maxRows: maxB, features: config.inputDim, classes: k, workspace: ws) }
        identity = RowMap(capacityRows: maxB, capacityExamples: maxB)
        logProbs = ws.mat(maxB, k)
        perExample = ws.doubles(maxB)
    }

    public func trainStep(_ batch: Batch, store s: ParameterStore, noise: NoiseSource, step: Int, beta: Float,
                          counts: GlobalCounts) -> LossSums {
        let bl = batch.labelled, bn = bl + batch.unlabelled
        var sums = LossSums()
        sums.labelledCount = Double(bl); sums.unlabelledCount = Double(batch.unlabelled)
        identity.buildIdentity(count: bn)
        classifier.forward(s, inputs: [batch.x], map: identity, pass: .training)
        let lp = logProbs.prefix(rows: bn)
        logSoftmax(classifier.out[0], into: lp)

        // Cross-entropy on the labelled rows; the unlabelled ones reach f only through the adversarial term.
        classifier.dOut[0].zero()
        batch.labels.withUnsafeBufferPointer { labels in
            crossEntropy(logProbs: lp.prefix(rows: bl), labels: labels, rowLoss: perExample, weight: 1 / Float(max(counts.labelled, 1)),
                         classWeights: config.classWeights, dlogits: classifier.dOut[0])
        }
        for r in 0..<bl {
            sums.crossEntropy += perExample[r]
            if argmaxRow(lp, r) == Int(batch.labels[r]) { sums.correct += 1 }
        }
        sums.objective = weightedSum(perExample, labels: batch.labels, classWeights: config.classWeights) / Double(max(counts.labelled, 1))
        classifier.backward(s, inputs: [batch.x], map: identity, dInputs: [nil])
        vat?.add(to: &sums, classifier, store: s, inputs: [batch.x], part: 0, map: identity, logP: lp, batch: batch, noise: noise,
                 step: step, counts: counts, replicas: 1)
        return sums
    }

    public func classify(_ x: Mat, ids: UnsafeBufferPointer<Int>, store s: ParameterStore, noise: NoiseSource, probs: Mat) {
        classifyWithMLP(classifier, x: x, identity: &identity, store: s, probs: probs)
    }
}
