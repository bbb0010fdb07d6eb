import Foundation
import SSLCore
import SSLData
import SSLDistributed

/// Hash of the training config (every field, in sorted-key JSON).
func configHash(_ c: TrainConfig) throws -> UInt64 {
    let enc = JSONEncoder()
    enc.outputFormatting = .sortedKeys
    return FNV1a.hash(bytes: try enc.encode(c))
}

/// Hash of what every rank holds of the data a run trains and validates on: each split's labels, the labelled
/// examples' features, and which examples keep labels.
func dataHash(_ s: DataSplits, _ split: LabelSplit) -> UInt64 {
    var h = FNV1a()
    for d in [s.train.digest(features: split.labelled), s.validation.digest(features: []), s.test.digest(features: [])] { h.add(d) }
    for i in split.labelled { h.add(UInt64(i)) }
    h.add(UInt64(split.unlabelled.count))
    return h.value
}

/// Refuses to start unless every rank has the same config and data (allreduce of MIN and MAX).
func checkRanksAgree(_ comm: Communicator, config: UInt64, data: UInt64) throws {
    guard comm.size > 1 else { return }
    let configOK = try comm.agree(config)
    let dataOK = try comm.agree(data)
    if !configOK {
        throw TrainingError(message: String(format: "ranks were given different configurations (this rank's hash %016llx); "
            + "every rank must get the same flags", config))
    }
    if !dataOK {
        throw TrainingError(message: String(format: "ranks loaded different data (this rank's hash %016llx); "
            + "every rank must read the same files", data))
    }
}
