import Foundation
import SSLCore

/// The lines a run prints before its first step (rank 0): the data, the model, the schedule, the ranks, and on resume
/// what changed since the checkpoint.
func announce(_ run: TrainingRun) {
    let setup = run.setup, c = setup.config, s = run.session, m = setup.modelConfig, train = setup.train
    let say = run.say
    say("ssl-dist train: model \(c.model.rawValue), data \(setup.spec), seed \(c.seed)")
    let read = setup.featureBytes.map { String(format: ", reading %.1f MB from the features file (%.1f MB)", Double($0.byRank[0]) / 1e6, Double($0.file) / 1e6) } ?? ""
    let held = train.featureRow == nil ? "" : "; rank 0 holds \(train.features.count / max(train.dim, 1)) of them\(read)"
    let shards = setup.sampler.shards.map { " in \($0) shard\($0 == 1 ? "" : "s")\(held)" } ?? ""
    say("  train \(train.count) (labelled \(setup.split.labelled.count), unlabelled \(setup.split.unlabelled.count)\(shards)), "
        + "validation \(setup.splits.validation.count)\(setup.splits.validation.count == 0 ? " (no validation)" : ""), "
        + "test \(setup.splits.test.count); \(train.dim) features, \(train.classes) classes")
    let v = setup.splits.validation.count
    if v > 0 && v < 100 && c.model.classifies {
        say("  note: the best checkpoint is chosen on \(v) validation examples, one example moving accuracy by "
            + String(format: "%.1f", 100 / Double(v)) + " points; give more with --validation-fraction (or --validation N)")
    }
    let sizes = !c.model.hasBound ? "" : ", z \(m.latent)" + (c.model.hasAuxiliary ? ", a \(m.auxiliary)" : "")
    let alphaText = !c.model.hasBound || !c.model.classifies ? "" : ", α \(String(format: "%.3g", m.alpha))"
    let likelihoodText = !c.model.hasBound ? "" : ", \(c.resolvedLikelihood.rawValue) likelihood" + (c.binarizes ? " (dynamic binarisation)" : "")
    say("  hidden \(m.hidden)\(m.classifierHidden.map { ", classifier \($0)" } ?? "")\(sizes), \(c.activation.rawValue)\(m.normalize ? ", batch norm" : "")\(alphaText)\(likelihoodText), "
        + "\(s.model.layout.parameterCount) parameters, \((c.initialization ?? .glorot).rawValue) initialisation"
        + (s.model.frozenCount > 0 ? " (\(s.model.frozenCount) of them M1's, frozen)" : ""))
    if let st = m.stack {
        say("  M1 (frozen) \(c.m1.map { "from \($0): " } ?? "")hidden \(st.hidden), z₁ \(st.latent), \(st.likelihood.rawValue) likelihood; "
            + "\(c.model.inner.rawValue.uppercased()) models the \(st.kept.count) dimensions of z₁ whose posterior-mean std is ≥ 0.1, re-sampled every step")
    }
    if m.replicas > 1 { say("  bound: \(m.mc) Monte Carlo × \(m.iw) importance samples per example") }
    if let p = m.classPrior {
        say("  class prior p(y) (labelled proportions, add-one smoothed): " + p.map { String(format: "%.3g", $0) }.joined(separator: " "))
    }
    if let note = s.classMixNote { say(note) }
    if let w = m.classWeights {
        say("  class weights (balanced over the labelled set): " + w.map { String(format: "%.3g", $0) }.joined(separator: " "))
    }
    say("  global batch \(setup.counts.unlabelled) unlabelled + \(setup.counts.labelled) labelled, \(s.stepsPerEpoch) steps/epoch, "
        + "\(s.totalSteps) steps, warm-up \(s.warmup.steps) steps, " + optimizerText(c, s))
    say("  world size \(run.comm.size), threads per rank \(computeThreads()), matrix products \(setup.engine), run directory \(c.resolvedRunDir)")
    if let o = run.session.overlap {
        say("  gradients summed in \(o.buckets.count - 1) bucket(s), each sent as soon as backward has finished it "
            + "(--allreduce-bucket-mb \(c.allreduceBucketMB ?? TrainConfig.defaultAllreduceBucketMB))"
            + (run.session.shards == nil ? "" : " onto the rank that updates them"))
    }
    if let shards = run.session.shards {
        say("  sharded update: each rank updates its part of the parameters (largest \(shards.parts.map(\.count).max()!) of "
            + "\(shards.trained.count)) and the ranks gather the parts during the next forward pass (--shard-optimizer off: every rank updates all)")
    }
    if let state = setup.saved { announceResume(state, run) }
}

