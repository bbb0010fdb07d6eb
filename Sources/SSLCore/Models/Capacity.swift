import Foundation

/// Batch capacities a model allocates its workspace for.
public struct Capacity: Equatable, Sendable {
    public var labelled: Int
    public var unlabelled: Int
    /// Examples per evaluation chunk.
    public var evaluation: Int
    public init(labelled: Int, unlabelled: Int, evaluation: Int) {
        self.labelled = labelled; self.unlabelled = unlabelled; self.evaluation = evaluation
    }
    public var examples: Int { max(labelled + unlabelled, evaluation) }
    /// Room for each training example `n` times over (Monte Carlo and importance samples).
    public func replicated(_ n: Int) -> Capacity { Capacity(labelled: labelled * n, unlabelled: unlabelled * n, evaluation: evaluation) }
    public func rows(classes k: Int) -> Int { max(labelled + unlabelled * k, evaluation) }
}
