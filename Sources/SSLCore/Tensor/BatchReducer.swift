

/// Sums statistics across the ranks of a job in the middle of a step (batch normalisation's batch statistics), so
/// that a batch split over N ranks is normalised exactly as on one. Every rank calls it in the same order.
public protocol BatchReducer: AnyObject {
    /// Replaces `values` by their sum over the ranks.
    func sum(_ values: UnsafeMutableBufferPointer<Double>)
}

/// The reducer of a single process: the local sums are the global ones.
public final class LocalReducer: BatchReducer {
    public init() {}
    public func sum(_ values: UnsafeMutableBufferPointer<Double>) {}
}
