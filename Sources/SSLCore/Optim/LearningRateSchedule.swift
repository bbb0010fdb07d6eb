import Foundation

/// The learning rate as a pure function of the global step, so every rank and every resume computes the same one:
///   constant:  lr
///   step:      lr·factorᵏ, k = ⌊step / every⌋, never below `floor` (Maaløe's ADGM: ×0.75 every 200 epochs, floor 3e-5)
///   cosine:    floor + ½(lr − floor)(1 + cos(π·step/total)), reaching `floor` at the last step
///   cooldown:  lr until step `start`, then the cosine's curve from lr down to `floor` over steps start…total
///              (warm-up–stable–decay, Hägele et al. 2024: a run holds its rate and anneals at its end only)
/// and, with a learning-rate warm-up of W steps (`--lr-warmup-epochs`), the schedule's rate times (step + 1)/W for the
/// first W steps.
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    case constant
    case step(every: Int, factor: Double, floor: Double)
    case cosine(total: Int, floor: Double)
    case cooldown(start: Int, total: Int, floor: Double)

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
        case .cooldown(let start, let total, let floor):
            guard step > start else { return base }
            return LearningRateSchedule.cosine(total: total - start, floor: floor).rate(base: base, step: step - start)
        }
    }

    /// The rate at `step` after a linear warm-up over the first `warmupSteps` steps.
    public func rate(base: Float, step: Int, warmupSteps: Int) -> Float {
        let r = rate(base: base, step: step)
        return step < warmupSteps ? r * Float(step + 1) / Float(warmupSteps) : r
    }
}
