import Foundation
import SSLCore

/// One epoch's (or a partial epoch's) progress line and metrics record.
struct EpochReport {
    let step: Int, stepsPerEpoch: Int
    let sums: LossSums
    let seconds: Double
    let beta: Float
    /// Accuracy, or for M1 (no classifier) the bound per example.
    let validation: Double?
    /// Whether the model has a bound (L, U and the label spread are reported).
    let bound: Bool
    let classifies: Bool
    let seed: UInt64
    let learningRate: Float
    let sinceStart: Double
    /// Whether validation used the moving average of the parameters.
    let averaged: Bool
    /// The class-balance term's target (the estimated class mix of the unlabelled data, or uniform when the estimate
    /// was not trusted), and the true mix where every unlabelled example's label is known (benchmarks); nil without
    /// an estimate.
    var classMix: [Float]? = nil
    var trueMix: [Double]? = nil

    var epoch: Double { Double(step) / Double(stepsPerEpoch) }
    var nl: Double { max(sums.labelledCount, 1) }
    var nu: Double { max(sums.unlabelledCount, 1) }
    /// Examples per second: unlabelled ones where the model learns from them, else labelled ones.
    var rate: Double { (sums.unlabelledCount > 0 ? sums.unlabelledCount : sums.labelledCount) / max(seconds, 1e-9) }

    /// Virtual adversarial training's mean KL(q(y|x) ‖ q(y|x + r_adv)) per example (nil: the run has none).
    var adversarial: Double? {
        sums.adversarial > 0 ? sums.adversarial / max(sums.labelledCount + sums.unlabelledCount, 1) : nil
    }

    var line: String {
        let e = epoch == epoch.rounded() ? String(Int(epoch)) : String(format: "%.2f", epoch)
        var s = "epoch \(e) step \(step)"
        guard classifies else {
            s += String(format: "  bound %.2f  β %.2f", sums.unlabelledBound / nu, beta)
            if let v = validation { s += String(format: "  val bound %.2f", v) }
            return s + String(format: "  %.0f ex/s", rate)
        }
        if bound { s += String(format: "  L %.2f  U %.2f", sums.labelledBound / nl, sums.unlabelledBound / nu) }
        if bound && classifies { s += String(format: "  spread %.1f", sums.labelSpread / nu) }
        if let v = adversarial { s += String(format: "  VAT %.4f", v) }
        s += String(format: "  CE %.3f  β %.2f  train-acc %.1f%%", sums.crossEntropy / nl, beta, 100 * sums.correct / nl)
        if let v = validation { s += String(format: "  val%@ %.2f%%", averaged ? " (ema)" : "", 100 * v) }
        return s + String(format: "  %.0f ex/s", rate)
    }

    /// The TensorBoard scalars of this report.
    var scalars: [(tag: String, value: Double)] {
        var s: [(tag: String, value: Double)] = [
            ("loss/cross_entropy", sums.crossEntropy / nl), ("beta", Double(beta)),
            ("throughput/examples_per_second", rate), ("learning_rate", Double(learningRate)),
            ("accuracy/train_labelled", sums.correct / nl),
        ]
        if bound {
            s += [("loss/labelled_bound", sums.labelledBound / nl), ("loss/unlabelled_bound", sums.unlabelledBound / nu)]
            if classifies { s.append(("diagnostics/label_spread", sums.labelSpread / nu)) }
        }
        if let v = adversarial { s.append(("loss/virtual_adversarial", v)) }
        if let v = validation { s.append((classifies ? "accuracy/validation" : "loss/validation_bound", v)) }
        for (k, p) in (classMix ?? []).enumerated() { s.append(("class_mix/estimated_\(k)", Double(p))) }
        for (k, p) in (trueMix ?? []).enumerated() { s.append(("class_mix/true_\(k)", p)) }
        return s
    }

    var record: [String: Any] {
        var r: [String: Any] = [
            "epoch": epoch, "step": step, "beta": Double(beta), "seed": Int(seed),
            "cross_entropy": sums.crossEntropy / nl, "train_labelled_accuracy": sums.correct / nl,
            "examples_per_second": rate, "seconds": sinceStart, "learning_rate": Double(learningRate),
        ]
        if bound {
            r["labelled_bound"] = sums.labelledBound / nl
            r["unlabelled_bound"] = sums.unlabelledBound / nu
            if classifies { r["label_spread"] = sums.labelSpread / nu }
        }
        if let v = adversarial { r["virtual_adversarial"] = v }
        if let v = validation { r[classifies ? "validation_accuracy" : "validation_bound"] = v }
        if let m = classMix { r["class_mix"] = m.map(Double.init) }
        if let m = trueMix { r["class_mix_true"] = m }
        return r
    }
}
