import Foundation

// B labelled examples, K classes, D input.

extension ModelKind {
    /// The bare settings (Adam 3e-4) and M2's classifier (500).
    public static let supervised = ModelKind("supervised", hasBound: false, recipe: "--hidden 500") { c, capacity, _, ws in
        Supervised(c, capacity: capacity, workspace: ws)
    }
}

/// The baseline: the same classifier network as M2's q(y|x), trained only on labelled
/// examples with J = mean_l CE(q(y|x), y). Unlabelled examples in a batch are ignored.
public final class Supervised: Classifier {
    public let config: ModelConfig
    public let layout: ParameterLayout
    let classifier: MLP
    public let capacity: Capacity
    var identity: RowMap
    let logProbs: Mat
    let perExample: UnsafeMutablePointer<Double>
    let workspace: Workspace

    public init(_ config: ModelConfig, capacity: Capacity, workspace ws: Workspace) {
        self.config = config
        self.capacity = capacity
        let maxB = capacity.examples
        var layout = ParameterLayout()
        classifier = MLP(&layout, "qy", parts: [("x", .perRow(config.inputDim))], hidden: config.classifierSizes,
                         heads: [("logits", config.classes)], activation: config.activation, normalize: config.normalize,
                         maxRows: maxB, maxExamples: maxB, workspace: ws)
        self.layout = layout
        identity = RowMap(capacityRows: maxB, capacityExamples: maxB)
        logProbs = ws.mat(maxB, config.classes)
        perExample = ws.doubles(maxB)
        workspace = ws
    }

    /// Runs even on a rank with no labelled example (0 rows), so batch normalisation's collectives stay in step.
    public func trainStep(_ batch: Batch, store s: ParameterStore, noise: NoiseSource, step: Int, beta: Float,
                          counts: GlobalCounts) -> LossSums {
        let bl = batch.labelled
        var sums = LossSums()
        sums.labelledCount = Double(bl)
        let x = batch.x.prefix(rows: bl)
        identity.buildIdentity(count: bl)
        classifier.forward(s, inputs: [x], map: identity, pass: .training)
        let lp = logProbs.prefix(rows: bl)
        logSoftmax(classifier.out[0], into: lp)
        classifier.dOut[0].zero()
        batch.labels.withUnsafeBufferPointer { labels in
            crossEntropy(logProbs: lp, labels: labels, rowLoss: perExample, weight: 1 / Float(counts.labelled),
                         classWeights: config.classWeights, dlogits: classifier.dOut[0])
        }
        for r in 0..<bl {
            sums.crossEntropy += perExample[r]
            if argmaxRow(lp, r) == Int(batch.labels[r]) { sums.correct += 1 }
        }
        sums.objective = weightedSum(perExample, labels: batch.labels, classWeights: config.classWeights) / Double(counts.labelled)
        classifier.backward(s, inputs: [x], map: identity, dInputs: [nil])
        return sums
    }

    public func classify(_ x: Mat, ids: UnsafeBufferPointer<Int>, store s: ParameterStore, noise: NoiseSource, probs: Mat) {
        classifyWithMLP(classifier, x: x, identity: &identity, store: s, probs: probs)
    }
}
