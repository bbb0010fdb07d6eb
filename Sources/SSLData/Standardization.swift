import Foundation
import SSLCore

/// Per-feature mean and standard deviation of a training split, stored with the model.
public struct Standardization: Codable, Equatable {
    public var mean: [Float]
    public var std: [Float]
    public init(mean: [Float], std: [Float]) { self.mean = mean; self.std = std }

    /// From `Dataset.featureSums` (over one rank's examples, or summed over the ranks').
    public init(sums: [Double]) {
        let dim = (sums.count - 1) / 2, n = max(sums[0], 1)
        let m = (0..<dim).map { sums[1 + $0] / n }
        let sd = (0..<dim).map { max((sums[1 + dim + $0] / n - m[$0] * m[$0]).squareRoot(), 1e-6) }
        self.init(mean: m.map(Float.init), std: sd.map(Float.init))
    }
}
