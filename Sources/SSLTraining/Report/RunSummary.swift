import Foundation

/// One finished run as its results.json tells it: what `ssl-dist plot` prints beside the curves, and what the README's
/// results tables hold (test accuracy at the best validation and at the end, and the training time).
public struct RunSummary {
    public var name: String
    public var model: String
    public var seed: Int
    public var epochs: Double
    public var trainingMinutes: Double
    public var bestValidation: Double?
    public var bestEpoch: Double?
    public var testAtBest: Double?
    public var testAtEnd: Double?

    /// Reads `dir/results.json`; nil when the run has none (still running, or stopped before the end).
    public static func read(_ dir: String, name: String) throws -> RunSummary? {
        let path = "\(dir)/results.json"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let j = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] else {
            throw TrainingError(message: "\(path) is not a results file of ssl-dist train")
        }
        func number(_ key: String) -> Double? { (j[key] as? NSNumber)?.doubleValue }
        return RunSummary(name: name, model: j["model"] as? String ?? "?", seed: (j["seed"] as? NSNumber)?.intValue ?? 0,
                          epochs: number("epochs") ?? 0, trainingMinutes: (number("training_seconds") ?? 0) / 60,
                          bestValidation: number("best_validation_accuracy"), bestEpoch: number("best_epoch"),
                          testAtBest: number("test_accuracy_at_best"), testAtEnd: number("test_accuracy"))
    }

    /// The runs as an aligned table, and each run's gain over the first in test accuracy at its best validation.
    public static func table(_ runs: [RunSummary]) -> String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.2f%%", 100 * $0) } ?? "—" }
        let width = max(4, runs.map(\.name.count).max() ?? 4)
        var lines = [pad("run", width) + "  model       seed  epochs  minutes  best val (epoch)    test at best  test at end"]
        for r in runs {
            let best = r.bestValidation.map { "\(pct($0)) (\(epochText(r.bestEpoch ?? 0)))" } ?? "—"
            lines.append(pad(r.name, width) + "  " + pad(r.model, 10) + "  " + pad(String(r.seed), 4) + "  "
                         + pad(epochText(r.epochs), 6) + "  " + pad(String(format: "%.1f", r.trainingMinutes), 7) + "  "
                         + pad(best, 18) + "  " + pad(pct(r.testAtBest), 12) + "  " + pct(r.testAtEnd))
        }
        if runs.count > 1, let base = runs[0].testAtBest {
            for r in runs.dropFirst() {
                guard let t = r.testAtBest else { continue }
                lines.append(String(format: "%@ over %@: %+.2f points of test accuracy (each at its best validation)",
                                    r.name, runs[0].name, 100 * (t - base)))
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// `s` padded with spaces on the right to `n` characters, for the aligned tables `plot` prints.
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

/// An epoch count as the table shows it: whole epochs as integers, a stopped run's fraction to two decimals.
public func epochText(_ e: Double) -> String { e == e.rounded() ? String(Int(e)) : String(format: "%.2f", e) }
