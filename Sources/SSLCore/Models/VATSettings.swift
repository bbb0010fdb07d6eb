import Foundation

/// Virtual adversarial training's settings: the perturbation's size ε (L2, per example), the term's weight λ, and
/// the power iteration's step ξ (see `VirtualAdversarial`).
public struct VATSettings: Codable, Equatable, Sendable {
    public var epsilon: Float
    public var weight: Float
    public var xi: Float
    public init(epsilon: Float, weight: Float = 1, xi: Float = 10) { self.epsilon = epsilon; self.weight = weight; self.xi = xi }
}
