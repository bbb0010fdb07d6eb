import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed
import SSLTensorBoard

/// What a finished (or stopped) run reports.
public struct TrainResult {
    public var steps: Int
    public var epochs: Double
    public var seconds: Double
    public var validationAccuracy: Double?
    /// nil when the run was stopped by a signal before its last step, or for M1 (no classifier).
    public var testAccuracy: Double?
    /// M1: the bound on −log p(x) per test example.
    public var testBound: Double?
    public var runDir: String
    public var seed: UInt64
    /// The last checkpoint written, if any.
    public var checkpoint: String?
    public var stoppedBySignal: Bool
}

/// A failure during training, naming the step.
public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// How to continue a run: the checkpoint (`latest` or a path) and how the command line's flags
/// combine with the checkpoint's config (throwing on flags that contradict it).
public struct ResumeRequest {
    public var checkpoint: String
    public var merge: (TrainConfig) throws -> TrainConfig
    public init(checkpoint: String, merge: @escaping (TrainConfig) throws -> TrainConfig) {
        self.checkpoint = checkpoint; self.merge = merge
    }
}

/// The training loop. Every rank runs it; batches are global and each rank takes its slice,
/// gradients are summed across ranks, and every rank applies the same Adam update. Rank 0 owns
/// validation, printing, the metrics file and checkpoints.
public final class Trainer {
    public let config: TrainConfig
    let comm: Communicator
    let resume: ResumeRequest?
    let stopRequested: () -> Bool
    let progress: ProgressStyle
    let write: (String) -> Void
    let output: (String) -> Void
    /// The matrix-product backend and precision asked for (nil: the checkpoint's on resume, else the fastest).
    let engineRequest: (backend: GemmBackend?, precision: Precision?)

    /// `output` receives whole lines (rank 0 only); `write` receives progress text as is (a live bar redraws
    /// with a carriage return). `stopRequested` is polled once a step (e.g. set by SIGTERM): when any rank
    /// says yes, all ranks write a checkpoint after that step and return.
    public init(config: TrainConfig, communicator: Communicator, resume: ResumeRequest? = nil,
                gemm: GemmBackend? = nil, precision: Precision? = nil,
                stopRequested: @escaping () -> Bool = { false }, progress: ProgressStyle = .off,
                write: ((String) -> Void)? = nil, output: @escaping (String) -> Void) {
        self.config = config
        self.engineRequest = (gemm, precision)
        self.comm = communicator
        self.resume = resume
        self.stopRequested = stopRequested
        self.progress = progress
        self.write = write ?? { output($0.hasSuffix("\n") ? String($0.dropLast()) : $0) }
        self.output = output
    }

    private var display: ProgressDisplay? = nil
    private func say(_ s: String) {
        guard comm.isRoot else { return }
        display?.clear()
        output(s)
    }

    private func onRoot(_ what: String, _ body: () throws -> Void) throws {
        try CheckpointLoading(comm: comm).onRoot(what, body)
    }

