import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed
import SSLTensorBoard

/// Stages 3 and 4: the loop over steps, with the per-epoch report (validation, metrics, TensorBoard, progress) and
/// the checkpoint policy (periodic, best validation, stop on a signal, the final results).
final class TrainingRun {
    let setup: RunSetup
    let session: TrainingSession
    let comm: Communicator
    let stopRequested: () -> Bool
    let progress: ProgressStyle
    let write: (String) -> Void
    let output: (String) -> Void
    var c: TrainConfig { setup.config }
    let checkpoints: CheckpointDirectory
    var display: ProgressDisplay? = nil
    var metrics: MetricsLog? = nil
    var events: EventFileWriter? = nil
    var lastValidation: Double?
    var best: (score: Double, step: Int)?
    var lastCheckpoint: String? = nil
    /// The unlabelled set's class mix where every label is known, beside the estimate in each epoch's record (computed
    /// once: it does not change during a run).
    lazy var trueClassMix: [Double]? = setup.unlabelledClassMix
    /// Rank 0's hold on the run directory (released when the process ends).
    var claim: RunDirectoryClaim? = nil
    var overwrite = false
    /// Training seconds of the epochs finished, this segment and the ones before a resume; the current epoch's
    /// steps started at `epochStart` (nil while validating and writing).
    var trainSeconds: Double
    var epochStart: Date? = nil
    /// Seconds the run had used before this process resumed it, and its step then.
    let elapsedBefore: Double, stepBefore: Int
    let runStart = Date()
    var clock: RunClock {
        RunClock(training: trainSeconds + (epochStart.map { Date().timeIntervalSince($0) } ?? 0),
                 elapsed: elapsedBefore + Date().timeIntervalSince(runStart))
    }

    init(setup: RunSetup, session: TrainingSession, comm: Communicator, stopRequested: @escaping () -> Bool,
         progress: ProgressStyle, write: @escaping (String) -> Void, output: @escaping (String) -> Void) {
        self.setup = setup; self.session = session; self.comm = comm; self.stopRequested = stopRequested
        self.progress = progress; self.write = write; self.output = output
        checkpoints = CheckpointDirectory(runDir: setup.config.resolvedRunDir)
        lastValidation = setup.saved?.lastValidationAccuracy
        if let s = setup.saved, let v = s.bestValidation, let b = s.bestStep { best = (v, b) }
        trainSeconds = setup.saved?.trainingSeconds ?? 0
        elapsedBefore = setup.saved?.elapsedSeconds ?? 0
        stepBefore = session.step
    }

    func say(_ s: String) {
        guard comm.isRoot else { return }
        display?.clear()
        output(s)
    }

    func train() throws -> TrainResult {
        let runDir = c.resolvedRunDir
        try claimRunDirectory(runDir)
        try comm.onRoot("preparing the run directory") {
            events = try EventFileWriter(directory: "\(runDir)/tb")
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(c).write(to: URL(fileURLWithPath: "\(runDir)/config.json"))
            try ConfigFile.toml(c).write(toFile: "\(runDir)/config.toml", atomically: true, encoding: .utf8)
            // Which examples carry labels (positions in the training split), so another tool can use the same ones.
            if !setup.split.labelled.isEmpty {
                try (setup.split.labelled.map(String.init).joined(separator: "\n") + "\n")
                    .write(toFile: "\(runDir)/labelled.txt", atomically: true, encoding: .utf8)
            }
            metrics = try MetricsLog(path: "\(runDir)/metrics.jsonl")
        }
        announce(self)
        let s = session
        // Rank 0 owns the warm-up schedule: β for the first step is broadcast, each later β rides on the
        // previous step's gradient allreduce, and so does any rank's request to stop.
        var beta: Float = comm.isRoot ? s.warmup.beta(atStep: s.step) : 0
        try comm.broadcast(&beta)
        let startStep = s.step
        if comm.isRoot {
            display = ProgressDisplay(style: progress, stepsPerEpoch: s.stepsPerEpoch, totalSteps: s.totalSteps,
                                      examplesPerStep: setup.counts.unlabelled > 0 ? setup.counts.unlabelled : setup.counts.labelled,
                                      bound: c.model.hasBound, write: write)
            display?.classifies = c.model.classifies
            display?.start(at: startStep)
        }
        var epochSums = LossSums()
        while s.step < s.totalSteps {
            if epochStart == nil { epochStart = Date() }
            let stepBeta = beta
            let (sums, nextBeta, stopping) = try s.step(beta: beta, stop: stopRequested())
            beta = nextBeta
            epochSums = epochSums + sums
            display?.update(step: s.step, sums: epochSums, beta: stepBeta)
            try s.checkRanksInStep(every: c.checkEvery)
            if s.step % s.stepsPerEpoch == 0 || s.step == s.totalSteps || stopping {
                let seconds = Date().timeIntervalSince(epochStart!)
                trainSeconds += seconds
                epochStart = nil
                try endOfEpoch(epochSums, seconds: seconds, beta: stepBeta, stopping: stopping)
                epochSums = LossSums()
            }
            if stopping { return try stop() }
            if s.step == s.totalSteps || (c.checkpointEvery > 0 && s.step % c.checkpointEvery == 0) {
                lastCheckpoint = try writeCheckpoint()
            }
        }
        if lastCheckpoint == nil && startStep >= s.totalSteps {
            say("the checkpoint is already at step \(startStep) of \(s.totalSteps): nothing to train (raise --epochs or --steps)")
        }
        return try finish()
    }

