import ArgumentParser
import Foundation
import SSLCore
import SSLData
import SSLTraining

/// The data a trained model is applied to: by default what it was trained on, with the same split options.
struct ModelDataOptions: ParsableArguments {
    @Option(help: "Dataset (default: the checkpoint's), same forms as train --data.") var data: String?
    @Option(help: "Split: train, validation or test.") var split: DataSplit = .test

    func validate() throws {
        do { try split.check(DataSplit.scored, command: "evaluate") } catch { throw ValidationError("\(error)") }
    }

    func load(for loaded: LoadedModel) throws -> (Dataset, String) {
        var (d, name) = try PredictionData.load(data ?? loaded.state.config.data, split: split, for: loaded)
        // Only labelled examples can be scored.
        let skipped = d.unlabelledOnly.count
        if skipped > 0 {
            d = d.subset(d.labels.indices.filter { d.labels[$0] >= 0 })
            FileHandle.standardError.write(Data("evaluate: \(skipped) examples without a label (−1) skipped\n".utf8))
        }
        guard d.count > 0 else { throw ValidationError("--split \(split.rawValue) of \(name) is empty") }
        return (d, name)
    }
}
