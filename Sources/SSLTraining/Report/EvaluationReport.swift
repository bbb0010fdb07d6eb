import Foundation
import SSLCore
import SSLData
import SSLDistributed

/// `ssl-dist evaluate`: classifier quality and the generative bounds on a split, computed over all ranks.
public struct EvaluationReport {
    public struct ClassScores {
        public var precision: Double, recall: Double, f1: Double, support: Int
    }
    public var checkpoint: String
    public var data: String
    public var split: String
    public var model: ModelKind
    public var seed: UInt64
    public var examples: Int
    public var confusion: [[Int]]
    public var labelledBound: Double?
    public var unlabelledBound: Double?
    public var evalSamples: Int?
    /// Monte Carlo × importance samples of each example's bound.
    public var mc = 1, iw = 1
    public var worldSize: Int
    /// The class-balance term's target the run kept: the estimated unlabelled class mix, or uniform when the estimate
    /// was not trusted (nil: the run kept none).
    public var classMix: [Float]? = nil
    /// The classes' names when the training file named them.
    public var classNames: [String]? = nil
    /// This split's own class mix, from its labels.
    public var splitMix: [Double] {
        confusion.map { Double($0.reduce(0, +)) / Double(max(examples, 1)) }
    }

    public var correct: Int { confusion.indices.reduce(0) { $0 + confusion[$1][$1] } }
    public var accuracy: Double { examples > 0 ? Double(correct) / Double(examples) : 0 }

    public var perClass: [ClassScores] {
        confusion.indices.map { c in
            let tp = Double(confusion[c][c])
            let predicted = Double(confusion.reduce(0) { $0 + $1[c] })
            let actual = Double(confusion[c].reduce(0, +))
            let p = predicted > 0 ? tp / predicted : 0, r = actual > 0 ? tp / actual : 0
            return ClassScores(precision: p, recall: r, f1: p + r > 0 ? 2 * p * r / (p + r) : 0, support: Int(actual))
        }
    }
    public var macroF1: Double { perClass.map(\.f1).reduce(0, +) / Double(max(perClass.count, 1)) }
    public var balancedAccuracy: Double {
        let present = perClass.filter { $0.support > 0 }
        return present.map(\.recall).reduce(0, +) / Double(max(present.count, 1))
    }

    /// Evaluates `loaded` on `data` over all ranks. The data are cut into fixed global chunks (the same
    /// `chunk` the trainer's validation uses) and each rank takes whole chunks, so every example is
    /// computed in the same batch whatever the number of ranks; confusion counts are integers, and each
    /// chunk's bound sums travel in their own slot and are added in chunk order. The result is therefore
    /// identical on any number of ranks.
    public static func run(_ loaded: LoadedModel, data: Dataset, dataName: String, split: String, comm: Communicator,
                           chunk: Int) throws -> EvaluationReport {
        let k = loaded.modelConfig.classes
        let noise = loaded.noise

        let mine = Evaluator.rows(of: data.count, chunk: chunk, comm: comm)
        let evaluator = Evaluator(model: loaded.model, chunk: chunk)
        let local = loaded.model is Classifier ? evaluator.evaluate(data, store: loaded.store, noise: noise, range: mine)
            : Evaluation(accuracy: 0, confusion: [[Int]](repeating: [Int](repeating: 0, count: k), count: k), count: 0)
        var counts = local.confusion.flatMap { $0.map(Double.init) }
        try comm.allreduce(&counts, .sum)
        let confusion = (0..<k).map { r in (0..<k).map { Int(counts[r * k + $0]) } }

        var bounds: (Double, Double)? = nil
        if loaded.model is BoundModel {
            let b = evaluator.boundChunk
            let boundChunks = (data.count + b - 1) / b
            let myBoundChunks = slice(total: boundChunks, rank: comm.rank, world: comm.size)
            var slots = [Double](repeating: 0, count: 2 * boundChunks)
            for c in myBoundChunks {
                let s = evaluator.boundSums(data, store: loaded.store, range: (c * b)..<min((c + 1) * b, data.count), noise: noise)
                slots[2 * c] = s.0; slots[2 * c + 1] = s.1
            }
            try comm.allreduce(&slots, .sum)  // each slot has one non-zero term: exact
            var l = 0.0, u = 0.0
            for c in 0..<boundChunks { l += slots[2 * c]; u += slots[2 * c + 1] }
            bounds = (l / Double(data.count), u / Double(data.count))
        }
        return EvaluationReport(checkpoint: loaded.path, data: dataName, split: split, model: loaded.model.config.kind,
                                seed: loaded.state.config.seed, examples: data.count, confusion: confusion,
                                labelledBound: bounds?.0, unlabelledBound: bounds?.1,
                                evalSamples: loaded.model.config.kind.hasAuxiliary ? loaded.model.config.evalSamples : nil,
                                mc: loaded.modelConfig.mc, iw: loaded.modelConfig.iw, worldSize: comm.size,
                                classMix: ClassMixEstimate.read(loaded.store), classNames: loaded.state.classNames)
    }