    /// Rank 0 claims the run directory (`RunDirectoryClaim`). A run resumed into another directory brings its best
    /// checkpoint along (or, when the old directory has none, starts choosing a best anew), on every rank alike.
    func claimRunDirectory(_ runDir: String) throws {
        var travel = 0.0  // 1: best.ckpt copied to the new directory; −1: none to copy, forget the best
        try comm.onRoot("claiming the run directory") {
            let from = setup.reader.flatMap { RunDirectoryClaim.runDirectory(ofCheckpoint: $0.path) }
            let own = from == RunDirectoryClaim.standardized(runDir)
            let (claim, moved) = try RunDirectoryClaim.claim(runDir, ownRun: own, overwrite: overwrite)
            self.claim = claim
            if let moved { output("the run that was in \(runDir) is now in \(moved)") }
            guard setup.saved != nil, !own, best != nil else { return }
            // The old directory's best.ckpt travels only if it is the resumed state's best (a later part of the old
            // run may have replaced it).
            let oldBest = from.map { CheckpointDirectory(runDir: $0).best }
            let bestStep = oldBest.flatMap { try? CheckpointReader(path: $0) }.flatMap { try? readTrainingState($0).step }
            if let oldBest, bestStep != nil, bestStep == setup.saved?.bestStep {
                try FileManager.default.createDirectory(atPath: checkpoints.path, withIntermediateDirectories: true)
                try? FileManager.default.removeItem(atPath: checkpoints.best)
                try FileManager.default.copyItem(atPath: oldBest, toPath: checkpoints.best)
                travel = 1
            } else {
                travel = -1
            }
        }
        try comm.broadcast(&travel)
        if travel < 0 { best = nil }
    }

    /// Validation (every --validate-every epochs and at the end), the epoch's line, metrics and TensorBoard record,
    /// and the best checkpoint when validation improved.
    func endOfEpoch(_ sums: LossSums, seconds: Double, beta: Float, stopping: Bool) throws {
        let s = session
        let epochIndex = (s.step + s.stepsPerEpoch - 1) / s.stepsPerEpoch
        var validation: Double? = nil
        if !stopping && setup.splits.validation.count > 0 && (epochIndex % c.validateEvery == 0 || s.step == s.totalSteps) {
            let v = try s.score(setup.splits.validation)
            validation = v
            lastValidation = v
            // Higher accuracy is better; for M1 (a bound in nats) lower is.
            if best == nil || (c.model.classifies ? v > best!.score : v < best!.score) {
                best = (v, s.step)
                try s.completeOptimizerState()
                try comm.onRoot("writing the best checkpoint (the previous best is unchanged)") {
                    _ = try checkpoints.writeBest(state: s.state(lastValidation: v, best: best, clock: clock), sections: s.sections)
                }
            }
        }
        var report = EpochReport(step: s.step, stepsPerEpoch: s.stepsPerEpoch, sums: sums, seconds: seconds, beta: beta,
                                 validation: validation, bound: c.model.hasBound, classifies: c.model.classifies,
                                 seed: c.seed, learningRate: s.learningRate(atStep: s.step - 1),
                                 sinceStart: clock.elapsed, averaged: s.store.average != nil)
        report.classMix = ClassMixEstimate.read(s.store)
        if report.classMix != nil { report.trueMix = trueClassMix }
        say(report.line)
        try comm.onRoot("writing metrics") {
            try metrics?.append(report.record)
            try events?.addScalars(step: s.step, report.scalars)
            events?.flush()
        }
    }

    func writeCheckpoint() throws -> String {
        try session.completeOptimizerState()
        var path = ""
        try comm.onRoot("checkpoint at step \(session.step) (the previous checkpoint is unchanged)") {
            path = try checkpoints.write(state: session.state(lastValidation: lastValidation, best: best, clock: clock),
                                         sections: session.sections, keep: c.keepCheckpoints)
        }
        return path
    }

    /// A signal on any rank: every rank has finished this step; write a checkpoint and say how to resume.
    func stop() throws -> TrainResult {
        lastCheckpoint = try writeCheckpoint()
        say("stopped at step \(session.step) by a signal; checkpoint \(lastCheckpoint!)")
        say("resume with: ssl-dist train --resume latest --run-dir \(c.resolvedRunDir)")
        return TrainResult(steps: session.step, epochs: session.epoch, seconds: trainSeconds, validationAccuracy: lastValidation,
                           testAccuracy: nil, testBound: nil, bestValidation: best?.score, bestStep: best?.step, testAtBest: nil,
                           runDir: c.resolvedRunDir, seed: c.seed, checkpoint: lastCheckpoint, stoppedBySignal: true)
    }

