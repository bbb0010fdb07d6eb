import Foundation

/// A dataset named on the command line by `--data`:
/// `fashion-mnist`, `mnist:DIR`, `idx:IMAGES,LABELS`, `csv:PATH`.
public enum DataSpec: Equatable, CustomStringConvertible, Codable {
    case fashionMNIST(directory: String)
    case mnist(directory: String)
    case idx(images: String, labels: String)
    case csv(path: String)
    case npy(features: String, labels: String)
    /// A hyperspectral cube H×W×B and its H×W ground-truth map (0: no label, 1…C: classes).
    case cube(spectra: String, groundTruth: String)

    public static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    public init(parsing s: String, flag: String = "--data") throws {
        if s == "fashion-mnist" { self = .fashionMNIST(directory: Self.fashionMNISTDirectory); return }
        if s.hasPrefix("fashion-mnist:") { self = .fashionMNIST(directory: String(s.dropFirst(14))); return }
        if s.hasPrefix("mnist:") {
            let dir = String(s.dropFirst(6))
            guard !dir.isEmpty else { throw DataError(flag, "'mnist:' needs a directory, e.g. mnist:/data/mnist") }
            self = .mnist(directory: dir); return
        }
        if s.hasPrefix("idx:") {
            let parts = s.dropFirst(4).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw DataError(flag, "'\(s)' should be idx:IMAGES,LABELS")
            }
            self = .idx(images: parts[0], labels: parts[1]); return
        }
        if s.hasPrefix("npy:") {
            let parts = s.dropFirst(4).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw DataError(flag, "'\(s)' should be npy:FEATURES.npy,LABELS.npy")
            }
            self = .npy(features: parts[0], labels: parts[1]); return
        }
        if s.hasPrefix("cube:") {
            let parts = s.dropFirst(5).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw DataError(flag, "'\(s)' should be cube:SPECTRA.npy,GROUND_TRUTH.npy")
            }
            self = .cube(spectra: parts[0], groundTruth: parts[1]); return
        }
        if s.hasPrefix("csv:") {
            let p = String(s.dropFirst(4))
            guard !p.isEmpty else { throw DataError(flag, "'csv:' needs a path, e.g. csv:digits.csv.gz") }
            self = .csv(path: p); return
        }
        throw DataError(flag, "'\(s)' is not a dataset; expected fashion-mnist, mnist:DIR, idx:IMAGES,LABELS, csv:PATH, npy:X.npy,Y.npy or cube:X.npy,GT.npy")
    }

    public var description: String {
        switch self {
        case .fashionMNIST(let d): return d == Self.fashionMNISTDirectory ? "fashion-mnist" : "fashion-mnist:\(d)"
        case .mnist(let d): return "mnist:\(d)"
        case .idx(let i, let l): return "idx:\(i),\(l)"
        case .csv(let p): return "csv:\(p)"
        case .npy(let x, let y): return "npy:\(x),\(y)"
        case .cube(let x, let gt): return "cube:\(x),\(gt)"
        }
    }

    /// Formats whose features are not bytes: scaled to [0, 1] by --scale or the training maximum.
    public var needsScaling: Bool {
        switch self { case .csv, .npy, .cube: return true; default: return false }
    }

    /// MNIST-family datasets come with their own train/test split.
    public var hasOwnTestSplit: Bool {
        switch self { case .fashionMNIST, .mnist: return true; default: return false }
    }

    /// Finds `name` or `name.gz` in `dir`.
    static func locate(_ dir: String, _ name: String) throws -> String {
        for candidate in ["\(dir)/\(name).gz", "\(dir)/\(name)"] where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        var hint = ""
        if dir == fashionMNISTDirectory { hint = " (install it with: apt-get install dataset-fashion-mnist, or run make deps)" }
        throw DataError("\(dir)/\(name)", "not found, with or without .gz\(hint)")
    }

    /// The MNIST family's test split (t10k) in `dir`.
    static func mnistTest(_ dir: String) throws -> Dataset {
        try IDXReader.readPair(images: locate(dir, "t10k-images-idx3-ubyte"), labels: locate(dir, "t10k-labels-idx1-ubyte"), classes: 10)
    }

    /// Loads (train, test?) in file order, features scaled to [0, 1] for IDX, raw for CSV.
    public func load(labelColumn: LabelColumn = .last) throws -> (train: Dataset, test: Dataset?) {
        let (train, test, _) = try open(labelColumn: labelColumn, deferFeatures: false)
        return (train, test)
    }

    /// As `load`, but with `deferFeatures` the training features stay in their file: `train` holds its labels only,
    /// and `rows` reads the examples a rank needs (the MNIST family's own test split, 10,000 images, is read whole).
    /// `csv`: a CSV file's rows opened before (`CSVRows` by an index rank 0 made), instead of opening it here.
    public func open(labelColumn: LabelColumn = .last, deferFeatures: Bool, csv: CSVRows? = nil) throws -> (train: Dataset, test: Dataset?, rows: FileRows?) {
        let opened: (Dataset, any FileRows), test: Dataset?
        switch self {
        case .fashionMNIST(let dir), .mnist(let dir):
            opened = try IDXReader.openPair(images: Self.locate(dir, "train-images-idx3-ubyte"),
                                            labels: Self.locate(dir, "train-labels-idx1-ubyte"), classes: 10)
            let t10k = try Self.mnistTest(dir)
            if opened.0.dim != t10k.dim {
                throw DataError(dir, "train images have \(opened.0.dim) pixels but test images \(t10k.dim)")
            }
            test = t10k
        case .idx(let images, let labels):
            opened = try IDXReader.openPair(images: images, labels: labels, classes: nil); test = nil
        case .csv(let path):
            opened = try csv.map { try CSVReader.open($0) } ?? CSVReader.open(path, labelColumn: labelColumn); test = nil
        case .npy(let x, let y):
            opened = try NPYReader.openPair(features: x, labels: y); test = nil
        case .cube(let x, let gt):
            opened = try NPYReader.openCube(spectra: x, groundTruth: gt); test = nil
        }
        let (train, rows) = opened
        return deferFeatures ? (train, test, rows) : (try train.readingEveryRow(from: rows), test, nil)
    }
}
