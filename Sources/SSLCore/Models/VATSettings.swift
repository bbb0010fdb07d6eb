import Foundation

/// Virtual adversarial training's settings: the perturbation's size ε (L2, per example), the term's weight λ, the
/// power iteration's step ξ, and whether batch normalisation normalises the perturbed passes with the clean pass's
/// statistics (`cleanStatistics`; false: each perturbed batch with its own, as before it existed) (see
/// `VirtualAdversarial`).
public struct VATSettings: Codable, Equatable, Sendable {
    public var epsilon: Float
    public var weight: Float
    public var xi: Float
    public var cleanStatistics: Bool
    public init(epsilon: Float, weight: Float = 1, xi: Float = 10, cleanStatistics: Bool = false) {
        self.epsilon = epsilon; self.weight = weight; self.xi = xi; self.cleanStatistics = cleanStatistics
    }

    enum CodingKeys: String, CodingKey { case epsilon, weight, xi, cleanStatistics }

    /// Settings stored before `cleanStatistics` existed read as false: what those runs did.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(epsilon: try c.decode(Float.self, forKey: .epsilon), weight: try c.decode(Float.self, forKey: .weight),
                  xi: try c.decode(Float.self, forKey: .xi),
                  cleanStatistics: try c.decodeIfPresent(Bool.self, forKey: .cleanStatistics) ?? false)
    }
}
