import Foundation
import SSLCore

/// Examples in memory: N×D features (row-major) and N integer labels; −1 marks an example that comes
/// without a label (it can only be unlabelled data for training).
public struct Dataset {
    public var features: [Float]
    public var labels: [Int32]
    public let dim: Int
    public var classes: Int
    /// Image shape (rows, cols) for images, or [D] for vectors.
    public let shape: [Int]
    /// Each example's position in the file it was read from (nil: the identity, as read).
    public private(set) var origin: [Int]? = nil
    /// The pixel grid (height, width) of a hyperspectral cube read as `cube:`: example i is pixel (i / width, i % width).
    public var grid: (height: Int, width: Int)? = nil
    /// The classes' names when the file named them (CSV label cells that are not numbers), class k = classNames[k].
    public var classNames: [String]? = nil
    public var count: Int { labels.count }

    public init(features: [Float], labels: [Int32], dim: Int, classes: Int, shape: [Int]) {
        precondition(features.count == labels.count * dim, "Dataset: features and labels disagree")
        self.features = features; self.labels = labels; self.dim = dim; self.classes = classes; self.shape = shape
    }

    /// These examples' labels, their features still in their file (`FileRows`, read by `reading(_:from:)`).
    public init(withoutFeatures labels: [Int32], dim: Int, classes: Int, shape: [Int]) {
        self.init(features: [], labels: [], dim: dim, classes: classes, shape: shape)
        self.labels = labels
        featureRow = [Int32](repeating: -1, count: labels.count)
    }

    /// Where each example's features start in `features` when only some examples hold them (`keepingFeatures(of:)`,
    /// `reading(_:from:)`): −1 for one without; nil: example i's at i·D.
    public private(set) var featureRow: [Int32]? = nil

    /// Whether example i's features are here (every example's unless some were let go or never read).
    public func hasFeatures(_ i: Int) -> Bool { featureRow.map { $0[i] >= 0 } ?? true }

    /// The offset of example i's features in `features`.
    @inline(__always) public func offset(ofExample i: Int) -> Int {
        guard let rows = featureRow else { return i * dim }
        precondition(rows[i] >= 0, "Dataset: example \(i)'s features were let go (keepingFeatures)")
        return Int(rows[i]) * dim
    }

    /// These examples, all with their labels, holding the features of `kept` only (sorted indices): a rank's copy of
    /// the training set that lets go of other ranks' shards. Every other example's features are gone.
    public func keepingFeatures(of kept: [Int]) -> Dataset {
        var d = self
        d.features = rows(kept)
        d.featureRow = Self.rowMap(kept, count: count)
        return d
    }

    /// These examples, holding the features of `kept` only (indices), read from their file: the rows of
    /// `source` at the examples' positions.
    public func reading(_ kept: [Int], from source: FileRows) throws -> Dataset {
        var d = self
        d.features = try source.read(kept.map { position($0) })
        d.featureRow = Self.rowMap(kept, count: count)
        return d
    }

    /// Every example's features read from their file.
    public func readingEveryRow(from source: FileRows) throws -> Dataset {
        var d = self
        d.features = try source.read(labels.indices.map { position($0) })
        d.featureRow = nil
        return d
    }

    /// Row r of the features for example kept[r], −1 for every other example.
    static func rowMap(_ kept: [Int], count: Int) -> [Int32] {
        var rowOf = [Int32](repeating: -1, count: count)
        for (r, i) in kept.enumerated() { rowOf[i] = Int32(r) }
        return rowOf
    }

    /// Example i's position in its file.
    public func position(_ i: Int) -> Int { origin?[i] ?? i }

    /// The features of the examples at `indices`, in that order, row after row.
    func rows(_ indices: [Int]) -> [Float] {
        var f = [Float](); f.reserveCapacity(indices.count * dim)
        features.withUnsafeBufferPointer { src in
            for i in indices { let o = offset(ofExample: i); f.append(contentsOf: src[o..<(o + dim)]) }
        }
        return f
    }

