import Foundation

/// The frozen M1 under a stacked model (M1+M2, M1+ADGM, M1+SDGM): its architecture, and the latent dimensions the
/// inner model sees.
public struct StackedM1: Codable, Equatable, Sendable {
    public var hidden: [Int]
    public var latent: Int
    public var activation: Activation
    public var likelihood: Likelihood
    /// The dimensions of z₁ kept as M2's features (posterior-mean std ≥ 0.1 over the training split), ascending.
    public var kept: [Int]
    /// Whether the M1's networks batch-normalise (nil in checkpoints written before it existed: no).
    public var normalize: Bool? = nil
    public init(hidden: [Int], latent: Int, activation: Activation, likelihood: Likelihood, kept: [Int], normalize: Bool = false) {
        self.hidden = hidden; self.latent = latent; self.activation = activation; self.likelihood = likelihood; self.kept = kept
        self.normalize = normalize ? true : nil
    }
}
