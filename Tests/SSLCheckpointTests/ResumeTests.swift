import Foundation
import SSLCore
import SSLDistributed
import SSLTraining
import TestSupport
import XCTest

/// Checkpoints and resume through the real binary, single process and under mpirun.
final class ResumeTests: XCTestCase {
    let digits = digitsPath() ?? "digits.csv.gz (python3-sklearn: run make deps)"
    var dir: String!

    override func setUpWithError() throws {
        XCTAssertTrue(FileManager.default.fileExists(atPath: digits), "run `make deps` (installs python3-sklearn)")
        dir = try makeTemporaryDirectory("ssl-resume")
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(atPath: dir) } }

    /// A small digits run (warm-up still rising at the split, so β's schedule is exercised too).
    func args(_ runDir: String, steps: Int, model: String = "m2") -> [String] {
        shortDigitsRun(model: model, runDir: runDir, steps: steps)
            + ["--warmup-steps", "30", "--seed", "3", "--validate-every", "1000", "--checkpoint-every", "20", "--blas-threads", "1"]
    }

    func run(_ a: [String], ranks: Int? = nil, env: [String: String] = [:]) throws -> ProcessResult {
        if let n = ranks { return try mpirun(["-np", String(n), sslDistBinary()] + a) }
        return try runProcess(sslDistBinary(), a, environment: env, timeout: 300)
    }

    func digest(_ path: String) throws -> String {
        let i = try CheckpointInspection.inspect(path)
        XCTAssertNil(i.checksumError)
        return try XCTUnwrap(i.digestHex)
    }

    func latestStep(_ runDir: String) throws -> Int { try CheckpointInspection.inspect(runDir).state.step }

    func assertNoCrash(_ r: ProcessResult, file: StaticString = #filePath, line: UInt = #line) {
        for trace in ["Fatal error", "Stack dump", "Segmentation", "backtrace"] {
            XCTAssertFalse(r.output.contains(trace), "crash trace in: \(r.output)", file: file, line: line)
        }
    }

    /// Train 2K steps straight; separately K steps, stop, resume, K more: parameters and Adam state equal bit for bit,
    /// single-process and on 2 ranks, with each matrix-product backend and precision (the resume keeps the
    /// checkpoint's without being told).
    func testExactResume() throws {
        for engine in engineFlags() {
            for ranks in [nil, 2] as [Int?] {
                let tag = (ranks.map { "mpi\($0)" } ?? "single") + "-" + engine.joined(separator: "-")
                let straight = "\(dir!)/straight-\(tag)", split = "\(dir!)/split-\(tag)"
                XCTAssertEqual(try run(args(straight, steps: 40) + engine, ranks: ranks).status, 0)
                XCTAssertEqual(try run(args(split, steps: 20) + engine, ranks: ranks).status, 0)
                XCTAssertEqual(try latestStep(split), 20)
                let r = try run(["train", "--resume", "latest", "--steps", "40", "--run-dir", split, "--blas-threads", "1"], ranks: ranks)
                XCTAssertEqual(r.status, 0, r.output)
                XCTAssertTrue(r.stdout.contains("resuming from step 20"), r.output)
                XCTAssertFalse(r.stdout.contains("no longer bit-identical"), r.output)
                XCTAssertEqual(try latestStep(split), 40)
                XCTAssertEqual(try digest(split), try digest(straight), "\(tag): resumed state differs from the straight run")
            }
        }
    }

    /// Batch normalisation's running statistics and the moving average of the parameters are checkpointed: a resumed
    /// run equals the straight one bit for bit, single-process and on 2 ranks.
    func testExactResumeWithBatchNormAndMovingAverage() throws {
        let recipe = ["--batch-norm", "--ema", "0.99", "--clip-grad-value", "1", "--lr-schedule", "step", "--lr-decay-epochs", "1"]
        for ranks in [nil, 2] as [Int?] {
            let tag = ranks.map { "mpi\($0)" } ?? "single"
            let straight = "\(dir!)/bn-straight-\(tag)", split = "\(dir!)/bn-split-\(tag)"
            XCTAssertEqual(try run(args(straight, steps: 40) + recipe, ranks: ranks).status, 0)
            XCTAssertEqual(try run(args(split, steps: 20) + recipe, ranks: ranks).status, 0)
            let r = try run(["train", "--resume", "latest", "--steps", "40", "--run-dir", split, "--blas-threads", "1"], ranks: ranks)
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertEqual(try digest(split), try digest(straight), "\(tag): resumed state differs from the straight run")
            XCTAssertEqual(try readFloats("\(split)/parameters.f32"), try readFloats("\(straight)/parameters.f32"), tag)
        }
    }

    /// Virtual adversarial training (its direction keyed by step and example, its perturbed passes leaving the running
    /// statistics alone) resumes bit for bit, single-process and on 2 ranks, for ADGM's q(y|a,x) and for VAT alone.
    func testExactResumeWithVirtualAdversarialTraining() throws {
        let recipe = ["--vat", "1.5", "--batch-norm", "--lr-schedule", "constant"]
        for (ranks, model, statistics) in [(nil, "adgm", "perturbed"), (2, "adgm", "perturbed"), (2, "adgm", "clean"),
                                           (nil, "vat", "perturbed"), (2, "vat", "clean")] as [(Int?, String, String)] {
            let tag = (ranks.map { "mpi\($0)" } ?? "single") + "-" + model + "-" + statistics
            let straight = "\(dir!)/vat-straight-\(tag)", split = "\(dir!)/vat-split-\(tag)"
            let recipe = recipe + ["--vat-statistics", statistics]
            XCTAssertEqual(try run(args(straight, steps: 40, model: model) + recipe, ranks: ranks).status, 0)
            XCTAssertEqual(try run(args(split, steps: 20, model: model) + recipe, ranks: ranks).status, 0)
            let r = try run(["train", "--resume", "latest", "--steps", "40", "--run-dir", split, "--blas-threads", "1"], ranks: ranks)
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.stdout.contains("VAT "), "the log reports the term: \(r.output)")
            XCTAssertEqual(try digest(split), try digest(straight), "\(tag): resumed state differs from the straight run")
        }
    }

    /// The run's clocks continue across a resume: results.json's training seconds count both segments, and
    /// metrics.jsonl's `seconds` never go back (they restarted from zero before checkpoints kept them).
    func testResumeContinuesTheClocks() throws {
        let split = "\(dir!)/clocks"
        XCTAssertEqual(try run(args(split, steps: 20)).status, 0)
        let first = try CheckpointInspection.inspect(split).state
        let training = try XCTUnwrap(first.trainingSeconds), elapsed = try XCTUnwrap(first.elapsedSeconds)
        XCTAssertGreaterThan(training, 0)
        XCTAssertGreaterThanOrEqual(elapsed, training)
        let r = try run(["train", "--resume", "latest", "--steps", "40", "--run-dir", split, "--blas-threads", "1"])
        XCTAssertEqual(r.status, 0, r.output)
        let last = try CheckpointInspection.inspect(split).state
        XCTAssertGreaterThan(try XCTUnwrap(last.trainingSeconds), training)
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(split)/results.json"))) as! [String: Any]
        let total = try XCTUnwrap(results["training_seconds"] as? Double)
        XCTAssertEqual(total, try XCTUnwrap(last.trainingSeconds), accuracy: 1e-9, "results.json and the last checkpoint disagree")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(results["wall_seconds"] as? Double), total)
        let seconds = try metricsRecords(split).map { try XCTUnwrap($0["seconds"] as? Double) }
        XCTAssertGreaterThanOrEqual(seconds.count, 2)
        XCTAssertEqual(seconds, seconds.sorted(), "metrics.jsonl's seconds went back at the resume: \(seconds)")
        XCTAssertGreaterThanOrEqual(seconds.last!, elapsed, "the resumed segment did not continue the run's clock")
    }

    /// A resume with another backend or precision continues, and says it is no longer bit-identical.
    func testResumeWithAnotherEngineSaysSo() throws {
        let runDir = "\(dir!)/engine-switch"
        XCTAssertEqual(try run(args(runDir, steps: 20) + ["--gemm", "blas"]).status, 0)
        XCTAssertEqual(try CheckpointInspection.inspect(runDir).state.engineChoice, EngineChoice(.blas, .fp32))
        let r = try run(["train", "--resume", "latest", "--steps", "30", "--run-dir", runDir, "--gemm", "dnnl", "--precision", "fp32"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.contains("written with blas fp32 matrix products, this run uses dnnl fp32")
                      && r.stdout.contains("no longer bit-identical"), r.output)
        XCTAssertEqual(try CheckpointInspection.inspect(runDir).state.engineChoice, EngineChoice(.dnnl, .fp32))
    }

    /// The same for M1 with an importance-weighted bound, and for M1+M2 and M1+SDGM (its recipe, with batch
    /// normalisation, but a constant learning rate: a cosine runs over the run's length, which the split run changes)
    /// on it, whose checkpoints carry the frozen M1 and the kept dimensions, so the resume does not read --m1 again.
    func testExactResumeOfImportanceWeightedM1AndOfStackedModels() throws {
        let m1 = "\(dir!)/m1"
        XCTAssertEqual(try run(args(m1, steps: 40, model: "m1") + ["--mc", "2", "--iw", "3"]).status, 0)
        for (model, extra) in [("m1", ["--iw", "3", "--mc", "2"]), ("m1m2", ["--m1", m1]), ("m1sdgm", ["--m1", m1, "--lr-schedule", "constant"])] {
            let straight = "\(dir!)/straight-\(model)", split = "\(dir!)/split-\(model)"
            XCTAssertEqual(try run(args(straight, steps: 40, model: model) + extra).status, 0)
            XCTAssertEqual(try run(args(split, steps: 20, model: model) + extra).status, 0)
            let r = try run(["train", "--resume", "latest", "--steps", "40", "--run-dir", split, "--blas-threads", "1"])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.stdout.contains("resuming from step 20"), r.output)
            XCTAssertEqual(try digest(split), try digest(straight), "\(model): resumed state differs from the straight run")
        }
        // M1+M2's checkpoint holds M1's parameters unchanged: the frozen part of 40 steps of training equals the M1.
        let m1Params = try readFloats("\(m1)/parameters.f32"), stacked = try readFloats("\(dir!)/straight-m1m2/parameters.f32")
        XCTAssertEqual(Array(stacked.prefix(m1Params.count)), m1Params)
        // A wrong --m1 is refused by name.
        let bad = try run(args("\(dir!)/bad", steps: 5, model: "m1m2") + ["--m1", "\(dir!)/straight-m1m2"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--m1") && bad.stderr.contains("m1m2 model"), bad.output)
        assertNoCrash(bad)
    }

    /// Train on 2 ranks, resume on 1, then on 3: the same parameters as a straight run, to float summation order.
    /// At learning rate 3e-4: at m2's recipe rate of 1e-3 the small digits model's training amplifies rounding-level
    /// differences to about 1e-2 relative over these 60 steps (measured: 8.4e-3, against 5.9e-7 at 3e-4), which would
    /// hide the bugs this test is for (a wrong slice or count changes the parameters at the first step).
    /// With fp32 products: with bf16 ones, a rounding-level difference that moves one activation across a bf16
    /// rounding boundary changes it by 2^-8 relative, and such flips, which come at random steps, grow to 1e-5–1e-4
    /// over these 60 steps (measured 1 vs 3 ranks: 5.6e-6 and 8.9e-6 with bf16 in the sharded and whole-set orders,
    /// 2.9e-7 and 2.2e-7 with fp32; 2 → 1 → 3 ranks, sharded, bf16: 7.9e-5).
    func testResumeOnOtherWorldSizes() throws {
        let straight = "\(dir!)/straight", moved = "\(dir!)/moved"
        XCTAssertEqual(try run(args(straight, steps: 60) + ["--lr", "3e-4", "--precision", "fp32"]).status, 0)
        XCTAssertEqual(try run(args(moved, steps: 20) + ["--lr", "3e-4", "--precision", "fp32"], ranks: 2).status, 0)
        let one = try run(["train", "--resume", "latest", "--steps", "40", "--run-dir", moved], ranks: 1)
        XCTAssertEqual(one.status, 0, one.output)
        XCTAssertTrue(one.stdout.contains("written on world size 2; now world size 1: batches are global"), one.output)
        let three = try run(["train", "--resume", "latest", "--steps", "60", "--run-dir", moved], ranks: 3)
        XCTAssertEqual(three.status, 0, three.output)
        XCTAssertTrue(three.stdout.contains("now world size 3"), three.output)
        let d = relativeDifference(try readFloats("\(straight)/parameters.f32"), try readFloats("\(moved)/parameters.f32"))
        print(String(format: "2 -> 1 -> 3 ranks vs straight, 60 steps: largest difference %.3g (relative %.3g)", d.absolute, d.relative))
        XCTAssertLessThanOrEqual(d.relative, 1e-5)
    }

    /// Every kind of bad checkpoint is a clear error naming the file, with no crash.
    func testBadCheckpointsAreRefusedClearly() throws {
        let good = "\(dir!)/good"
        XCTAssertEqual(try run(args(good, steps: 20)).status, 0)
        let file = "\(good)/checkpoints/step-000000020.ckpt"
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        let cases: [(String, ([UInt8]) -> [UInt8], String)] = [
            ("truncated", { Array($0.prefix($0.count * 2 / 3)) }, "truncated"),
            ("header-flip", { var b = $0; b[40] ^= 0x08; return b }, "header checksum mismatch"),
            ("payload-flip", { var b = $0; b[b.count - 200] ^= 0x01; return b }, "corrupt"),
            ("magic", { var b = $0; b[1] = 0x21; return b }, "not an ssl-dist checkpoint"),
            ("newer", { var b = $0; b[8] = 9; return b }, "format version 9 is newer"),
            ("empty", { _ in [] }, "empty file"),
        ]
        for (name, damage, expected) in cases {
            let path = "\(dir!)/\(name).ckpt"
            try Data(damage(bytes)).write(to: URL(fileURLWithPath: path))
            let r = try run(["train", "--resume", path, "--run-dir", "\(dir!)/resume-\(name)"])
            XCTAssertEqual(r.status, 1, "\(name): \(r.output)")
            XCTAssertTrue(r.stderr.contains(path) && r.stderr.contains(expected), "\(name): \(r.stderr)")
            assertNoCrash(r)
            let i = try run(["inspect", path])
            XCTAssertNotEqual(i.status, 0, "inspect \(name) should fail: \(i.output)")
            assertNoCrash(i)
        }
        let missing = try run(["train", "--resume", "latest", "--run-dir", "\(dir!)/never-trained"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no 'latest' checkpoint"), missing.stderr)
        assertNoCrash(missing)
    }

    /// Flags that contradict the checkpoint are refused, each named; another model's layout is refused too.
    func testConflictingFlagsAndOtherModelsAreRefused() throws {
        let run1 = "\(dir!)/r"
        XCTAssertEqual(try run(args(run1, steps: 20)).status, 0)
        let r = try run(["train", "--resume", "latest", "--run-dir", run1, "--model", "adgm", "--lr", "0.01", "--steps", "40"])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stderr.contains("--model, --lr") && r.stderr.contains("contradicts the checkpoint"), r.stderr)
        // Harmless flags pass, and flags equal to the checkpoint's values are not conflicts.
        let ok = try run(["train", "--resume", "latest", "--run-dir", run1, "--model", "m2", "--steps", "30", "--validate-every", "5"])
        XCTAssertEqual(ok.status, 0, ok.output)
        // An ADGM checkpoint offered to an M2 run (bypassing the flag check) is refused by its layout.
        let adgm = "\(dir!)/adgm"
        XCTAssertEqual(try run(args(adgm, steps: 20, model: "adgm")).status, 0)
        var m2 = TrainConfig()
        m2.model = .m2
        do {
            _ = try Trainer(config: m2, communicator: SingleProcessCommunicator(),
                            resume: ResumeRequest(checkpoint: "\(adgm)/checkpoints/step-000000020.ckpt") { saved in
                                var c = saved; c.model = .m2; c.runDir = "\(self.dir!)/wrong"; return c
                            }) { _ in }.run()
            XCTFail("an adgm checkpoint should not load into m2")
        } catch {
            XCTAssertTrue("\(error)".contains("another model or layout"), "\(error)")
        }
    }

    /// The writer is killed (SIGKILL) halfway through a checkpoint: the previous one stays loadable, `latest`
    /// still names it, and resuming from it reproduces the straight run exactly.
    func testKillDuringCheckpointWriteKeepsThePreviousCheckpoint() throws {
        let straight = "\(dir!)/straight", crashed = "\(dir!)/crashed"
        XCTAssertEqual(try run(args(straight, steps: 60)).status, 0)
        let r = try run(args(crashed, steps: 60), env: ["SSL_DIST_TEST_KILL_DURING_CHECKPOINT": "40:30000"])
        XCTAssertEqual(r.status, SIGKILL, "the hook should kill the writer: \(r.output)")
        XCTAssertEqual(try latestStep(crashed), 20, "latest must still name the step-20 checkpoint")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(crashed)/checkpoints")
        XCTAssertTrue(leftovers.contains { $0.hasPrefix(".step-000000040.ckpt.tmp-") }, "partial file: \(leftovers)")
        XCTAssertFalse(leftovers.contains("step-000000040.ckpt"), "a half-written checkpoint must not look finished")
        let resumed = try run(["train", "--resume", "latest", "--steps", "60", "--run-dir", crashed, "--blas-threads", "1"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertEqual(try digest(crashed), try digest(straight))
    }

    /// A non-finite gradient (injected at step 22 on one rank) stops a 2-rank run with an error naming the
    /// step, before the update; the last good checkpoint is unchanged; only the newest 2 are kept.
    func testNonFiniteGradientStopsTheRunAndKeepsTheLastCheckpoint() throws {
        let runDir = "\(dir!)/nan"
        let r = try runProcess("/usr/bin/mpirun", ["--oversubscribe", "--timeout", "120", "-x", "SSL_DIST_TEST_NAN_AT_STEP=22",
                                                   "-np", "2", sslDistBinary()] + args(runDir, steps: 60)
                                                   + ["--checkpoint-every", "5", "--keep-checkpoints", "2"],
                               environment: ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                                             "SSL_DIST_TEST_NAN_AT_STEP": "22"], timeout: 150)
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("step 22: the gradient is not finite"), r.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(runDir)/checkpoints").sorted()
        XCTAssertEqual(files, ["latest", "step-000000015.ckpt", "step-000000020.ckpt"])
        let i = try CheckpointInspection.inspect(runDir)
        XCTAssertEqual(i.state.step, 20)
        XCTAssertNil(i.checksumError)
    }

    /// SIGTERM to one rank of a 2-rank job: both ranks agree at the next step, checkpoint, exit 0; a resume continues.
    func testSigtermToOneRankCheckpointsAndExitsCleanly() throws {
        let runDir = "\(dir!)/term"
        let job = try RunningProcess("/usr/bin/mpirun", ["--oversubscribe", "--timeout", "240", "-np", "2", sslDistBinary()]
                                     + args(runDir, steps: 1_000_000) + ["--validate-every", "1"],
                                     environment: ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"])
        XCTAssertTrue(job.waitForOutput(containing: "epoch 1 step", timeout: 120), "training never started: \(job.stdout)")
        let ranks = processIDs(named: "ssl-dist", commandLineContaining: runDir)
        XCTAssertEqual(ranks.count, 2, "expected two rank processes, found \(ranks)")
        kill(ranks.max()!, SIGTERM)
        let status = job.wait(timeout: 120)
        XCTAssertEqual(status, 0, job.stdout + job.stderr)
        let out = job.stdout
        guard let range = out.range(of: "stopped at step ") else { return XCTFail("no stop message: \(out)") }
        let step = Int(out[range.upperBound...].prefix { $0.isNumber })!
        XCTAssertTrue(out.contains("resume with: ssl-dist train --resume latest --run-dir \(runDir)"), out)
        XCTAssertEqual(try latestStep(runDir), step)
        let resumed = try run(["train", "--resume", "latest", "--steps", String(step + 10), "--run-dir", runDir], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.stdout.contains("resuming from step \(step)"), resumed.output)
        XCTAssertEqual(try latestStep(runDir), step + 10)
    }
}

/// A real full disk: the run directory on a tmpfs too small for a second checkpoint. Needs root (mount).
final class DiskFullTests: XCTestCase {
    let digits = digitsPath() ?? "digits.csv.gz (python3-sklearn: run make deps)"

    func testFailedCheckpointWriteIsAnErrorOnEveryRankAndKeepsThePrevious() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to mount a small tmpfs (disk-full test)") }
        let mountPoint = NSTemporaryDirectory() + "ssl-full-\(getpid())"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let m = try runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=320k", "tmpfs", mountPoint], timeout: 30)
        guard m.status == 0 else { throw XCTSkip("cannot mount a tmpfs here: \(m.output)") }
        defer {
            _ = try? runProcess("/bin/umount", [mountPoint], timeout: 30)
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        let runDir = "\(mountPoint)/run"
        let r = try mpirun(["-np", "2", sslDistBinary()] + shortDigitsRun(model: "m2", runDir: runDir, steps: 60)
                           + ["--seed", "3", "--validate-every", "1000", "--checkpoint-every", "20"])
        XCTAssertNotEqual(r.status, 0, r.output)
        // Every rank reports the failure (then the job is aborted).
        XCTAssertTrue(r.stderr.contains("No space left on device"), r.stderr)
        XCTAssertTrue(r.stderr.contains("rank 0: error: checkpoint at step 40") || r.stderr.contains("rank 1: error: checkpoint at step 40"),
                      r.stderr)
        // The previous checkpoint is untouched and still the latest; no partial file is left.
        let inspection = try CheckpointInspection.inspect(runDir)
        XCTAssertEqual(inspection.state.step, 20)
        XCTAssertNil(inspection.checksumError)
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(runDir)/checkpoints")
        XCTAssertEqual(files.sorted(), ["latest", "step-000000020.ckpt"], "\(files)")
    }
}
