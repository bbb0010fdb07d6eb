import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed

/// Stage 2 of a run: the model, its parameters and optimizer, and one training step (assemble this rank's slice,
/// forward and backward, one fused allreduce of gradients and per-step scalars, the update). Identical on every rank.
final class TrainingSession {
    let setup: RunSetup
    let comm: Communicator
    let model: SSLModel
    let store: ParameterStore
    let adam: Adam
    let reducer: CommunicatorReducer
    /// Several ranks with buckets: the gradient sums started during backward (nil: one allreduce after it).
    let overlap: OverlappedAllreduce?
    /// Several ranks with `--shard-optimizer`: each rank updates its part of the parameters (nil: every rank all).
    let shards: OptimizerShards?
    /// Adam's step count as a payload section needs stable memory of its own.
    let adamStep: UnsafeMutablePointer<Int64>
    let sections: [PayloadSection]
    let noise: NoiseSource
    let assembler: BatchAssembler
    let batch: Batch
    let evaluator: Evaluator
    let warmup: Warmup
    let schedule: LearningRateSchedule
    let lrWarmupSteps: Int
    let prior: WeightPrior?
    let stepsPerEpoch: Int, totalSteps: Int
    /// What the class-mix estimate found, once made (for the run's log).
    var classMixNote: String? = nil
    /// Steps completed; the next step is this one.
    private(set) var step: Int
    /// Test hook: SSL_DIST_TEST_NAN_AT_STEP=N poisons one gradient on the last rank at step N.
    let nanStep = ProcessInfo.processInfo.environment["SSL_DIST_TEST_NAN_AT_STEP"].flatMap { Int($0) }

    var config: TrainConfig { setup.config }
    var epoch: Double { Double(step) / Double(stepsPerEpoch) }

    init(setup: RunSetup, comm: Communicator) throws {
        self.setup = setup
        self.comm = comm
        let c = setup.config
        reducer = CommunicatorReducer(comm)
        model = makeModel(setup.modelConfig, capacity: setup.capacity,
                          workspace: Workspace(engine: try MatMulEngine(setup.engine), reducer: reducer))
        store = ParameterStore(layout: model.layout, gradientTail: StepTail.count)
        let sharded = c.shardOptimizer?.shards(oneNode: comm.localSize == comm.size) ?? false
        shards = OptimizerShards.make(store: store, frozen: model.frozenCount, enabled: sharded, wholeTensors: c.resolvedOptimizer == .lamb,
                                      comm: comm)
        overlap = OverlappedAllreduce.make(store: store, frozen: model.frozenCount, megabytes: c.allreduceBucketMB, shards: shards,
                                           comm: comm)
        adam = c.makeOptimizer(for: store)
        adamStep = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        adamStep.initialize(to: 0)
        sections = payloadSections(store, adam, adamStep)
        noise = setup.modelConfig.noise(seed: c.seed)
        let sampler = setup.sampler
        assembler = BatchAssembler(train: setup.train, split: setup.split, sampler: sampler, noise: noise, binarize: c.binarizes)
        batch = Batch(capacity: setup.capacity.labelled + setup.capacity.unlabelled, features: setup.train.dim)
        evaluator = Evaluator(model: model, chunk: c.evalBatchSize)
        stepsPerEpoch = sampler.stepsPerEpoch
        warmup = Warmup(steps: c.klWarmupSteps(stepsPerEpoch: stepsPerEpoch))
        totalSteps = c.steps ?? (c.epochs! * stepsPerEpoch)
        schedule = c.schedule(stepsPerEpoch: stepsPerEpoch, totalSteps: totalSteps)
        lrWarmupSteps = c.lrWarmupSteps(stepsPerEpoch: stepsPerEpoch)
        prior = c.resolvedWeightPrior ? WeightPrior(examples: setup.train.count) : nil
        step = setup.saved?.step ?? 0
        try loadParameters()
    }

    deinit { adamStep.deallocate() }

