import Foundation

/// The weight prior of Maaløe's code: an N(0, 1) prior on every weight matrix, its −log density scaled by 1/N (N the
/// training examples), i.e. weight decay: dJ/dW += W/N. Biases, normalisation parameters and state are left out.
public struct WeightPrior: Equatable, Sendable {
    public let scale: Float
    public init(examples n: Int) { scale = 1 / Float(max(n, 1)) }

    /// Adds W·scale to the gradient of every weight matrix from parameter `start` on; returns ½·scale·Σ W² (the term
    /// added to the objective).
    @discardableResult
    public func addGradient(_ store: ParameterStore, from start: Int = 0) -> Double {
        addGradient(store, range: start..<store.layout.parameterCount)
    }

    /// The same over the parameters in `range` (of a weight matrix that straddles its ends, the part inside).
    @discardableResult
    public func addGradient(_ store: ParameterStore, range: Range<Int>) -> Double {
        var penalty = 0.0
        for e in store.layout.entries where !e.isState && e.shape.count == 2 {
            let inside = range.clamped(to: e.offset..<(e.offset + e.count))
            let w = store.values.pointer, g = store.grads.pointer
            for i in inside { g[i] += scale * w[i]; penalty += Double(w[i]) * Double(w[i]) }
        }
        return 0.5 * Double(scale) * penalty
    }
}
