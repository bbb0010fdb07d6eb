import ArgumentParser
import Foundation
import SSLCore
import SSLData
import SSLDistributed
import SSLTraining

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a trained classifier's predictions (class and q(y|x)) for every example of a dataset; class maps of cubes.",
        discussion: """
        Formats: --out FILE.npy (int64 classes; --probs-out P.npy adds the N × K float32 probabilities), --out FILE.csv \
        (index,class,p0,…,pK-1; index is the example's position in its file), or --out - (CSV on standard output, not a \
        terminal). Files are written to a temporary name and renamed when complete. The data are scaled and standardised \
        as in training. Under mpirun the ranks classify fixed chunks and rank 0 writes: the files are the same on any \
        number of ranks. For a cube (--data cube:X.npy,GT.npy) --map MAP.png draws the class map and \
        MAP-vs-ground-truth.png the prediction, the ground truth and their disagreements side by side.
        """)

    @Option(help: "A checkpoint file, a run directory (its latest checkpoint), or RUN/checkpoints/best.ckpt.") var checkpoint: String
    @Option(help: "Dataset (default: the checkpoint's), same forms as train --data, cube:X.npy,GT.npy included.") var data: String?
    @Option(help: "Which examples: all (every example of the data file, in file order; default), train, validation, test, unlabelled.")
    var split: DataSplit = .all
    @Option(help: "Classes: FILE.npy, FILE.csv, or - for CSV on standard output.") var out: String
    @Option(help: "Also write the probabilities q(y|x), N × K float32, to this .npy file.") var probsOut: String?
    @Option(help: "Cube data: draw the class map to this PNG (and MAP-vs-ground-truth.png beside it).") var map: String?
    @Flag(help: "With --map: a legend strip below the map, the classes numbered as in GT (1…C).") var legend = false
    @Option(help: "ADGM/SDGM: samples of a averaged by the classifier (default: the checkpoint's).") var evalSamples: Int?
    @Option(help: "Examples per chunk (default: the checkpoint's evaluation chunk).") var chunk: Int?
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard out == "-" || out.hasSuffix(".npy") || out.hasSuffix(".csv") else {
            throw ValidationError("--out \(out): name a .npy or .csv file, or - for standard output")
        }
        if out == "-" && isatty(STDOUT_FILENO) != 0 {
            throw ValidationError("--out -: standard output is a terminal; redirect it to a file or a pipe (> predictions.csv)")
        }
        if let p = probsOut, !p.hasSuffix(".npy") { throw ValidationError("--probs-out \(p): name the file *.npy") }
        if let p = probsOut, p == out { throw ValidationError("--probs-out and --out are the same file") }
        if let m = map, !m.hasSuffix(".png") { throw ValidationError("--map \(m): name the file *.png") }
        if let s = evalSamples, s <= 0 { throw ValidationError("--eval-samples \(s) must be positive") }
        if let c = chunk, c <= 0 { throw ValidationError("--chunk \(c) must be positive") }
    }

    func run() throws {
        let comm = try runtime.makeCommunicator()
        do {
            let loaded = try LoadedModel.load(checkpoint, comm: comm, evalSamples: evalSamples, engine: runtime.requestedEngine)
            guard loaded.model is Classifier else {
                throw ValidationError("--checkpoint \(checkpoint) holds an \(loaded.modelConfig.kind.rawValue) model, which has no "
                                      + "classifier: predict needs \(ModelKind.names { $0.classifies }) (use `ssl-dist features` for m1)")
            }
            let (d, name) = try PredictionData.load(data ?? loaded.state.config.data, split: split, for: loaded)
            if map != nil && d.grid == nil {
                throw ValidationError("--map draws cubes: --data \(name) is not cube:X.npy,GT.npy")
            }
            let n = d.count, k = loaded.modelConfig.classes
            if let m = map { try checkWritable(m) }
            let writer = comm.isRoot ? try PredictionWriter(out: out, probsOut: probsOut, count: n, classes: k,
                                                                    names: loaded.state.classNames, grid: d.grid) : nil
            var predicted = map == nil ? [] : [Int32](repeating: -1, count: d.grid.map { $0.height * $0.width } ?? 0)
            let start = Date()
            try Prediction.run(loaded, data: d, comm: comm, chunk: chunk ?? loaded.state.config.evalBatchSize) { first, p in
                let rows = p.count / k
                let cls = (0..<rows).map { r in Int32((0..<k).max { p[r * k + $0] < p[r * k + $1] }!) }
                let positions = (first..<(first + rows)).map { d.position($0) }
                try writer!.append(positions: positions, classes: cls, probabilities: p)
                if map != nil { for (i, c) in cls.enumerated() { predicted[positions[i]] = c } }
            }
            // The maps first: if they cannot be written, no output appears (the classes stay uncommitted).
            if comm.isRoot, let m = map, let g = d.grid {
                try drawMaps(m, predicted: predicted, grid: g, data: d, classes: k)
            }
            try writer?.commit()
            if comm.isRoot {
                let seconds = Date().timeIntervalSince(start)
                FileHandle.standardError.write(Data(("predict: \(n) examples of \(name) (\(split.rawValue)) in "
                    + String(format: "%.1f s, %.0f examples/s", seconds, Double(n) / max(seconds, 1e-9))
                    + " on \(comm.size) rank(s) → \(out == "-" ? "standard output" : out) (\(writer!.numbering))"
                    + (probsOut.map { ", probabilities → \($0)" } ?? "") + (map.map { ", map → \($0)" } ?? "") + "\n").utf8))
            }
            comm.finalize()
        } catch let e as ValidationError {
            if comm.size > 1 { failOnAllRanks(e, comm) }
            throw e
        } catch {
            failOnAllRanks(error, comm)
        }
    }

    /// Fails early, naming the flag, when `path`'s folder cannot take a new file.
    func checkWritable(_ path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw ValidationError("--map \(path): cannot write in \(folder) (missing or not writable); nothing was written")
        }
    }

    /// The class map (with a legend if asked) and, beside it, prediction | ground truth | disagreements.
    func drawMaps(_ path: String, predicted: [Int32], grid: (height: Int, width: Int), data d: Dataset, classes k: Int) throws {
        let image = ClassMap.image(predicted, height: grid.height, width: grid.width)
        try (legend ? ClassMap.withLegend(image, classes: k, firstNumber: 1) : image).writePNG(to: path)
        var truth = [Int32](repeating: -1, count: grid.height * grid.width)
        for i in 0..<d.count { truth[d.position(i)] = d.labels[i] }
        let compare = String(path.dropLast(4)) + "-vs-ground-truth.png"
        try ClassMap.comparison(predicted: predicted, truth: truth, height: grid.height, width: grid.width).writePNG(to: compare)
    }
}
