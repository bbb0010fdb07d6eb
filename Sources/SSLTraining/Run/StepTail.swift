import SSLCore

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
