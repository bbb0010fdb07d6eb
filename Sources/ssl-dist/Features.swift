import ArgumentParser
import Foundation
import SSLCore
import SSLData
import SSLDistributed
import SSLTraining

struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an M1 model's latent features of a dataset as .npy: the posterior means of q(z|x), or samples.")

    @Option(help: "An m1 checkpoint file, or a run directory (its latest checkpoint).") var checkpoint: String
    @Option(help: "Dataset (default: the checkpoint's), same forms as train --data.") var data: String?
    @Option(help: "Split: train, validation, test, or all (every example of the data file in file order; default).")
    var split: DataSplit = .all
    @Option(help: "The .npy file of features to write (N × Z, float32).") var out: String
    @Option(help: "Also write the labels (N, int64; −1 for an example without a label) to this .npy file.") var labelsOut: String?
    @Flag(help: "Draw z ~ q(z|x) instead of writing its mean.") var sample = false
    @Option(help: "Seed of the samples (with --sample; default: the checkpoint's).") var seed: UInt64?
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard out.hasSuffix(".npy") else { throw ValidationError("--out \(out): the features are written as .npy; name the file *.npy") }
        if let l = labelsOut, !l.hasSuffix(".npy") { throw ValidationError("--labels-out \(l): name the file *.npy") }
        if let l = labelsOut, l == out { throw ValidationError("--labels-out and --out are the same file") }
    }

    func run() throws {
        setComputeThreads(runtime.blasThreads ?? ProcessInfo.processInfo.activeProcessorCount)
        try reportingFailures {
            let loaded = try LoadedModel.load(checkpoint, comm: SingleProcessCommunicator(), engine: runtime.requestedEngine)
            guard let m1 = loaded.model as? M1 else {
                throw ValidationError("--checkpoint \(checkpoint) holds a \(loaded.modelConfig.kind.rawValue) model; features come from an m1 model")
            }
            let c = loaded.state.config
            let (d, specText) = try PredictionData.load(data ?? c.data, split: split, for: loaded)
            let z = loaded.modelConfig.latent
            let noise = loaded.modelConfig.noise(seed: seed ?? c.seed)
            var features = [Float](repeating: 0, count: d.count * z)
            let eps = Buffer(count: z)
            encodeInChunks(m1, store: loaded.store, data: d) { start, mu, lv in
                for i in 0..<mu.rows {
                    if sample {
                        noise.normals(step: 0, example: start + i, stream: .m1Features, population: .evaluation, into: eps.pointer, count: z)
                    }
                    for j in 0..<z {
                        features[(start + i) * z + j] = sample ? mu[i, j] + fastExp(0.5 * lv[i, j]) * eps[j] : mu[i, j]
                    }
                }
            }
            try NPYWriter.write(out, float32: features, shape: [d.count, z])
            if let l = labelsOut { try NPYWriter.write(l, int64: d.labels.map(Int64.init)) }
            print("features: \(d.count) × \(z) \(sample ? "samples of q(z|x), seed \(seed ?? c.seed)" : "posterior means of q(z|x)") "
                  + "of \(specText) (\(split.rawValue)) → \(out)" + (labelsOut.map { ", labels → \($0)" } ?? ""))
        }
    }
}