    /// The examples at `indices`, in that order (their positions in the file are kept), with the features of those
    /// that have them here.
    public func subset(_ indices: [Int]) -> Dataset {
        var d = self
        d.labels = indices.map { labels[$0] }
        d.origin = indices.map { position($0) }
        if featureRow == nil {
            d.features = rows(indices)
        } else {
            let held = indices.indices.filter { hasFeatures(indices[$0]) }
            d.features = rows(held.map { indices[$0] })
            d.featureRow = Self.rowMap(held, count: indices.count)
        }
        return d
    }

    public func subset(_ range: Range<Int>) -> Dataset { subset(Array(range)) }

    /// Keeps only the examples at `indices` (ascending), in place: each row moves forward in the same buffer, and the
    /// pages left past the end go back to the system, so a split never holds the features twice.
    public mutating func keepOnly(_ indices: [Int]) {
        precondition(zip(indices, indices.dropFirst()).allSatisfy { $0 < $1 }, "Dataset.keepOnly: ascending indices")
        guard featureRow == nil else { self = subset(indices); return }
        let d = dim
        features.withUnsafeMutableBufferPointer { f in
            for (to, from) in indices.enumerated() where to != from {
                (f.baseAddress! + to * d).update(from: f.baseAddress! + from * d, count: d)
            }
        }
        let origins = indices.map { position($0) }
        features.removeLast(features.count - indices.count * d)
        labels = indices.map { labels[$0] }
        origin = origins
        let spare = features.capacity - features.count
        features.withUnsafeMutableBufferPointer { f in releasePages(after: f.baseAddress! + f.count, capacity: spare) }
    }

    /// These examples with their named classes numbered as in `reference` (a separate test file names its classes in
    /// its own sorted order); unchanged when neither names its classes.
    public func renumbered(like reference: Dataset, name: String) throws -> Dataset {
        guard classNames != nil || reference.classNames != nil else { return self }
        guard let mine = classNames, let theirs = reference.classNames else {
            throw DataError(name, "one of the training and test files names its classes and the other numbers them: use the same kind of labels in both")
        }
        let index = classIndex(theirs)
        if let unknown = mine.first(where: { index[$0] == nil }) {
            throw DataError(name, "class '\(unknown)' is not among the training data's classes (\(theirs.joined(separator: ", ")))")
        }
        var d = self
        d.labels = labels.map { $0 < 0 ? $0 : index[mine[Int($0)]]! }
        d.classNames = theirs
        d.classes = theirs.count
        return d
    }

    /// Every class 0…C−1 (C = one more than the largest label) has an example: a gap means a stray label or labels
    /// numbered from 1. Throws naming the classes without examples, the label that made C, and what to do.
    public func checkClassesPresent(source: String) throws {
        guard classes > 0 else { return }
        var counts = [Int](repeating: 0, count: classes)
        for y in labels where y >= 0 && Int(y) < classes { counts[Int(y)] += 1 }
        let empty = counts.indices.filter { counts[$0] == 0 }
        guard !empty.isEmpty else { return }
        if let names = classNames {
            throw DataError(source, "class '\(names[empty[0]])' has no example")
        }
        let present = counts.indices.filter { counts[$0] > 0 }
        let top = classes - 1
        let rowOf = labels.firstIndex(of: Int32(top)).map { " (first at example \(position($0)) of the file, counted from 0)" } ?? ""
        if empty == [0] {
            throw DataError(source, "no example has class 0, while classes 1 to \(top) do: the labels look numbered from 1; "
                            + "number them from 0 (subtract 1), or use class names in a CSV label column")
        }
        let list = empty.count > 6 ? "\(empty.count) classes (\(empty.prefix(3).map(String.init).joined(separator: ", ")), …)" :
            "class" + (empty.count > 1 ? "es " : " ") + empty.map(String.init).joined(separator: ", ")
        throw DataError(source, "\(list) of 0 to \(top) ha\(empty.count > 1 ? "ve" : "s") no example; classes are numbered 0 to C−1 "
                        + "with C one more than the largest label, \(top)\(rowOf); labels present: "
                        + (present.count > 12 ? "\(present.count) classes" : present.map(String.init).joined(separator: ", "))
                        + ". Fix the stray label, or number the classes 0 to C−1 (−1: no label)")
    }

