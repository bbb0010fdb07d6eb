import Foundation
import SSLCore
import SSLData
import SSLDistributed

/// Strong-scaling step throughput under MPI: the global batch (100 + 100 by default) is split over the
/// ranks, each step is forward/backward on the local slice, one fused gradient allreduce, and Adam.
/// Compute and allreduce are timed separately on every rank; rank 0 reports the slowest rank's numbers.
public struct DistributedBenchmarkResult {
    public var model: ModelKind
    public var ranks: Int
    public var steps: Int
    public var stepSeconds: Double
    public var allreduceSeconds: Double
    public var globalExamplesPerSecond: Double
    public var gradientBytes: Int
    public var allreduceShare: Double { allreduceSeconds / stepSeconds }
}

extension Benchmark {
    public static func runDistributed(model kind: ModelKind, comm: Communicator, engine choice: EngineChoice, seconds: Double = 5,
                                      unlabelledBatch: Int = 100, labelledBatch: Int = 100) throws -> DistributedBenchmarkResult {
        let config = modelConfig(kind)
        let engine = try MatMulEngine(choice)
        let d = config.inputDim
        let bu = kind == .supervised ? 0 : unlabelledBatch
        let w = comm.size
        let myL = slice(total: labelledBatch, rank: comm.rank, world: w)
        let myU = slice(total: bu, rank: comm.rank, world: w)
        let model = makeModel(config, capacity: Capacity(labelled: (labelledBatch + w - 1) / w, unlabelled: (bu + w - 1) / w,
                                                         evaluation: 100),
                              workspace: Workspace(engine: engine, reducer: CommunicatorReducer(comm)))
        let store = ParameterStore(layout: model.layout, gradientTail: StepTail.count)
        store.initialize(seed: 1)
        let adam = optimizer(kind, store: store)
        let noise = NoiseSource(seed: 1)
        let batch = Batch(capacity: myL.count + myU.count, features: d)
        fillSynthetic(batch, ids: Array(myL) + myU.map { labelledBatch + $0 }, labelledBatch: labelledBatch,
                      classes: config.classes, noise: noise)
        let counts = GlobalCounts(labelled: labelledBatch, unlabelled: bu)
        var reduceTime = 0.0
        func step(_ s: Int) throws {
            store.zeroGrads()
            let sums = model.trainStep(batch, store: store, noise: noise, step: s, beta: 1, counts: counts)
            StepTail.write(sums, nextBeta: nil, into: store.grads.tail)
            let t = Date()
            try comm.allreduce(reducedGradients(store, frozen: model.frozenCount), .sum)
            reduceTime += Date().timeIntervalSince(t)
            adam.step(store, gradientNorm: Adam.norm(store.grads, from: model.frozenCount), from: model.frozenCount)  // as the trainer does
        }
        // Warm up, then rank 0 picks the step count (ranks must not stop on their own clocks).
        for s in 0..<3 { try step(s) }
        try comm.barrier()
        let t0 = Date()
        for s in 3..<6 { try step(s) }
        var steps = max(5, Int(seconds / max(Date().timeIntervalSince(t0) / 3, 1e-6)))
        try comm.broadcast(&steps)
        try comm.barrier()
        reduceTime = 0
        let t1 = Date()
        for s in 0..<steps { try step(6 + s) }
        try comm.barrier()
        var times = [Date().timeIntervalSince(t1) / Double(steps), reduceTime / Double(steps)]
        try comm.allreduce(&times, .max)
        let examples = Double(bu > 0 ? bu : labelledBatch)
        return DistributedBenchmarkResult(model: kind, ranks: w, steps: steps, stepSeconds: times[0], allreduceSeconds: times[1],
                                          globalExamplesPerSecond: examples / times[0],
                                          gradientBytes: (model.layout.parameterCount - model.frozenCount + StepTail.count) * 4)
    }

    /// Ring-allreduce time for `bytes` over `ranks` ranks at `bytesPerSecond`, with `latency` per message:
    /// 2(p−1)/p·bytes/bandwidth + 2(p−1)·latency.
    public static func ringAllreduceSeconds(bytes: Int, ranks p: Int, bytesPerSecond: Double, latency: Double = 20e-6) -> Double {
        guard p > 1 else { return 0 }
        return 2 * Double(p - 1) / Double(p) * Double(bytes) / bytesPerSecond + 2 * Double(p - 1) * latency
    }
}