    public func run() throws -> TrainResult {
        // On resume, rank 0 reads and checks the checkpoint's header; every rank gets it.
        var c = config
        var saved: TrainingState? = nil
        var reader: CheckpointReader? = nil
        if let r = resume {
            let (state, r0) = try CheckpointLoading(comm: comm).header(r.checkpoint, runDir: config.resolvedRunDir)
            reader = r0
            c = try r.merge(state.config)
            saved = state
        }
        try c.validate()

        // M1+M2 on a new run: the frozen M1 (parameters, architecture, standardisation, data scaling) from --m1. On
        // resume all of it is in the checkpoint.
        var m1: LoadedModel? = nil
        if c.model == .m1m2 && saved == nil {
            do { m1 = try LoadedModel.load(c.m1!, runDir: c.m1!, comm: comm) } catch {
                throw ConfigError(flag: "--m1", problem: "\(error)")
            }
            guard m1!.modelConfig.kind == .m1 else {
                throw ConfigError(flag: "--m1", problem: "\(c.m1!) holds a \(m1!.modelConfig.kind.rawValue) model; m1m2 needs an m1 checkpoint")
            }
            // The data must reach M1's encoder scaled exactly as in M1's training.
            if let m1Scale = m1!.state.dataScale {
                if let s = c.scale, s != m1Scale {
                    throw ConfigError(flag: "--scale", problem: "\(s) differs from the \(m1Scale) the M1 in \(c.m1!) was trained with; drop it")
                }
                c.scale = m1Scale
            }
        }
        let spec = try DataSpec(parsing: c.data)
        var splits = try DataSplits.make(spec, try c.splitOptions)
        if let cap = c.maxPerClass { splits.train = splits.train.capped(perClass: cap, seed: c.seed) }
        // Standardisation uses the training split's statistics only (on resume, the checkpoint's; M1+M2, its M1's).
        let standardization = c.model == .m1m2 ? (saved?.standardization ?? m1?.state.standardization)
            : c.standardize == true ? (saved?.standardization ?? splits.train.featureStatistics()) : nil
        if let st = standardization {
            splits.train.standardize(st); splits.validation.standardize(st); splits.test.standardize(st)
        }
        let train = splits.train
        // M1 learns from every training example and ignores labels (the data may have none); the others need some.
        if c.model.classifies && !train.labels.contains(where: { $0 >= 0 }) {
            throw DataError(c.data, "no example has a label (all −1); only --model m1 trains without labels")
        }
        let split = c.model == .m1 ? LabelSplit(unlabelledOnly: train.count)
            : try LabelSplit(labels: train.labels, classes: train.classes, perClass: c.labelsPerClass,
                             total: c.labels, includeLabelledInUnlabelled: c.includeLabelledInUnlabelled, seed: c.seed,
                             sampling: c.labelSampling ?? .stratified)
        var modelConfig = ModelConfig(
            kind: c.model, inputDim: train.dim, classes: train.classes, hidden: c.resolvedHidden,
            latent: c.resolvedLatent, auxiliary: c.resolvedAuxiliary, activation: c.activation,
            alpha: c.resolvedAlpha(total: train.count, labelled: split.labelled.count), evalSamples: c.evalSamples,
            likelihood: c.resolvedLikelihood)
        modelConfig.mc = c.resolvedMC
        modelConfig.iw = c.resolvedIW
        var stack = saved?.stack
        if let m1 {
            guard m1.modelConfig.inputDim == train.dim else {
                throw ConfigError(flag: "--m1", problem: "\(c.m1!) takes \(m1.modelConfig.inputDim) features; --data \(c.data) has \(train.dim)")
            }
            // Keep the latent dimensions whose posterior mean varies over the training split (Kingma's code: std > 0.1).
            var std = [Float](repeating: 0, count: m1.modelConfig.latent)
            if comm.isRoot { std = posteriorMeanStd(m1, train) }
            try std.withUnsafeMutableBufferPointer { try comm.broadcast($0.baseAddress!, count: $0.count) }
            let kept = std.indices.filter { std[$0] >= 0.1 }
            guard !kept.isEmpty else {
                throw TrainingError(message: "the M1 in \(c.m1!) has no latent dimension whose posterior mean varies (std ≥ 0.1) "
                                    + "over the training split: it has collapsed; train it longer")
            }
            stack = StackedM1(hidden: m1.modelConfig.hidden, latent: m1.modelConfig.latent, activation: m1.modelConfig.activation,
                              likelihood: m1.modelConfig.likelihood, kept: kept)
        }
        modelConfig.stack = stack
        if c.classPrior == .labelled {
            // On resume the checkpoint's prior (the same labels give the same prior).
            modelConfig.classPrior = saved?.classPrior
                ?? labelledClassPrior(labels: split.labelled.map { train.labels[$0] }, classes: train.classes)
        }
        if c.classWeights == .balanced {
            modelConfig.classWeights = balancedClassWeights(labels: split.labelled.map { train.labels[$0] }, classes: train.classes)
        }

        // Global batches and this rank's slices.
        // The supervised baseline consumes no unlabelled examples, but its epochs are still passes of
        // --batch-size over the unlabelled set, so it gets the same number of steps as the others.
        let globalL = c.model == .m1 ? 0 : c.labelledBatchSize
        let globalU = c.model == .supervised ? 0 : c.batchSize
        let world = comm.size, rank = comm.rank
        let myL = slice(total: globalL, rank: rank, world: world)
        let myU = slice(total: globalU, rank: rank, world: world)
        // M1 has no labelled batches; its bound on a split is computed in labelled + unlabelled chunks of this size.
        let perRankU = (globalU + world - 1) / world
        let capacity = Capacity(labelled: c.model == .m1 ? perRankU : (globalL + world - 1) / world, unlabelled: perRankU,
                                evaluation: c.evalBatchSize)
        let choice = EngineChoice.resolve(backend: engineRequest.backend, precision: engineRequest.precision, saved: saved?.engineChoice)
        // Every rank must compute the same thing: the same settings, data and matrix-product engine.
        try checkRanksAgree(comm, config: configHash(c) ^ fnv1a(choice.description.utf8), data: dataHash(splits, split))
        let engine = try MatMulEngine(choice)
        let model = makeModel(modelConfig, capacity: capacity, engine: engine)
        let store = ParameterStore(layout: model.layout, gradientTail: StepTail.count)
        let adam = Adam(count: model.layout.totalCount, learningRate: c.learningRate, clipNorm: c.clipGradNorm)
        // Adam's step count as a payload section needs stable memory of its own.
        let adamStep = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        adamStep.initialize(to: 0)
        defer { adamStep.deallocate() }
        let sections = payloadSections(store, adam, adamStep)
        var startStep = 0
        var lastValidation: Double? = nil
        if let state = saved {
            guard state.layout == model.layout else {
                throw TrainingError(message: "the checkpoint holds a \(state.model.rawValue) model with \(state.layout.totalCount) "
                    + "parameters in \(state.layout.entries.count) tensors; this run builds a \(c.model.rawValue) model with "
                    + "\(model.layout.totalCount) in \(model.layout.entries.count): another model or layout")
            }
            try CheckpointLoading(comm: comm).payload(reader, into: sections)
            adam.t = Int(adamStep.pointee)
            startStep = state.step
            lastValidation = state.lastValidationAccuracy
        } else {
            if comm.isRoot { store.initialize(seed: c.seed) }
            try comm.broadcast(store.values.pointer, count: store.values.count)
            if let m1 {
                // The frozen M1 is the first part of the layout, in the same order (names prefixed "m1.").
                let ok = m1.store.layout.entries.count <= store.layout.entries.count
                    && zip(m1.store.layout.entries, store.layout.entries).allSatisfy { "m1." + $0.name == $1.name && $0.shape == $1.shape }
                guard ok && m1.store.values.count == model.frozenCount else {
                    throw TrainingError(message: "the M1 in \(c.m1!) does not match the layout of M1+M2's frozen part")
                }
                store.values.pointer.update(from: m1.store.values.pointer, count: model.frozenCount)
            }
        }
        let frozen = model.frozenCount
        let noise = NoiseSource(seed: c.seed)
        let sampler = GlobalBatchSampler(labelledCount: split.labelled.count, unlabelledCount: split.unlabelled.count,
                                         labelledBatch: globalL, unlabelledBatch: c.batchSize, seed: c.seed)
        let assembler = BatchAssembler(train: train, split: split, sampler: sampler, noise: noise, binarize: c.binarizes)
        let batch = Batch(capacity: capacity.labelled + capacity.unlabelled, features: train.dim)
        let counts = GlobalCounts(labelled: globalL, unlabelled: globalU)
        let warmup = Warmup(steps: c.warmupSteps)
        let stepsPerEpoch = sampler.stepsPerEpoch
        let totalSteps = c.steps ?? (c.epochs! * stepsPerEpoch)
        let evaluator = Evaluator(model: model, chunk: c.evalBatchSize)
        /// Rank 0's score of a split, on every rank: accuracy, or for M1 the bound per example (nats).
        func score(_ data: Dataset) throws -> Double {
            var v = 0.0
            if comm.isRoot {
                v = c.model.classifies ? evaluator.evaluate(data, store: store, noise: noise).accuracy
                    : EvaluationReport.averageBound(model, store: store, data: data, noise: noise)
            }
            try comm.broadcast(&v)
            return v
        }
        let runDir = c.resolvedRunDir
        let checkpoints = CheckpointDirectory(runDir: runDir)

        // Run directory (rank 0).
        var metrics: MetricsLog? = nil
        var events: EventFileWriter? = nil
        try onRoot("preparing the run directory") {
            try makeRunDirectory(runDir)
            events = try EventFileWriter(directory: "\(runDir)/tb")
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(c).write(to: URL(fileURLWithPath: "\(runDir)/config.json"))
            try ConfigFile.toml(c).write(toFile: "\(runDir)/config.toml", atomically: true, encoding: .utf8)
            metrics = try MetricsLog(path: "\(runDir)/metrics.jsonl")
        }

        say("ssl-dist train: model \(c.model.rawValue), data \(spec), seed \(c.seed)")
        say("  train \(train.count) (labelled \(split.labelled.count), unlabelled \(split.unlabelled.count)), "
            + "validation \(splits.validation.count)\(splits.validation.count == 0 ? " (no validation)" : ""), "
            + "test \(splits.test.count); \(train.dim) features, \(train.classes) classes")
        let sizes = c.model == .supervised ? "" : ", z \(modelConfig.latent)" + (c.model.hasAuxiliary ? ", a \(modelConfig.auxiliary)" : "")
        let alphaText = c.model == .supervised || !c.model.classifies ? "" : ", α \(String(format: "%.3g", modelConfig.alpha))"
        let likelihoodText = c.model == .supervised ? "" : ", \(c.resolvedLikelihood.rawValue) likelihood" + (c.binarizes ? " (dynamic binarisation)" : "")
        say("  hidden \(modelConfig.hidden)\(sizes), \(c.activation.rawValue)\(alphaText)\(likelihoodText), \(model.layout.totalCount) parameters"
            + (model.frozenCount > 0 ? " (\(model.frozenCount) of them M1's, frozen)" : ""))
        if let st = stack {
            say("  M1 (frozen) \(c.m1.map { "from \($0): " } ?? "")hidden \(st.hidden), z₁ \(st.latent), \(st.likelihood.rawValue) likelihood; "
                + "M2 models the \(st.kept.count) dimensions of z₁ whose posterior-mean std is ≥ 0.1, re-sampled every step")
        }
        if modelConfig.replicas > 1 {
            say("  bound: \(modelConfig.mc) Monte Carlo × \(modelConfig.iw) importance samples per example")
        }
        if let p = modelConfig.classPrior {
            say("  class prior p(y) (labelled proportions, add-one smoothed): " + p.map { String(format: "%.3g", $0) }.joined(separator: " "))
        }
        if let w = modelConfig.classWeights {
            say("  class weights (balanced over the labelled set): " + w.map { String(format: "%.3g", $0) }.joined(separator: " "))
        }
        say("  global batch \(globalU) unlabelled + \(globalL) labelled, \(stepsPerEpoch) steps/epoch, \(totalSteps) steps, "
            + "warm-up \(c.warmupSteps) steps, lr \(c.learningRate)")
        say("  world size \(world), threads per rank \(computeThreads()), matrix products \(choice), run directory \(runDir)")
        if let state = saved {
            let sameWorld = state.worldSize == world
            say("  resuming from step \(state.step) (epoch \(String(format: "%.2f", state.epoch))) of \(reader?.path ?? "the checkpoint"), "
                + "written on world size \(state.worldSize)"
                + (sameWorld ? "" : "; now world size \(world): batches are global, so the run continues unchanged "
                   + "up to floating-point summation order"))
            if let t = state.blasThreads, t != computeThreads() {
                say("  note: the checkpoint was written with \(t) thread(s) per rank, this run uses \(computeThreads()); "
                    + "the matrix products sum in another order, so the result matches a straight run only up to rounding")
            }
            if state.engineChoice != choice {
                say("  note: the checkpoint was written with \(state.engineChoice) matrix products, this run uses \(choice): "
                    + "the run continues, but it is no longer bit-identical to a straight run")
            }
        }

        func writeCheckpoint(step: Int) throws -> String {
            var path = ""
            try onRoot("checkpoint at step \(step) (the previous checkpoint is unchanged)") {
                adamStep.pointee = Int64(adam.t)
                let state = TrainingState(
                    config: c, model: c.model, layout: model.layout, step: step,
                    epoch: Double(step) / Double(stepsPerEpoch),
                    dataPosition: .init(unlabelledEpoch: step / stepsPerEpoch, unlabelledBatchInEpoch: step % stepsPerEpoch,
                                        labelledStreamPosition: step * globalL),
                    warmup: .init(steps: c.warmupSteps, betaAtStep: warmup.beta(atStep: step)),
                    rng: .init(seed: c.seed, nextStep: step), adamStep: adam.t, worldSize: world, blasThreads: computeThreads(), engine: choice,
                    lastValidationAccuracy: lastValidation, standardization: standardization, stack: stack,
                    dataScale: spec.needsScaling ? splits.scale : nil, classPrior: modelConfig.classPrior,
                    writtenAt: ISO8601DateFormatter().string(from: Date()))
                path = try checkpoints.write(state: state, sections: sections, keep: c.keepCheckpoints)
            }
            return path
        }

        var epochSums = LossSums()
        var epochStart = Date()
        var trainSeconds = 0.0
        var lastCheckpoint: String? = nil
        let runStart = Date()
        // Rank 0 owns the warm-up schedule: β for the first step is broadcast, each later β rides on the
        // previous step's gradient allreduce, and so does any rank's request to stop.
        var beta: Float = comm.isRoot ? warmup.beta(atStep: startStep) : 0
        try comm.broadcast(&beta)
        // Test hook: SSL_DIST_TEST_NAN_AT_STEP=N poisons one gradient on the last rank at step N.
        let nanStep = ProcessInfo.processInfo.environment["SSL_DIST_TEST_NAN_AT_STEP"].flatMap { Int($0) }
        if comm.isRoot {
            display = ProgressDisplay(style: progress, stepsPerEpoch: stepsPerEpoch, totalSteps: totalSteps,
                                      examplesPerStep: globalU > 0 ? globalU : globalL, semiSupervised: c.model != .supervised,
                                      write: write)
            display?.classifies = c.model.classifies
            display?.start(at: startStep)
        }
        var step = startStep
        while step < totalSteps {
            assembler.fill(batch, step: step, labelled: myL, unlabelled: myU)
            store.zeroGrads()
            let local = model.trainStep(batch, store: store, noise: noise, step: step, beta: beta, counts: counts)
            if step == nanStep && rank == world - 1 { store.grads[0] = .nan }
            // One fused allreduce: gradients, then loss sums and counts, the next β, and the stop flag.
            StepTail.write(local, nextBeta: comm.isRoot ? warmup.beta(atStep: step + 1) : nil, stop: stopRequested(),
                           into: store.grads.tail)
            try comm.allreduce(reducedGradients(store, frozen: frozen), .sum)
            let sums = StepTail.readSums(store.grads.tail)
            let stepBeta = beta
            beta = store.grads.tail[StepTail.nextBeta]
            let stopping = store.grads.tail[StepTail.stop] > 0
            guard sums.objective.isFinite else {
                let hint = c.resolvedLikelihood == .gaussian && c.standardize != true ? "--standardize, " : ""
                throw TrainingError(message: "step \(step): the loss is not finite (\(sums.objective)); "
                                    + "try \(hint)a lower --lr or --clip-grad-norm; the last checkpoint is unchanged")
            }
            // Checked before the update, so a bad step never reaches the parameters.
            let gnorm = Adam.norm(store.grads, from: frozen)
            guard gnorm.isFinite else {
                throw TrainingError(message: "step \(step): the gradient is not finite; the last checkpoint is unchanged")
            }
            adam.step(store, gradientNorm: gnorm, from: frozen)
            epochSums = epochSums + sums
            step += 1
            display?.update(step: step, sums: epochSums, beta: stepBeta)

            if c.checkEvery > 0 && comm.size > 1 && step % c.checkEvery == 0 {
                guard try comm.agree(store.digest) else {
                    throw TrainingError(message: "step \(step): parameters differ across ranks (digest "
                                        + String(format: "%016llx", store.digest) + " here); the ranks have diverged")
                }
            }
            if step % stepsPerEpoch == 0 || step == totalSteps || stopping {
                let seconds = Date().timeIntervalSince(epochStart)
                trainSeconds += seconds
                let epochIndex = (step + stepsPerEpoch - 1) / stepsPerEpoch
                var valAcc: Double? = nil
                if !stopping && splits.validation.count > 0 && (epochIndex % c.validateEvery == 0 || step == totalSteps) {
                    let acc = try score(splits.validation)
                    valAcc = acc
                    lastValidation = acc
                }
                let report = EpochReport(step: step, stepsPerEpoch: stepsPerEpoch, sums: epochSums, seconds: seconds,
                                         beta: stepBeta, validation: valAcc, semiSupervised: c.model != .supervised,
                                         classifies: c.model.classifies,
                                         seed: c.seed, learningRate: c.learningRate, sinceStart: Date().timeIntervalSince(runStart))
                say(report.line)
                try onRoot("writing metrics") {
                    try metrics?.append(report.record)
                    try events?.addScalars(step: step, report.scalars)
                    events?.flush()
                }
                epochSums = LossSums()
                epochStart = Date()
            }
            if stopping {
                lastCheckpoint = try writeCheckpoint(step: step)
                say("stopped at step \(step) by a signal; checkpoint \(lastCheckpoint!)")
                say("resume with: ssl-dist train --resume latest --run-dir \(runDir)")
                return TrainResult(steps: step, epochs: Double(step) / Double(stepsPerEpoch), seconds: trainSeconds,
                                   validationAccuracy: lastValidation, testAccuracy: nil, testBound: nil, runDir: runDir, seed: c.seed,
                                   checkpoint: lastCheckpoint, stoppedBySignal: true)
            }
            if step == totalSteps || (c.checkpointEvery > 0 && step % c.checkpointEvery == 0) {
                lastCheckpoint = try writeCheckpoint(step: step)
            }
        }
        if lastCheckpoint == nil && startStep >= totalSteps {
            say("the checkpoint is already at step \(startStep) of \(totalSteps): nothing to train (raise --epochs or --steps)")
        }

        let testScore = try score(splits.test)
        let testAcc: Double? = c.model.classifies ? testScore : nil
        let testBound: Double? = c.model.classifies ? nil : testScore
        let epochs = Double(step) / Double(stepsPerEpoch)
        let wall = Date().timeIntervalSince(runStart)
        let scoreText = splits.test.count == 0 ? "no test examples"
            : testAcc.map { String(format: "test accuracy %.2f%%", 100 * $0) } ?? String(format: "test bound %.3f nats per example", testScore)
        say(String(format: "%@ (%d examples) after %d steps (%.2f epochs), %.1f min training, seed %llu",
                   scoreText, splits.test.count, step, epochs, trainSeconds / 60, c.seed))
        try onRoot("writing the results") {
            let result: [String: Any] = [
                "model": c.model.rawValue, "data": "\(spec)", "seed": Int(c.seed), "steps": step, "epochs": epochs,
                "test_accuracy": testAcc as Any, "test_bound": testBound as Any,
                (c.model.classifies ? "validation_accuracy" : "validation_bound"): lastValidation as Any,
                "training_seconds": trainSeconds, "wall_seconds": wall, "world_size": world,
                "labelled": split.labelled.count, "checkpoint": lastCheckpoint as Any,
            ]
            let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: "\(runDir)/results.json"))
            try writeParameters(store, to: "\(runDir)/parameters.f32")
        }
        say("results: \(runDir)/results.json, metrics: \(runDir)/metrics.jsonl, config: \(runDir)/config.json"
            + (lastCheckpoint.map { ", checkpoint: \($0)" } ?? ""))
        return TrainResult(steps: step, epochs: epochs, seconds: trainSeconds, validationAccuracy: lastValidation,
                           testAccuracy: testAcc, testBound: testBound, runDir: runDir, seed: c.seed, checkpoint: lastCheckpoint,
                           stoppedBySignal: false)
    }
}

