import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed
import SSLTensorBoard

/// How to continue a run: the checkpoint (`latest` or a path) and how the command line's flags
/// combine with the checkpoint's config (throwing on flags that contradict it).
public struct ResumeRequest {
    public var checkpoint: String
    public var merge: (TrainConfig) throws -> TrainConfig
    public init(checkpoint: String, merge: @escaping (TrainConfig) throws -> TrainConfig) {
        self.checkpoint = checkpoint; self.merge = merge
    }
}