    public var text: String {
        var out: [String] = []
        out.append("evaluate \(model.rawValue) checkpoint \(checkpoint)")
        out.append("  data \(data), \(split) split, \(examples) examples, seed \(seed), \(worldSize) rank(s)")
        let samples = mc * iw > 1 ? ", \(mc) Monte Carlo × \(iw) importance samples" : ", one sample"
        guard model.classifies else {
            out.append(String(format: "  bound on −log p(x) per example: %.3f nats (%@%@)", unlabelledBound ?? .nan,
                              "fixed binarisation for Bernoulli models", samples))
            out.append("  m1 has no classifier: use `ssl-dist features` and a classifier, or train \(ModelKind.names { $0.stacked }) on it")
            return out.joined(separator: "\n")
        }
        out.append(String(format: "  accuracy %.2f%%  (%d of %d)   macro-F1 %.4f   balanced accuracy %.2f%%",
                          100 * accuracy, correct, examples, macroF1, 100 * balancedAccuracy))
        if let l = labelledBound, let u = unlabelledBound {
            out.append(String(format: "  bounds per example (nats%@%@): labelled L(x,y) %.3f   unlabelled U(x) %.3f",
                              model.stacked ? ", \(model.inner.rawValue) on M1's features" : ", fixed binarisation for Bernoulli models", samples, l, u))
        }
        if let s = evalSamples { out.append("  \(model.rawValue) classifier: q(y|a,x) averaged over \(s) samples of a") }
        out.append(model.stacked ? "  classifier input: M1's posterior means of the real-valued features"
                                 : "  classifier input: real-valued features")
        if let m = classMix {
            func row(_ v: [Double]) -> String { v.map { String(format: "%6.3f", $0) }.joined(separator: " ") }
            out.append("  class-balance target (the estimated unlabelled class mix, or uniform): " + row(m.map(Double.init)))
            out.append("  class mix of this split's labels:                                        " + row(splitMix))
        }
        out.append("")
        let names = (0..<perClass.count).map { classNames?[$0] ?? String($0) }
        let nameWidth = max(5, names.map(\.count).max() ?? 5)
        func padded(_ s: String) -> String { String(repeating: " ", count: max(nameWidth - s.count, 0)) + s }
        out.append("  " + padded("class") + "  precision  recall      F1  support")
        for (c, s) in perClass.enumerated() {
            out.append("  " + padded(names[c]) + String(format: "  %9.4f  %6.4f  %6.4f  %7d", s.precision, s.recall, s.f1, s.support))
        }
        out.append("")
        let k = confusion.count
        let width = max(5, String(confusion.flatMap { $0 }.max() ?? 0).count + 1, (names.map(\.count).max() ?? 0) + 1)
        func cell(_ s: String) -> String { String(repeating: " ", count: max(width - s.count, 0)) + s }
        out.append("  confusion matrix (rows: true class, columns: predicted)")
        out.append("  " + cell("") + (0..<k).map { cell(names[$0]) }.joined())
        for r in 0..<k { out.append("  " + cell(names[r]) + confusion[r].map { cell(String($0)) }.joined()) }
        return out.joined(separator: "\n")
    }

    public var json: [String: Any] {
        var j: [String: Any] = [
            "checkpoint": checkpoint, "data": data, "split": split, "model": model.rawValue, "seed": Int(seed),
            "examples": examples, "accuracy": accuracy, "macro_f1": macroF1, "balanced_accuracy": balancedAccuracy,
            "confusion": confusion, "world_size": worldSize, "classifier_input": "real-valued features",
            "per_class": perClass.enumerated().map { ["class": $0.offset, "precision": $0.element.precision,
                                                      "recall": $0.element.recall, "f1": $0.element.f1,
                                                      "support": $0.element.support] as [String: Any] },
        ]
        if let l = labelledBound { j["labelled_bound"] = l }
        if let u = unlabelledBound { j["unlabelled_bound"] = u }
        if let s = evalSamples { j["eval_samples"] = s }
        j["mc"] = mc; j["iw"] = iw
        if let m = classMix { j["class_mix_estimated"] = m.map(Double.init); j["class_mix_split"] = splitMix }
        if let n = classNames { j["class_names"] = n }
        if !model.classifies {
            for key in ["accuracy", "macro_f1", "balanced_accuracy", "confusion", "per_class", "classifier_input"] { j[key] = nil }
        }
        return j
    }
}
