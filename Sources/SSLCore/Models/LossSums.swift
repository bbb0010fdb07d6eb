/// Sums over a step's local examples, reported per example once summed across ranks.
/// Bounds are at β = 1 (the true bounds); `objective` is the β-weighted, normalised loss minimised.
public struct LossSums: Equatable {
    public var labelledBound = 0.0      // Σ L(x, y)
    public var unlabelledBound = 0.0    // Σ U(x)
    public var crossEntropy = 0.0       // Σ −log q(y|x) over labelled
    public var correct = 0.0            // labelled examples classified right (training batch)
    public var labelledCount = 0.0
    public var unlabelledCount = 0.0
    public var objective = 0.0
    /// Σ over unlabelled examples of max_y ℓ(x,y) − min_y ℓ(x,y), the spread of the generative cost over the labels
    /// (nats, β = 1): near 0 when the decoder ignores y, and the unlabelled bound then cannot teach the classifier.
    public var labelSpread = 0.0
    /// Σ over every example (labelled and unlabelled) of KL(q(y|x) ‖ q(y|x + r_adv)), with virtual adversarial training.
    public var adversarial = 0.0

    public init() {}
    public static let fieldCount = 9
    public var array: [Double] {
        [labelledBound, unlabelledBound, crossEntropy, correct, labelledCount, unlabelledCount, objective, labelSpread, adversarial]
    }
    public init(array a: [Double]) {
        precondition(a.count == Self.fieldCount)
        (labelledBound, unlabelledBound, crossEntropy, correct) = (a[0], a[1], a[2], a[3])
        (labelledCount, unlabelledCount, objective, labelSpread, adversarial) = (a[4], a[5], a[6], a[7], a[8])
    }
    public static func + (l: LossSums, r: LossSums) -> LossSums {
        LossSums(array: zip(l.array, r.array).map(+))
    }
}