    /// From the checkpoint on resume; otherwise initialised on rank 0 and broadcast, a stacked model's frozen M1 copied in.
    func loadParameters() throws {
        if let state = setup.saved {
            guard state.layout == model.layout else {
                throw TrainingError(message: "the checkpoint holds a \(state.model.rawValue) model with \(state.layout.totalCount) "
                    + "values in \(state.layout.entries.count) tensors; this run builds a \(config.model.rawValue) model with "
                    + "\(model.layout.totalCount) in \(model.layout.entries.count): another model or layout")
            }
            try CheckpointLoading(comm: comm).payload(setup.reader, into: sections)
            adam.t = Int(adamStep.pointee)
            return
        }
        if comm.isRoot { store.initialize(seed: config.seed, scheme: config.initialization ?? .glorot) }
        if let m1 = setup.frozenM1, let stacked = model as? StackedModel {
            do { try stacked.loadFrozenM1(from: m1.store, into: store) } catch {
                throw ConfigError(flag: "--m1", problem: "\(config.m1!): \(error)")
            }
        }
        try comm.broadcast(store.values.pointer, count: store.values.count)
        try estimateClassMix()
        if let a = store.average { a.pointer.update(from: store.values.pointer, count: store.values.count) }
    }

    /// The learning rate at step `s` (the schedule's, after the warm-up).
    func learningRate(atStep s: Int) -> Float { schedule.rate(base: config.batchScaledLearningRate, step: s, warmupSteps: lrWarmupSteps) }

    /// One step at `beta`: returns the loss sums over every rank, rank 0's β for the next step, and whether any rank
    /// asked to stop (each rides in the gradient allreduce's tail).
    func step(beta: Float, stop: Bool) throws -> (LossSums, Float, Bool) {
        assembler.fill(batch, step: step, labelled: setup.myLabelled, unlabelledOf: (comm.rank, comm.size), global: setup.counts.unlabelled)
        store.zeroGrads()
        if step == nanStep && comm.rank == comm.size - 1 { store.grads[store.grads.count - 1] = .nan }
        overlap?.begin()
        let local = store.holdingValues { model.trainStep(batch, store: store, noise: noise, step: step, beta: beta, counts: setup.counts) }
        try reducer.check()
        // The gradients, then loss sums and counts, the next β, and the stop flag: one allreduce, or buckets of it
        // (already on their way during backward) and the tail.
        StepTail.write(local, nextBeta: comm.isRoot ? warmup.beta(atStep: step + 1) : nil, stop: stop, into: store.grads.tail)
        try sumGradients()
        let sums = StepTail.readSums(store.grads.tail)
        let nextBeta = store.grads.tail[StepTail.nextBeta]
        let stopping = store.grads.tail[StepTail.stop] > 0
        guard sums.objective.isFinite else {
            let hint = config.resolvedLikelihood == .gaussian && config.standardize != true ? "--standardize, " : ""
            throw TrainingError(message: "step \(step): the loss is not finite (\(sums.objective)); "
                                + "try \(hint)a lower --lr or --clip-grad-norm; the last checkpoint is unchanged")
        }
        try update()
        step += 1
        return (sums, nextBeta, stopping)
    }

    /// The gradients and the tail summed over the ranks: buckets already on their way during backward, else one
    /// allreduce after it; sharded, each part onto its owner only.
    private func sumGradients() throws {
        if let overlap {
            try overlap.finish()
        } else if let shards {
            try shards.reduceGradients()
        } else {
            try comm.allreduce(reducedGradients(store, frozen: model.frozenCount), .sum)
        }
    }

    /// The weight prior, the norm check and Adam at this step's rate; sharded, on this rank's part, whose gather then
    /// starts.
    private func update() throws {
        let frozen = model.frozenCount
        // Sharded, a rank holds the summed gradients of its own part only.
        prior?.addGradient(store, range: shards?.own ?? frozen..<store.layout.parameterCount)
        // Checked before the update, so a bad step never reaches the parameters.
        let gnorm = try shards?.gradientNorm() ?? Adam.norm(store.grads, from: frozen)
        guard gnorm.isFinite else {
            throw TrainingError(message: "step \(step): the gradient is not finite; the last checkpoint is unchanged")
        }
        adam.learningRate = learningRate(atStep: step)
        if let shards { try shards.update(adam, gradientNorm: gnorm) } else { adam.step(store, gradientNorm: gnorm, from: frozen) }
    }