    /// Indices of each class, in order (examples without a label are in none).
    public func indicesByClass() -> [[Int]] { SSLData.indicesByClass(labels, classes: classes) }

    /// Indices of the examples that come without a label (−1).
    public var unlabelledOnly: [Int] { unlabelledIndices(labels) }

    public var maxFeature: Float { features.max() ?? 0 }

    /// At most `perClass` examples of each class, chosen by a seeded shuffle per class, in their original order.
    /// Examples without a label are all kept (their class is unknown).
    public func capped(perClass: Int, seed: UInt64) -> Dataset {
        let noise = NoiseSource(seed: seed)
        var keep: [Int] = unlabelledOnly
        for (c, idx) in indicesByClass().enumerated() {
            var g = noise.generator(stream: .dataSplit, 3, c)
            keep += g.permutation(idx.count).prefix(perClass).map { idx[$0] }
        }
        return subset(keep.sorted())
    }

    /// Per-feature mean and standard deviation (floored at 1e-6) over the examples.
    public func featureStatistics() -> Standardization { Standardization(sums: featureSums(of: Array(0..<count))) }

    /// The count, and per feature the sum and the sum of squares, of the examples at `indices` (in Double): what
    /// `Standardization(sums:)` needs, and what ranks that each hold part of the examples add up.
    public func featureSums(of indices: [Int]) -> [Double] {
        var sums = [Double](repeating: 0, count: 1 + 2 * dim)
        sums[0] = Double(indices.count)
        features.withUnsafeBufferPointer { f in
            for i in indices {
                let o = offset(ofExample: i)
                for j in 0..<dim { let v = Double(f[o + j]); sums[1 + j] += v; sums[1 + dim + j] += v * v }
            }
        }
        return sums
    }

    /// x ← (x − mean) / std, per feature, for every example whose features are here.
    public mutating func standardize(_ s: Standardization) {
        precondition(s.mean.count == dim, "standardization for \(s.mean.count) features applied to \(dim)")
        for i in 0..<(features.count / max(dim, 1)) {
            for j in 0..<dim { features[i * dim + j] = (features[i * dim + j] - s.mean[j]) / s.std[j] }
        }
    }

    public mutating func scale(by s: Float) {
        let inv = 1 / s
        for i in features.indices { features[i] *= inv }
    }

    /// FNV-1a digest of the labels and of the features of the examples at `indices` (every 7th value), for cross-rank
    /// checks: ranks that hold different examples' features compare those they all hold.
    public func digest(features indices: [Int]) -> UInt64 {
        var h = FNV1a()
        h.add(UInt64(count)); h.add(UInt64(dim))
        for y in labels { h.add(UInt64(UInt32(bitPattern: y))) }
        for (k, f) in rows(indices).enumerated() where k % 7 == 0 { h.add(UInt64(f.bitPattern)) }
        return h.value
    }
}

/// Class k of a file that names its classes is `names[k]`: each name's class.
func classIndex(_ names: [String]) -> [String: Int32] {
    Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, Int32($0.offset)) })
}

/// Indices of each of `classes` classes among `labels`, in order (a label −1, no label, is in none).
public func indicesByClass(_ labels: [Int32], classes: Int) -> [[Int]] {
    var by = [[Int]](repeating: [], count: classes)
    for (i, y) in labels.enumerated() where y >= 0 { by[Int(y)].append(i) }
    return by
}

/// Indices of the examples without a label (−1).
public func unlabelledIndices(_ labels: [Int32]) -> [Int] { labels.indices.filter { labels[$0] < 0 } }

/// Gives the whole pages of `count` floats after `start` (an array's capacity past its end) back to the system: they
/// read as zero if ever touched again. Keeps resident memory down after an array shrinks in place.
func releasePages(after start: UnsafeMutablePointer<Float>, capacity count: Int) {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let from = (Int(bitPattern: start) + page - 1) / page * page
    let to = (Int(bitPattern: start + count)) / page * page
    if to > from { _ = madvise(UnsafeMutableRawPointer(bitPattern: from), to - from, MADV_DONTNEED) }
}