/// One epoch's (or a partial epoch's) progress line and metrics record.
struct EpochReport {
    let step: Int, stepsPerEpoch: Int
    let sums: LossSums
    let seconds: Double
    let beta: Float
    /// Accuracy, or for M1 (no classifier) the bound per example.
    let validation: Double?
    let semiSupervised: Bool
    let classifies: Bool
    let seed: UInt64
    let learningRate: Float
    let sinceStart: Double

    var epoch: Double { Double(step) / Double(stepsPerEpoch) }
    var nl: Double { max(sums.labelledCount, 1) }
    var nu: Double { max(sums.unlabelledCount, 1) }
    var rate: Double { (semiSupervised ? sums.unlabelledCount : sums.labelledCount) / max(seconds, 1e-9) }

    var line: String {
        let e = epoch == epoch.rounded() ? String(Int(epoch)) : String(format: "%.2f", epoch)
        var s = "epoch \(e) step \(step)"
        guard classifies else {
            s += String(format: "  bound %.2f  β %.2f", sums.unlabelledBound / nu, beta)
            if let v = validation { s += String(format: "  val bound %.2f", v) }
            return s + String(format: "  %.0f ex/s", rate)
        }
        if semiSupervised { s += String(format: "  L %.2f  U %.2f", sums.labelledBound / nl, sums.unlabelledBound / nu) }
        s += String(format: "  CE %.3f  β %.2f  train-acc %.1f%%", sums.crossEntropy / nl, beta, 100 * sums.correct / nl)
        if let v = validation { s += String(format: "  val %.2f%%", 100 * v) }
        return s + String(format: "  %.0f ex/s", rate)
    }

