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

/// Hash of the data a run trains and validates on, and of which examples keep labels.
func dataHash(_ s: DataSplits, _ split: LabelSplit) -> UInt64 {
    var h = FNV1a()
    for d in [s.train.digest, s.validation.digest, s.test.digest] { h.add(d) }
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

/// The per-step scalars that ride after the gradients in the fused allreduce.
enum StepTail {
    static let lossSums = 0
    static let nextBeta = LossSums.fieldCount     // rank 0 writes β for the next step; others 0
    static let stop = LossSums.fieldCount + 1     // 1 on a rank that received SIGTERM or SIGINT
    static let count = LossSums.fieldCount + 2

    static func write(_ sums: LossSums, nextBeta: Float?, stop: Bool = false, into tail: UnsafeMutablePointer<Float>) {
        for (i, v) in sums.array.enumerated() { tail[lossSums + i] = Float(v) }
        tail[Self.nextBeta] = nextBeta ?? 0
        tail[Self.stop] = stop ? 1 : 0
    }

    static func readSums(_ tail: UnsafeMutablePointer<Float>) -> LossSums {
        LossSums(array: (0..<LossSums.fieldCount).map { Double(tail[lossSums + $0]) })
    }
}

/// What one step's allreduce covers: the gradients of the trainable parameters (after the `frozen` first ones,
/// M1+M2's M1) and the tail that rides with them.
func reducedGradients(_ store: ParameterStore, frozen: Int) -> UnsafeMutableBufferPointer<Float> {
    UnsafeMutableBufferPointer(rebasing: store.grads.whole[frozen...])
}
