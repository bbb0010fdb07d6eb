import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed
import SSLTensorBoard

/// The run's clocks at a moment, counted over every segment (a resumed run continues them from its checkpoint).
struct RunClock {
    /// Seconds in training steps (no validation, checkpoints or set-up).
    var training: Double
    /// Seconds since the run began.
    var elapsed: Double
}
