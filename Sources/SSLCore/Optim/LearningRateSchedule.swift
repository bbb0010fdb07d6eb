import Foundation

/// The learning rate as a pure function of the global step, so every rank and every resume computes the same one:
///   constant:  lr
///   step:      lr·factorᵏ, k = ⌊step / every⌋, never below `floor` (Maaløe's ADGM: ×0.75 every 200 epochs, floor 3e-5)
///   cosine:    floor + ½(lr − floor)(1 + cos(π·step/total)), reaching `floor` at the last step
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    case constant
    case step(every: Int, factor: Double, floor: Double)
    case cosine(total: Int, floor: Double)

    public func rate(base: Float, step: Int) -> Float {
        switch self {
        case .constant:
            return base
        case .step(let every, let factor, let floor):
            let k = every > 0 ? step / every : 0
            return Float(max(Double(base) * pow(factor, Double(k)), min(floor, Double(base))))
        case .cosine(let total, let floor):
            let f = min(floor, Double(base))
            let progress = total > 0 ? min(Double(step) / Double(total), 1) : 0
            return Float(f + 0.5 * (Double(base) - f) * (1 + cos(Double.pi * progress)))
        }
    }
}

/// The weight prior of Maaløe's code: an N(0, 1) prior on every weight matrix, its −log density scaled by 1/N (N the
/// training examples), i.e. weight decay: dJ/dW += W/N. Biases, normalisation parameters and state are left out.
public struct WeightPrior: Equatable, Sendable {
    public let scale: Float
    public init(examples n: Int) { scale = 1 / Float(max(n, 1)) }

    /// Adds W·scale to the gradient of every weight matrix from parameter `start` on; returns ½·scale·Σ W² (the term
    /// added to the objective).
    @discardableResult
    public func addGradient(_ store: ParameterStore, from start: Int = 0) -> Double {
        var penalty = 0.0
        for e in store.layout.entries where !e.isState && e.shape.count == 2 && e.offset >= start {
            let w = store.values.pointer + e.offset, g = store.grads.pointer + e.offset
            for i in 0..<e.count { g[i] += scale * w[i]; penalty += Double(w[i]) * Double(w[i]) }
        }
        return 0.5 * Double(scale) * penalty
    }
}
