import ArgumentParser
import Foundation
import SSLCore
import SSLData
import SSLTraining

extension DataSplit: ExpressibleByArgument {}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy, per-class precision/recall/F1, the confusion matrix and the bounds of a trained model.")

    @Option(help: "A checkpoint file, or a run directory (its latest checkpoint; RUN/checkpoints/best.ckpt is the best validation's, the one to report).") var checkpoint: String
    @OptionGroup var dataOptions: ModelDataOptions
    @Option(help: "ADGM: samples of a averaged by the classifier (default: the checkpoint's).") var evalSamples: Int?
    @Option(help: "Monte Carlo samples N of each example's bound (default: the checkpoint's).") var mc: Int?
    @Option(help: "Importance samples K of each example's bound, −log mean_k w_k (default: the checkpoint's).") var iw: Int?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if let s = evalSamples, s <= 0 { throw ValidationError("--eval-samples \(s) must be positive") }
        if let n = mc, n < 1 { throw ValidationError("--mc \(n) must be at least 1") }
        if let k = iw, k < 1 { throw ValidationError("--iw \(k) must be at least 1") }
        if (mc ?? 1) * (iw ?? 1) > 10_000 { throw ValidationError("--mc × --iw must be at most 10000 samples per example") }
    }

    func run() throws {
        let comm = try runtime.makeCommunicator()
        do {
            // Header first: the checkpoint's evaluation chunk sizes the workspace, so batches match training's.
            let loaded = try LoadedModel.load(checkpoint, comm: comm, capacity: nil, evalSamples: evalSamples, mc: mc, iw: iw,
                                              engine: runtime.requestedEngine)
            let (data, name) = try dataOptions.load(for: loaded)
            let report = try EvaluationReport.run(loaded, data: data, dataName: name, split: dataOptions.split.rawValue, comm: comm,
                                                  chunk: loaded.state.config.evalBatchSize)
            if comm.isRoot {
                if json {
                    let d = try JSONSerialization.data(withJSONObject: report.json, options: [.prettyPrinted, .sortedKeys])
                    print(String(decoding: d, as: UTF8.self))
                } else {
                    print(report.text)
                }
            }
            comm.finalize()
        } catch {
            failOnAllRanks(error, comm)
        }
    }
}