    /// The TensorBoard scalars of this report.
    var scalars: [(tag: String, value: Double)] {
        var s: [(tag: String, value: Double)] = [
            ("loss/cross_entropy", sums.crossEntropy / nl), ("beta", Double(beta)),
            ("throughput/examples_per_second", rate), ("learning_rate", Double(learningRate)),
            ("accuracy/train_labelled", sums.correct / nl),
        ]
        if semiSupervised {
            s += [("loss/labelled_bound", sums.labelledBound / nl), ("loss/unlabelled_bound", sums.unlabelledBound / nu)]
        }
        if let v = validation { s.append((classifies ? "accuracy/validation" : "loss/validation_bound", v)) }
        return s
    }

    var record: [String: Any] {
        var r: [String: Any] = [
            "epoch": epoch, "step": step, "beta": Double(beta), "seed": Int(seed),
            "cross_entropy": sums.crossEntropy / nl, "train_labelled_accuracy": sums.correct / nl,
            "examples_per_second": rate, "seconds": sinceStart, "learning_rate": Double(learningRate),
        ]
        if semiSupervised {
            r["labelled_bound"] = sums.labelledBound / nl
            r["unlabelled_bound"] = sums.unlabelledBound / nu
        }
        if let v = validation { r[classifies ? "validation_accuracy" : "validation_bound"] = v }
        return r
    }
}

/// Writes the final parameters as raw little-endian float32 in layout order; `parameters.json`
/// beside it lists each tensor's name, shape and offset.
func writeParameters(_ store: ParameterStore, to path: String) throws {
    let data = Data(bytes: store.values.pointer, count: store.values.count * MemoryLayout<Float>.size)
    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    try enc.encode(store.layout).write(to: URL(fileURLWithPath: path.replacingOccurrences(of: ".f32", with: ".json")), options: .atomic)
}
