import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed
import SSLTensorBoard

/// A failure during training, naming the step.
public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
