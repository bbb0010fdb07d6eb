import Foundation
import SSLCore
import SSLData

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
