import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed

/// Sums batch statistics over the ranks of the job (batch normalisation). A failed collective is kept and reported
/// after the step by `check()`, since the model's forward pass has no way to throw.
final class CommunicatorReducer: BatchReducer {
    let comm: Communicator
    private(set) var failure: Error? = nil
    init(_ comm: Communicator) { self.comm = comm }
    func sum(_ values: UnsafeMutableBufferPointer<Double>) {
        guard failure == nil else { return }
        do { try comm.allreduce(values, .sum) } catch { failure = error }
    }
    func check() throws { if let failure { throw failure } }
}
