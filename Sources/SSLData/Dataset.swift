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
    public var count: Int { labels.count }

    public init(features: [Float], labels: [Int32], dim: Int, classes: Int, shape: [Int]) {
        precondition(features.count == labels.count * dim, "Dataset: features and labels disagree")
        self.features = features; self.labels = labels; self.dim = dim; self.classes = classes; self.shape = shape
    }

    /// The examples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        var f = [Float](); f.reserveCapacity(indices.count * dim)
        features.withUnsafeBufferPointer { src in
            for i in indices { f.append(contentsOf: src[(i * dim)..<((i + 1) * dim)]) }
        }
        return Dataset(features: f, labels: indices.map { labels[$0] }, dim: dim, classes: classes, shape: shape)
    }

    public func subset(_ range: Range<Int>) -> Dataset { subset(Array(range)) }

    /// Indices of each class, in order (examples without a label are in none).
    public func indicesByClass() -> [[Int]] {
        var by = [[Int]](repeating: [], count: classes)
        for (i, y) in labels.enumerated() where y >= 0 { by[Int(y)].append(i) }
        return by
    }

    /// Indices of the examples that come without a label (−1).
    public var unlabelledOnly: [Int] { labels.indices.filter { labels[$0] < 0 } }

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
    public func featureStatistics() -> Standardization {
        var mean = [Double](repeating: 0, count: dim), sq = [Double](repeating: 0, count: dim)
        for i in 0..<count {
            for j in 0..<dim { let v = Double(features[i * dim + j]); mean[j] += v; sq[j] += v * v }
        }  // over every training example, labelled or not
        let n = Double(max(count, 1))
        let m = mean.map { $0 / n }
        let sd = (0..<dim).map { max((sq[$0] / n - m[$0] * m[$0]).squareRoot(), 1e-6) }
        return Standardization(mean: m.map(Float.init), std: sd.map(Float.init))
    }

    /// x ← (x − mean) / std, per feature.
    public mutating func standardize(_ s: Standardization) {
        precondition(s.mean.count == dim, "standardization for \(s.mean.count) features applied to \(dim)")
        for i in 0..<count { for j in 0..<dim { features[i * dim + j] = (features[i * dim + j] - s.mean[j]) / s.std[j] } }
    }

    public mutating func scale(by s: Float) {
        let inv = 1 / s
        for i in features.indices { features[i] *= inv }
    }

    /// FNV-1a digest of labels and feature bits, for cross-rank and reproducibility checks.
    public var digest: UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for y in labels { h = (h ^ UInt64(UInt32(bitPattern: y))) &* 0x100_0000_01B3 }
        for (i, f) in features.enumerated() where i % 7 == 0 { h = (h ^ UInt64(f.bitPattern)) &* 0x100_0000_01B3 }
        return h
    }
}

/// Per-feature mean and standard deviation of a training split, stored with the model.
public struct Standardization: Codable, Equatable {
    public var mean: [Float]
    public var std: [Float]
    public init(mean: [Float], std: [Float]) { self.mean = mean; self.std = std }
}
