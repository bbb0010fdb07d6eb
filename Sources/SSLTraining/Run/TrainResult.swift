import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed
import SSLTensorBoard

/// What a finished (or stopped) run reports.
public struct TrainResult {
    public var steps: Int
    public var epochs: Double
    public var seconds: Double
    public var validationAccuracy: Double?
    /// nil when the run was stopped by a signal before its last step, or for M1 (no classifier).
    public var testAccuracy: Double?
    /// M1: the bound on −log p(x) per test example.
    public var testBound: Double?
    /// The best validation score, its step, and the test score of the parameters at that step.
    public var bestValidation: Double?
    public var bestStep: Int?
    public var testAtBest: Double?
    public var runDir: String
    public var seed: UInt64
    /// The last checkpoint written, if any.
    public var checkpoint: String?
    public var stoppedBySignal: Bool
}
