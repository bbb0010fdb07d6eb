import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed
import SSLTensorBoard

/// The training run. Every rank runs it; batches are global and each rank takes its slice, gradients are summed
/// across ranks, and every rank applies the same update. Rank 0 owns validation, printing, the metrics file and
/// checkpoints. The stages: `RunSetup` (data, splits, model configuration), `TrainingSession` (model, parameters,
/// optimizer, one step), the per-epoch report and the checkpoint policy below.
public final class Trainer {
    public let config: TrainConfig
    let comm: Communicator
    let resume: ResumeRequest?
    let stopRequested: () -> Bool
    let progress: ProgressStyle
    let write: (String) -> Void
    let output: (String) -> Void
    /// The matrix-product backend and precision asked for (nil: the checkpoint's on resume, else the fastest).
    let engineRequest: (GemmBackend?, Precision?)
    /// Move a run already in the run directory aside instead of refusing (`--overwrite`).
    let overwrite: Bool

    /// `output` receives whole lines (rank 0 only); `write` receives progress text as is (a live bar redraws
    /// with a carriage return). `stopRequested` is polled once a step (e.g. set by SIGTERM): when any rank
    /// says yes, all ranks write a checkpoint after that step and return.
    public init(config: TrainConfig, communicator: Communicator, resume: ResumeRequest? = nil,
                gemm: GemmBackend? = nil, precision: Precision? = nil, overwrite: Bool = false,
                stopRequested: @escaping () -> Bool = { false }, progress: ProgressStyle = .off,
                write: ((String) -> Void)? = nil, output: @escaping (String) -> Void) {
        self.config = config
        self.overwrite = overwrite
        self.comm = communicator
        self.resume = resume
        self.engineRequest = (gemm, precision)
        self.stopRequested = stopRequested
        self.progress = progress
        self.write = write ?? { output($0.hasSuffix("\n") ? String($0.dropLast()) : $0) }
        self.output = output
    }

    public func run() throws -> TrainResult {
        var config = self.config
        if resume == nil && config.runDir == nil {
            // A new run without --run-dir takes a fresh directory (runs/MODEL-seedS, then -2, -3, …), chosen by rank 0.
            var n = comm.isRoot ? Double(RunDirectoryClaim.freshNumber(config.resolvedRunDir)) : 0
            try comm.broadcast(&n)
            config.runDir = RunDirectoryClaim.numbered(config.resolvedRunDir, Int(n))
        }
        let setup = try RunSetup.prepare(config: config, resume: resume, engine: engineRequest, comm: comm)
        try checkRanksAgree(comm, config: configHash(setup.config) ^ FNV1a.hash(bytes: setup.engine.description.utf8),
                            data: setup.dataDigest)
        let session = try TrainingSession(setup: setup, comm: comm)
        let run = TrainingRun(setup: setup, session: session, comm: comm, stopRequested: stopRequested, progress: progress,
                              write: write, output: output)
        run.overwrite = overwrite
        return try run.train()
    }
}