    /// A new run's class-mix estimate and the class-balance term's target from it (see `ClassMixEstimate` and
    /// `ClassMixProbe`). Every rank calls it.
    func estimateClassMix() throws {
        guard let mix = setup.modelConfig.classMix, ClassMixEstimate.read(store) != nil, !setup.split.labelled.isEmpty else { return }
        let probe = ClassMixProbe(setup: setup, comm: comm, noise: noise)
        let labelled = setup.split.labelled
        let full = try probe.estimate(mix, labelled: labelled)
        let (a, b) = ClassMixProbe.halves(labelled, labels: setup.train.labels)
        let decision = mix.decide(full: full, halves: try probe.estimate(mix, labelled: a), try probe.estimate(mix, labelled: b),
                                  labelled: labelled.count)
        ClassMixEstimate.write(decision.target, into: store)
        classMixNote = "  class mix of the unlabelled data, estimated by EM from a supervised probe: "
            + full.map { String(format: "%.3f", $0) }.joined(separator: " ") + "; " + decision.reason
    }

    /// Every `every` steps on several ranks: the parameters must be equal bit for bit on all of them.
    func checkRanksInStep(every: Int) throws {
        guard every > 0 && comm.size > 1 && step % every == 0 else { return }
        try shards?.settle()
        guard try comm.agree(store.digest) else {
            throw TrainingError(message: "step \(step): parameters differ across ranks (digest "
                                + String(format: "%016llx", store.digest) + " here); the ranks have diverged")
        }
    }

    /// Rank 0's score of a split, on every rank: accuracy, or for M1 the bound per example (nats); with the moving
    /// average of the parameters when the run keeps one.
    func score(_ data: Dataset) throws -> Double {
        try shards?.gatherAverage()
        return try score(data, model: model, store: store.averaged() ?? store)
    }

    /// Every rank scores its share of the split's chunks (`Evaluator.score(_:store:noise:comm:)`): the score one
    /// process gives, bit for bit (until now rank 0 scored alone while the others waited).
    func score(_ data: Dataset, model m: SSLModel, store s: ParameterStore) throws -> Double {
        let e = m === model ? evaluator : Evaluator(model: m, chunk: config.evalBatchSize)
        return try e.score(data, store: s, noise: noise, comm: comm)
    }

    /// Every rank, before a checkpoint is written: the optimizer's state complete on rank 0 (sharded, each rank has its
    /// own part only).
    func completeOptimizerState() throws { try shards?.gatherOptimizer(adam) }

    /// The checkpoint header's state after `step` steps.
    func state(lastValidation: Double?, best: (score: Double, step: Int)?, clock: RunClock) -> TrainingState {
        adamStep.pointee = Int64(adam.t)
        let c = config, globalL = setup.counts.labelled
        return TrainingState(
            config: c, model: c.model, modelConfig: setup.modelConfig, layout: model.layout, step: step, epoch: epoch,
            dataPosition: .init(unlabelledEpoch: step / stepsPerEpoch, unlabelledBatchInEpoch: step % stepsPerEpoch,
                                labelledStreamPosition: step * globalL),
            warmup: .init(steps: warmup.steps, betaAtStep: warmup.beta(atStep: step)),
            rng: .init(seed: c.seed, nextStep: step), adamStep: adam.t, worldSize: comm.size, blasThreads: computeThreads(),
            engine: setup.engine, lastValidationAccuracy: lastValidation, bestValidation: best?.score, bestStep: best?.step,
            trainingSeconds: clock.training, elapsedSeconds: clock.elapsed, standardization: setup.standardization, dataScale: setup.spec.needsScaling ? setup.splits.scale : nil,
            classNames: setup.train.classNames, build: BuildInfo.description, writtenAt: ISO8601DateFormatter().string(from: Date()))
    }
}
