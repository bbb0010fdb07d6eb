import Foundation
import SSLCore
import SSLData
import SSLDistributed

/// What a finished run reports.
public struct TrainResult {
    public var steps: Int
    public var epochs: Double
    public var seconds: Double
    public var validationAccuracy: Double?
    public var testAccuracy: Double
    public var runDir: String
    public var seed: UInt64
}

/// A failure during training, naming the step.
public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The training loop. Every rank runs it; batches are global and each rank takes its slice,
/// gradients are summed across ranks, and every rank applies the same Adam update. Rank 0 owns
/// validation, printing and the metrics file.
public final class Trainer {
    public let config: TrainConfig
    let comm: Communicator
    let output: (String) -> Void

    /// `output` receives progress lines; it is called on rank 0 only.
    public init(config: TrainConfig, communicator: Communicator, output: @escaping (String) -> Void) {
        self.config = config
        self.comm = communicator
        self.output = output
    }

    private func say(_ s: String) { if comm.isRoot { output(s) } }

    public func run() throws -> TrainResult {
        try config.validate()
        let c = config
        let spec = try DataSpec(parsing: c.data)
        let splits = try DataSplits.make(spec, try c.splitOptions)
        let train = splits.train
        let split = try LabelSplit(labels: train.labels, classes: train.classes, perClass: c.labelsPerClass,
                                   total: c.labels, includeLabelledInUnlabelled: c.includeLabelledInUnlabelled, seed: c.seed)
        let modelConfig = ModelConfig(
            kind: c.model, inputDim: train.dim, classes: train.classes, hidden: c.resolvedHidden,
            latent: c.resolvedLatent, auxiliary: c.resolvedAuxiliary, activation: c.activation,
            alpha: c.resolvedAlpha(total: train.count, labelled: split.labelled.count), evalSamples: c.evalSamples)

        // Global batches and this rank's slices.
        // The supervised baseline consumes no unlabelled examples, but its epochs are still passes of
        // --batch-size over the unlabelled set, so it gets the same number of steps as the others.
        let globalL = c.labelledBatchSize
        let globalU = c.model == .supervised ? 0 : c.batchSize
        let world = comm.size, rank = comm.rank
        let myL = slice(total: globalL, rank: rank, world: world)
        let myU = slice(total: globalU, rank: rank, world: world)
        let capacity = Capacity(labelled: (globalL + world - 1) / world, unlabelled: (globalU + world - 1) / world,
                                evaluation: c.evalBatchSize)
        try checkRanksAgree(comm, config: configHash(c), data: dataHash(splits, split))
        let model = makeModel(modelConfig, capacity: capacity)
        let store = ParameterStore(layout: model.layout, gradientTail: StepTail.count)
        if comm.isRoot { store.initialize(seed: c.seed) }
        try comm.broadcast(UnsafeMutableRawBufferPointer(start: store.values.pointer, count: store.values.count * 4), root: 0)
        let adam = Adam(count: model.layout.totalCount, learningRate: c.learningRate, clipNorm: c.clipGradNorm)
        let noise = NoiseSource(seed: c.seed)
        let sampler = GlobalBatchSampler(labelledCount: split.labelled.count, unlabelledCount: split.unlabelled.count,
                                         labelledBatch: globalL, unlabelledBatch: c.batchSize, seed: c.seed)
        let assembler = BatchAssembler(train: train, split: split, sampler: sampler, noise: noise, binarize: c.binarize)
        let batch = Batch(capacity: capacity.labelled + capacity.unlabelled, features: train.dim)
        let counts = GlobalCounts(labelled: globalL, unlabelled: globalU)
        let warmup = Warmup(steps: c.warmupSteps)
        let stepsPerEpoch = sampler.stepsPerEpoch
        let totalSteps = c.steps ?? (c.epochs! * stepsPerEpoch)
        let evaluator = Evaluator(model: model, chunk: c.evalBatchSize)

        // Run directory (rank 0).
        let runDir = c.resolvedRunDir
        var metrics: MetricsLog? = nil
        if comm.isRoot {
            try makeRunDirectory(runDir)
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(c).write(to: URL(fileURLWithPath: "\(runDir)/config.json"))
            metrics = try MetricsLog(path: "\(runDir)/metrics.jsonl")
        }

        say("ssl-dist train: model \(c.model.rawValue), data \(spec), seed \(c.seed)")
        say("  train \(train.count) (labelled \(split.labelled.count), unlabelled \(split.unlabelled.count)), "
            + "validation \(splits.validation.count), test \(splits.test.count); \(train.dim) features, \(train.classes) classes")
        let sizes = c.model == .supervised ? "" : ", z \(modelConfig.latent)" + (c.model == .adgm ? ", a \(modelConfig.auxiliary)" : "")
        let alphaText = c.model == .supervised ? "" : ", α \(String(format: "%.3g", modelConfig.alpha))"
        say("  hidden \(modelConfig.hidden)\(sizes), \(c.activation.rawValue)\(alphaText), \(model.layout.totalCount) parameters")
        say("  global batch \(globalU) unlabelled + \(globalL) labelled, \(stepsPerEpoch) steps/epoch, \(totalSteps) steps, "
            + "warm-up \(c.warmupSteps) steps, lr \(c.learningRate)")
        say("  world size \(world), BLAS threads \(blasThreads()), run directory \(runDir)")

        var epochSums = LossSums()
        var epochStart = Date()
        var trainSeconds = 0.0
        var lastValidation: Double? = nil
        let runStart = Date()
        // Rank 0 owns the warm-up schedule: β for step 0 is broadcast, each later β rides on the
        // previous step's gradient allreduce.
        var beta: Float = comm.isRoot ? warmup.beta(atStep: 0) : 0
        try comm.broadcast(&beta)
        for step in 0..<totalSteps {
            assembler.fill(batch, step: step, labelled: myL, unlabelled: myU)
            store.zeroGrads()
            let local = model.trainStep(batch, store: store, noise: noise, step: step, beta: beta, counts: counts)
            // One fused allreduce: gradients, then loss sums and counts, then the next β.
            StepTail.write(local, nextBeta: comm.isRoot ? warmup.beta(atStep: step + 1) : nil, into: store.grads.tail)
            try comm.allreduce(store.grads.whole, .sum)
            let sums = StepTail.readSums(store.grads.tail)
            let stepBeta = beta
            beta = store.grads.tail[StepTail.nextBeta]
            guard sums.objective.isFinite else {
                throw TrainingError(message: "step \(step): the loss is not finite (\(sums.objective)); "
                                    + "try a lower --lr or --clip-grad-norm")
            }
            // Checked before the update, so a bad step never reaches the parameters.
            let gnorm = Adam.norm(store.grads)
            guard gnorm.isFinite else { throw TrainingError(message: "step \(step): the gradient is not finite") }
            adam.step(store, gradientNorm: gnorm)
            epochSums = epochSums + sums

            let done = step + 1
            if c.checkEvery > 0 && comm.size > 1 && done % c.checkEvery == 0 {
                guard try comm.agree(store.digest) else {
                    throw TrainingError(message: "step \(done): parameters differ across ranks (digest "
                                        + String(format: "%016llx", store.digest) + " here); the ranks have diverged")
                }
            }
            if done % stepsPerEpoch == 0 || done == totalSteps {
                let seconds = Date().timeIntervalSince(epochStart)
                trainSeconds += seconds
                let epoch = Double(done) / Double(stepsPerEpoch)
                let epochIndex = (done + stepsPerEpoch - 1) / stepsPerEpoch
                var valAcc: Double? = nil
                if epochIndex % c.validateEvery == 0 || done == totalSteps {
                    var acc = comm.isRoot ? evaluator.evaluate(splits.validation, store: store, noise: noise).accuracy : 0
                    try comm.broadcast(&acc)
                    valAcc = acc
                    lastValidation = acc
                }
                let nl = max(epochSums.labelledCount, 1), nu = max(epochSums.unlabelledCount, 1)
                let examples = globalU > 0 ? epochSums.unlabelledCount : epochSums.labelledCount
                let rate = examples / max(seconds, 1e-9)
                var line = String(format: "epoch %@ step %d", epoch == epoch.rounded() ? String(Int(epoch)) : String(format: "%.2f", epoch), done)
                if c.model != .supervised {
                    line += String(format: "  L %.2f  U %.2f", epochSums.labelledBound / nl, epochSums.unlabelledBound / nu)
                }
                line += String(format: "  CE %.3f  β %.2f  train-acc %.1f%%", epochSums.crossEntropy / nl, stepBeta,
                               100 * epochSums.correct / nl)
                if let v = valAcc { line += String(format: "  val %.2f%%", 100 * v) }
                line += String(format: "  %.0f ex/s", rate)
                say(line)
                var record: [String: Any] = [
                    "epoch": epoch, "step": done, "beta": Double(stepBeta), "seed": Int(c.seed),
                    "cross_entropy": epochSums.crossEntropy / nl,
                    "train_labelled_accuracy": epochSums.correct / nl,
                    "examples_per_second": rate, "seconds": Date().timeIntervalSince(runStart),
                    "learning_rate": Double(c.learningRate),
                ]
                if c.model != .supervised {
                    record["labelled_bound"] = epochSums.labelledBound / nl
                    record["unlabelled_bound"] = epochSums.unlabelledBound / nu
                }
                if let v = valAcc { record["validation_accuracy"] = v }
                try metrics?.append(record)
                epochSums = LossSums()
                epochStart = Date()
            }
        }

        var testAcc = comm.isRoot ? evaluator.evaluate(splits.test, store: store, noise: noise).accuracy : 0
        try comm.broadcast(&testAcc)
        let epochs = Double(totalSteps) / Double(stepsPerEpoch)
        let wall = Date().timeIntervalSince(runStart)
        say(String(format: "test accuracy %.2f%% (%d examples) after %d steps (%.2f epochs), %.1f min training, seed %llu",
                   100 * testAcc, splits.test.count, totalSteps, epochs, trainSeconds / 60, c.seed))
        if comm.isRoot {
            let result: [String: Any] = [
                "model": c.model.rawValue, "data": "\(spec)", "seed": Int(c.seed), "steps": totalSteps, "epochs": epochs,
                "test_accuracy": testAcc, "validation_accuracy": lastValidation as Any,
                "training_seconds": trainSeconds, "wall_seconds": wall, "world_size": world,
                "labelled": split.labelled.count,
            ]
            let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: "\(runDir)/results.json"))
            try writeParameters(store, to: "\(runDir)/parameters.f32")
            say("results: \(runDir)/results.json, metrics: \(runDir)/metrics.jsonl, config: \(runDir)/config.json")
        }
        return TrainResult(steps: totalSteps, epochs: epochs, seconds: trainSeconds, validationAccuracy: lastValidation,
                           testAccuracy: testAcc, runDir: runDir, seed: c.seed)
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
