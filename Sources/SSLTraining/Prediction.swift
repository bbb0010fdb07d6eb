import Foundation
import SSLCore
import SSLData
import SSLDistributed

/// `ssl-dist predict`: the classifier q(y|x) over every example of a dataset, streamed in data order.
public enum Prediction {
    /// Classifies `data` in fixed chunks of `chunk` examples, chunk c computed by rank c mod N, so every example is
    /// computed in the same batch whatever the number of ranks. Each round's chunks are summed into rank 0 (each
    /// slot has one non-zero contributor, so the sum is exact) and `body` gets them there, in data order: the
    /// first example's index and the probabilities (n×K, row-major). Memory: N·chunk·K floats, whatever the data.
    public static func run(_ loaded: LoadedModel, data: Dataset, comm: Communicator, chunk: Int,
                           _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let classifier = try loaded.classifier()
        let k = loaded.modelConfig.classes, d = data.dim, world = comm.size
        let noise = NoiseSource(seed: loaded.state.config.seed)
        let chunks = (data.count + chunk - 1) / chunk
        var slots = [Float](repeating: 0, count: world * chunk * k)
        let input = Buffer(count: chunk * d)
        var round = 0
        while round * world < chunks {
            slots.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            let mine = round * world + comm.rank
            if mine < chunks {
                let start = mine * chunk, n = min(chunk, data.count - start)
                data.features.withUnsafeBufferPointer { input.pointer.update(from: $0.baseAddress! + start * d, count: n * d) }
                let ids = Array(start..<(start + n))
                slots.withUnsafeMutableBufferPointer { s in
                    ids.withUnsafeBufferPointer {
                        classifier.classify(Mat(input.pointer, n, d), ids: $0, store: loaded.store, noise: noise,
                                            probs: Mat(s.baseAddress! + comm.rank * chunk * k, n, k))
                    }
                }
            }
            try slots.withUnsafeMutableBufferPointer { try comm.allreduce($0, .sum) }
            if comm.isRoot {
                for r in 0..<world where round * world + r < chunks {
                    let start = (round * world + r) * chunk, n = min(chunk, data.count - start)
                    try slots.withUnsafeBufferPointer { try body(start, UnsafeBufferPointer(rebasing: $0[(r * chunk * k)..<(r * chunk * k + n * k)])) }
                }
            }
            round += 1
        }
    }
}

/// A file written as a stream and made visible only when complete: a temporary file in the same folder, fsync'ed
/// and renamed over the target on `commit()`; dropped (deleted) if never committed. `-` writes standard output.
public final class AtomicOutput {
    public let path: String
    let temp: String?
    let handle: FileHandle
    var committed = false

    /// Opens the temporary file; an error names `flag` and the path, and leaves nothing behind.
    public init(_ path: String, flag: String) throws {
        self.path = path
        if path == "-" { temp = nil; handle = FileHandle.standardOutput; return }
        let url = URL(fileURLWithPath: path)
        let t = url.deletingLastPathComponent().path + "/.\(url.lastPathComponent).tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: t, contents: nil), let h = FileHandle(forWritingAtPath: t) else {
            throw DataError(flag, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        temp = t
        handle = h
    }

    deinit { if !committed, let temp { try? handle.close(); unlink(temp) } }

    public func write(_ data: Data) throws {
        do { try handle.write(contentsOf: data) } catch {
            throw DataError(path, "write failed: \((error as NSError).localizedDescription)")
        }
    }

    /// Makes the file visible under its name, complete and durable.
    public func commit() throws {
        guard let temp else { committed = true; return }
        guard fsync(handle.fileDescriptor) == 0 else { throw DataError(path, "fsync failed: \(String(cString: strerror(errno)))") }
        try handle.close()
        guard rename(temp, path) == 0 else { throw DataError(path, "cannot rename the finished file: \(String(cString: strerror(errno)))") }
        committed = true
    }
}

/// Writes predictions as they are computed: classes as an int64 `.npy` or a CSV of `index,class[,class_name],p0,…`, and
/// the probabilities as an N×K float32 `.npy`. For a cube (`grid`), classes are numbered as its ground truth (1…C) and
/// the `.npy` is the H×W map, 0 where a pixel was not predicted, written whole at `commit()`.
public final class PredictionWriter {
    enum Format { case npy, csv }
    let classes: AtomicOutput
    let probs: AtomicOutput?
    let format: Format
    let k: Int
    /// The classes' names, written beside the class in the CSV when the training file named them.
    let names: [String]?
    let grid: (height: Int, width: Int)?
    var map: [Int64] = []

    /// `out` ends in .npy or .csv, or is `-` (CSV on standard output); `probsOut` ends in .npy.
    public init(out: String, probsOut: String?, count n: Int, classes k: Int, names: [String]? = nil,
                grid: (height: Int, width: Int)? = nil) throws {
        self.k = k
        self.names = grid == nil ? names : nil  // a cube's names are its numbers, written as the class
        self.grid = grid
        format = out.hasSuffix(".npy") ? .npy : .csv
        classes = try AtomicOutput(out, flag: "--out")
        probs = try probsOut.map { try AtomicOutput($0, flag: "--probs-out") }
        switch format {
        case .npy:
            if let g = grid { map = [Int64](repeating: 0, count: g.height * g.width) }
            else { try classes.write(NPYWriter.header(descr: "<i8", shape: [n])) }
        case .csv:
            let header = ["index", "class"] + (self.names == nil ? [] : ["class_name"]) + (0..<k).map { "p\($0)" }
            try classes.write(Data(header.joined(separator: ",").utf8 + [10]))
        }
        try probs?.write(NPYWriter.header(descr: "<f4", shape: [n, k]))
    }

    /// Appends predictions: each example's position in its file (for the CSV), its class, its probabilities (n×K).
    public func append(positions: [Int], classes cls: [Int32], probabilities p: UnsafeBufferPointer<Float>) throws {
        let first: Int32 = grid == nil ? 0 : 1
        switch format {
        case .npy where grid != nil:
            for (i, c) in cls.enumerated() { map[positions[i]] = Int64(c + first) }
        case .npy:
            try classes.write(cls.map { Int64($0) }.withUnsafeBytes { Data($0) })
        case .csv:
            var text = ""
            for (i, c) in cls.enumerated() {
                text += "\(positions[i]),\(c + first)"
                if let names { text += "," + csvCell(names[Int(c)]) }
                for j in 0..<k { text += String(format: ",%.7g", p[i * k + j]) }
                text += "\n"
            }
            try classes.write(Data(text.utf8))
        }
        try probs?.write(Data(buffer: p))
    }

    public func commit() throws {
        if format == .npy, let g = grid {
            try classes.write(NPYWriter.header(descr: "<i8", shape: [g.height, g.width]))
            try classes.write(map.withUnsafeBytes { Data($0) })
        }
        try classes.commit()
        try probs?.commit()
    }

    /// What the classes output holds, for the command's last line.
    public var numbering: String {
        guard let g = grid else { return "classes 0…\(k - 1)" }
        return "classes numbered as the ground truth (1…\(k), 0: not predicted)" + (format == .npy ? ", \(g.height)×\(g.width)" : "")
    }
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break.
func csvCell(_ s: String) -> String {
    s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}