/// "lr 3e-4 (step ×0.75 every 200 epochs, floor 3e-05), clip norm 5, value 1, weight prior 1/N, EMA 0.999".
func optimizerText(_ c: TrainConfig, _ s: TrainingSession) -> String {
    var t = (c.resolvedOptimizer == .lamb ? "LAMB (Adam, a trust ratio per tensor), " : "")
        + (c.switchesToLAMB ? "lr \(c.batchScaledLearningRate) (global batch \(c.batchSize) > --lamb-above \(c.lambAbove!)"
            + (c.scalesLAMBRate ? ": --lamb-lr × √(\(c.batchSize)/\(c.lambReferenceBatch!)))" : ")")
           : "lr \(c.learningRate)")
    if c.scalesLearningRate, let n = c.lrReferenceBatch {
        t += String(format: " × %g (global batch %d / %d, at most × %g) = %g, reached over %d warm-up steps",
                    Double(c.batchScaledLearningRate / c.learningRate), c.batchSize, n, Double(TrainConfig.maxBatchScale),
                    c.batchScaledLearningRate, s.lrWarmupSteps)
        if Float(c.batchSize) / Float(n) > TrainConfig.maxBatchScale {
            // The cap holds the rate where it stayed stable; the accuracy per epoch is not kept there.
            t += String(format: " (capped: beyond %d the scaled rate keeps batch %d's accuracy per epoch less well; adgm at 1,600: "
                        + "95.47%% after 15 epochs against 95.57%% after 10, 3 seeds, docs/distributed.md)", n * Int(TrainConfig.maxBatchScale), n)
        }
    }
    switch s.schedule {
    case .constant: break
    case .step(let every, let factor, let floor):
        t += String(format: " (step ×%g every %d epochs, floor %g)", factor, every / max(s.stepsPerEpoch, 1), floor)
    case .cosine(_, let floor): t += String(format: " (cosine to %g)", floor)
    case .cooldown(let start, let total, let floor):
        t += String(format: " (held, then a cosine to %g over the last %d of %d steps)", floor, total - start, total)
    }
    if let n = c.clipGradNorm { t += ", clip norm \(n)" }
    if let v = c.clipGradValue { t += ", clip value \(v)" }
    if s.prior != nil { t += ", weight prior N(0,1)/N" }
    if let e = c.ema { t += ", EMA \(e)" }
    if let v = s.setup.modelConfig.vat {
        t += ", virtual adversarial ε \(v.epsilon) λ \(v.weight) ξ \(v.xi)"
        if let n = c.vatDimensions, n != s.setup.train.dim { t += String(format: " (--vat %g per %d dimensions)", c.vat ?? 0, n) }
        if v.cleanStatistics && s.setup.modelConfig.normalize { t += ", perturbed passes at the clean batch's statistics" }
    }
    if let f = s.setup.modelConfig.auxLogVarianceMin { t += ", p(a|·) log-variance ≥ \(f)" }
    if let b = c.classBalance {
        t += ", class balance λ \(b)"
        if let n = c.classBalanceDimensions, n != s.setup.train.dim {
            t += String(format: " per %d dimensions (%.3g for these %d)", n, s.setup.modelConfig.classBalance, s.setup.train.dim)
        }
    }
    return t
}

func announceResume(_ state: TrainingState, _ run: TrainingRun) {
    let say = run.say, world = run.comm.size
    say("  resuming from step \(state.step) (epoch \(String(format: "%.2f", state.epoch))) of \(run.setup.reader?.path ?? "the checkpoint"), "
        + "written on world size \(state.worldSize)"
        + (state.worldSize == world ? "" : "; now world size \(world): batches are global, so the run continues unchanged "
           + "up to floating-point summation order"))
    if let t = state.blasThreads, t != computeThreads() {
        say("  note: the checkpoint was written with \(t) thread(s) per rank, this run uses \(computeThreads()); "
            + "the matrix products sum in another order, so the result matches a straight run only up to rounding")
    }
    if state.engineChoice != run.setup.engine {
        say("  note: the checkpoint was written with \(state.engineChoice) matrix products, this run uses \(run.setup.engine): "
            + "the run continues, but it is no longer bit-identical to a straight run")
    }
}
