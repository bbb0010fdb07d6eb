import Foundation
import SSLCore
import SSLData
import SSLDistributed

/// Data-parallel step throughput under MPI: the global batch (100 + 100 by default) is split over the ranks, each step
/// is forward/backward on the local slice, the gradient allreduce, and Adam. Measured three ways in the same run: with
/// one allreduce after backward (`fused`), with the gradients summed in buckets during backward (`bucketed`), and with
/// those buckets each summed onto the rank that updates its part of the parameters, which then gathers them
/// (`sharded`, `OptimizerShards`: the default of `train`). Rank 0 reports the slowest rank's numbers.
public struct DistributedBenchmarkResult {
    /// One way of summing the gradients: seconds per step, and per step the seconds spent in (fused) or waiting for
    /// (bucketed: what backward did not hide) the allreduce.
    public struct Timing {
        public var stepSeconds: Double
        public var communicationSeconds: Double
        /// Bucketed: seconds of backward after the first bucket left, per step (what could hide communication).
        public var windowSeconds = 0.0
    }
    public var model: ModelKind
    public var ranks: Int
    public var steps: Int
    public var fused: Timing
    public var bucketed: Timing
    /// Buckets onto the parts' owners, the update of a rank's part, the gather (communication: waiting after backward
    /// and the gather).
    public var sharded: Timing
    public var buckets: Int
    public var gradientBytes: Int
    public var examplesPerStep: Int
    /// Of the fused allreduce's time, the share the buckets hid behind backward.
    public var hiddenShare: Double {
        ranks > 1 && fused.communicationSeconds > 0 ? max(0, 1 - bucketed.communicationSeconds / fused.communicationSeconds) : 0
    }
    /// With `train`'s default (sharded).
    public var globalExamplesPerSecond: Double { Double(examplesPerStep) / sharded.stepSeconds }
    public var unshardedExamplesPerSecond: Double { Double(examplesPerStep) / bucketed.stepSeconds }
}

extension Benchmark {
    public static func runDistributed(model kind: ModelKind, comm: Communicator, engine choice: EngineChoice, seconds: Double = 5,
                                      unlabelledBatch: Int = 100, labelledBatch: Int = 100,
                                      bucketMB: Double = TrainConfig.defaultAllreduceBucketMB) throws -> DistributedBenchmarkResult {
        let config = modelConfig(kind)
        let engine = try MatMulEngine(choice)
        let d = config.inputDim
        let bu = kind.learnsFromUnlabelled ? unlabelledBatch : 0
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
        let bucketFloats = max(1, Int(bucketMB * 1e6 / 4))
        let overlap = OverlappedAllreduce(store: store, frozen: model.frozenCount, bucketFloats: bucketFloats, comm: comm)
        let shards = OptimizerShards(store: store, frozen: model.frozenCount, wholeTensors: adam.trustRatio, comm: comm)
        let shardedOverlap = OverlappedAllreduce(store: store, frozen: model.frozenCount, bucketFloats: bucketFloats, shards: shards,
                                                 comm: comm)
        enum Mode { case fused, bucketed, sharded }
        var s = 0

        /// `steps` steps (rank 0 chooses the count: ranks must not stop on their own clocks), the slowest rank's timing.
        func measure(_ mode: Mode, steps: Int) throws -> DistributedBenchmarkResult.Timing {
            let o: OverlappedAllreduce? = mode == .fused ? nil : mode == .bucketed ? overlap : shardedOverlap
            store.watch = o
            var communication = 0.0
            try comm.barrier()
            let t0 = Date(), exposed0 = o?.exposedSeconds ?? 0, window0 = o?.windowSeconds ?? 0
            for _ in 0..<steps {
                store.zeroGrads()
                o?.begin()
                let sums = store.holdingValues { model.trainStep(batch, store: store, noise: noise, step: s, beta: 1, counts: counts) }
                StepTail.write(sums, nextBeta: nil, into: store.grads.tail)
                if let o {
                    try o.finish()
                } else {
                    let t = Date()
                    try comm.allreduce(reducedGradients(store, frozen: model.frozenCount), .sum)
                    communication += Date().timeIntervalSince(t)
                }
                if mode == .sharded {
                    // As the trainer does: the gather of the step before is waited for here at the latest.
                    let t = Date()
                    try shards.settle()
                    communication += Date().timeIntervalSince(t)
                    try shards.update(adam, gradientNorm: try shards.gradientNorm())
                } else {
                    adam.step(store, gradientNorm: Adam.norm(store.grads, from: model.frozenCount), from: model.frozenCount)  // as the trainer does
                }
                s += 1
            }
            try shards.settle()
            try comm.barrier()
            if let o { communication += o.exposedSeconds - exposed0 }
            var times = [Date().timeIntervalSince(t0), communication, (o?.windowSeconds ?? 0) - window0].map { $0 / Double(steps) }
            try comm.allreduce(&times, .max)
            return DistributedBenchmarkResult.Timing(stepSeconds: times[0], communicationSeconds: times[1], windowSeconds: times[2])
        }
        // Warm up every way (the bucketed ones make their plans in their first step), then time each for `seconds`.
        _ = try measure(.fused, steps: 3)
        _ = try measure(.sharded, steps: 3)
        let probe = try measure(.bucketed, steps: 3)
        var steps = max(5, Int(seconds / max(probe.stepSeconds, 1e-6)))
        try comm.broadcast(&steps)
        let fused = try measure(.fused, steps: steps)
        let bucketed = try measure(.bucketed, steps: steps)
        let sharded = try measure(.sharded, steps: steps)
        return DistributedBenchmarkResult(model: kind, ranks: w, steps: steps, fused: fused, bucketed: bucketed, sharded: sharded,
                                          buckets: overlap.buckets.count - 1,
                                          gradientBytes: (model.layout.parameterCount - model.frozenCount + StepTail.count) * 4,
                                          examplesPerStep: bu > 0 ? bu : labelledBatch)
    }
}
