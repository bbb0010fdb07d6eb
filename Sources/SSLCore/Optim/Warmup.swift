/// KL warm-up: β rises linearly from 0 to 1 over `steps` global steps; a pure function
/// of the step, so every rank and every resume computes the same β. 0 steps: β = 1.
public struct Warmup: Codable, Equatable {
    public let steps: Int
    public init(steps: Int) { self.steps = steps }
    public func beta(atStep step: Int) -> Float {
        steps <= 0 ? 1 : Float(min(Double(step) / Double(steps), 1))
    }
}
