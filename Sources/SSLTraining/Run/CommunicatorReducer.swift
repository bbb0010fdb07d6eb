import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed

/// Sums batch statistics over the ranks of the job (batch normalisation). A failed collective is kept and reported
/// after the step by `check()`, since the model's forward pass has no way to throw.
/// It counts its sums and the seconds spent in them: each is a point where every rank waits for the slowest.
final class CommunicatorReducer: BatchReducer {
    let comm: Communicator
    private(set) var failure: Error? = nil
    private(set) var sums = 0, values = 0, seconds = 0.0
    init(_ comm: Communicator) { self.comm = comm }
    func sum(_ values: UnsafeMutableBufferPointer<Double>) {
        guard failure == nil else { return }
        let t = Date()
        do { try comm.allreduce(values, .sum) } catch { failure = error }
        seconds += Date().timeIntervalSince(t); sums += 1; self.values += values.count
    }

    /// Sums a step over `steps` steps of this process (nil on one rank, or before a step).
    func sumsPerStep(steps: Int) -> Double? { comm.size > 1 && steps > 0 ? Double(sums) / Double(steps) : nil }

    /// The line `train` ends with on several ranks: how many sums a step, and the time rank 0 spent in them.
    func summary(steps: Int, stepSeconds: Double) -> String? {
        guard let perStep = sumsPerStep(steps: steps), sums > 0 else { return nil }
        return String(format: "batch statistics: %.0f sums a step over the ranks (%.0f values each on average), rank 0 spent "
                      + "%.1f s in them (%.2f ms a step; this process, %.1f s of training)",
                      perStep, Double(values) / Double(sums), seconds, 1000 * seconds / Double(steps), stepSeconds)
    }
    func check() throws { if let failure { throw failure } }
}