    /// The test score at the end and at the best validation step, the results file and the final parameters.
    func finish() throws -> TrainResult {
        let s = session, test = setup.splits.test, runDir = c.resolvedRunDir
        let testScore = try s.score(test)
        var testAtBest: Double? = nil
        if let b = best, b.step != s.step, test.count > 0 {
            let atBest = try LoadedModel.load(checkpoints.best, comm: comm, engine: setup.engine)
            testAtBest = try s.score(test, model: atBest.model, store: atBest.store)
        } else if best != nil {
            testAtBest = testScore
        }
        let classifies = c.model.classifies
        let wall = clock.elapsed
        say(finalLine(testScore: testScore, testAtBest: testAtBest))
        if let o = s.overlap { say(o.summary(stepSeconds: trainSeconds)) }
        if let line = s.reducer.summary(steps: s.step - stepBefore, stepSeconds: trainSeconds) { say(line) }
        try comm.onRoot("writing the results") {
            let result: [String: Any] = [
                "model": c.model.rawValue, "data": "\(setup.spec)", "seed": Int(c.seed), "steps": s.step, "epochs": s.epoch,
                "test_accuracy": classifies ? testScore : NSNull(), "test_bound": classifies ? NSNull() : testScore,
                (classifies ? "validation_accuracy" : "validation_bound"): lastValidation as Any,
                (classifies ? "best_validation_accuracy" : "best_validation_bound"): best?.score as Any,
                "best_step": best?.step as Any, "best_epoch": best.map { Double($0.step) / Double(s.stepsPerEpoch) } as Any,
                (classifies ? "test_accuracy_at_best" : "test_bound_at_best"): testAtBest as Any,
                "training_seconds": trainSeconds, "wall_seconds": wall, "world_size": comm.size,
                "labelled": setup.split.labelled.count, "checkpoint": lastCheckpoint as Any,
                "best_checkpoint": best == nil ? NSNull() : checkpoints.best, "averaged": s.store.average != nil,
                "matrix_products": setup.engine.description,
                "allreduce_buckets": s.overlap.map { $0.buckets.count } as Any,
                "allreduce_buckets_during_backward": s.overlap?.startedDuringBackward as Any,
                "batch_statistic_sums_per_step": s.reducer.sumsPerStep(steps: s.step - stepBefore) as Any,
                "batch_statistic_seconds": comm.size > 1 ? s.reducer.seconds : NSNull(),
                "allreduce_exposed_seconds": s.overlap?.exposedSeconds as Any,
                "optimizer_parts": s.shards?.parts.count as Any,
                "feature_file_bytes_read": setup.featureBytes?.byRank[0] as Any, "feature_file_bytes": setup.featureBytes?.file as Any,
                "feature_file_bytes_read_by_rank": setup.featureBytes?.byRank as Any,
            ]
            let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: "\(runDir)/results.json"))
            try writeParameters(s.store, to: "\(runDir)/parameters.f32")
        }
        say("results: \(runDir)/results.json, metrics: \(runDir)/metrics.jsonl, config: \(runDir)/config.json"
            + (lastCheckpoint.map { ", checkpoint: \($0)" } ?? "") + (best == nil ? "" : ", best: \(checkpoints.best)"))
        return TrainResult(steps: s.step, epochs: s.epoch, seconds: trainSeconds, validationAccuracy: lastValidation,
                           testAccuracy: classifies ? testScore : nil, testBound: classifies ? nil : testScore,
                           bestValidation: best?.score, bestStep: best?.step, testAtBest: testAtBest, runDir: runDir,
                           seed: c.seed, checkpoint: lastCheckpoint, stoppedBySignal: false)
    }

    func finalLine(testScore: Double, testAtBest: Double?) -> String {
        let test = setup.splits.test, s = session
        func score(_ v: Double) -> String {
            c.model.classifies ? String(format: "test accuracy %.2f%%", 100 * v) : String(format: "test bound %.3f nats per example", v)
        }
        var line = test.count == 0 ? "no test examples" : score(testScore)
        line += String(format: " (%d examples) after %d steps (%.2f epochs), %.1f min training, seed %llu",
                       test.count, s.step, s.epoch, trainSeconds / 60, c.seed)
        if let b = best, let t = testAtBest, test.count > 0 {
            let v = c.model.classifies ? String(format: "%.2f%%", 100 * b.score) : String(format: "%.3f", b.score)
            line += String(format: "\nat the best validation (%@, epoch %.2f): %@", v, Double(b.step) / Double(s.stepsPerEpoch), score(t))
        }
        return line
    }
}
