import Foundation
import SSLTraining
import TestSupport
import XCTest

/// TOML config files: round trip through --print-config, flags over the file, clear errors.
final class ConfigFileTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory("ssl-config")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ name: String, _ text: String) throws -> String {
        let p = "\(dir!)/\(name)"; try text.write(toFile: p, atomically: true, encoding: .utf8); return p
    }

    func ssl(_ args: [String]) throws -> ProcessResult { try runProcess(sslDistBinary(), args, timeout: 120) }

    func testPrintConfigRoundTripsThroughAFile() throws {
        let first = try ssl(["train", "--model", "m2", "--hidden", "300,200", "--lr", "1e-3", "--epochs", "5", "--alpha", "2.5",
                             "--no-binarize", "--run-dir", "runs/x", "--print-config"])
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.stdout.contains("hidden = [300, 200]") && first.stdout.contains("lr = 0.001\n"), first.stdout)
        let file = try write("run.toml", first.stdout)
        let second = try ssl(["train", "--config", file, "--print-config"])
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertEqual(second.stdout, first.stdout)
        // In-process: the parsed file gives back the same config: M2's recipe with the flags' values.
        var expected = TrainConfig.recipe(for: .m2)
        expected.hidden = [300, 200]; expected.learningRate = 1e-3; expected.epochs = 5
        expected.alpha = 2.5; expected.binarize = false; expected.runDir = "runs/x"
        XCTAssertEqual(try TrainSettings.apply(try ConfigFile.read(file), to: TrainConfig()), expected)
    }

    /// A new run starts from its model's recipe (named by a flag or by the file); flags turn parts of it off.
    func testEachModelStartsFromItsRecipeAndFlagsTurnItOff() throws {
        let adgm = try ssl(["train", "--epochs", "1", "--print-config"])  // the default model
        for line in ["model = \"adgm\"", "batch-norm = true", "clip-grad-norm = 5.0", "clip-grad-value = 1.0", "lr-schedule = \"cosine\"",
                     "ema = 0.999", "lr = 0.001"] {
            XCTAssertTrue(adgm.stdout.contains(line + "\n"), "\(line) in\n\(adgm.stdout)")
        }
        let file = try write("m2.toml", "model = \"m2\"\nepochs = 1\n")
        let m2 = try ssl(["train", "--config", file, "--print-config"])
        for line in ["alpha = 10.0", "binarize = false", "clip-grad-value = 1.0", "ema = 0.999", "# batch-norm = (not set)"] {
            XCTAssertTrue(m2.stdout.contains(line + "\n"), "\(line) in\n\(m2.stdout)")
        }
        let off = try ssl(["train", "--model", "sdgm", "--epochs", "1", "--no-batch-norm", "--clip-grad-value", "0", "--ema", "0",
                           "--lr-schedule", "constant", "--print-config"])
        for line in ["batch-norm = false", "# clip-grad-value = (not set)", "# ema = (not set)", "lr-schedule = \"constant\"",
                     "clip-grad-norm = 5.0"] {
            XCTAssertTrue(off.stdout.contains(line + "\n"), "\(line) in\n\(off.stdout)")
        }
        // The supervised baseline keeps the bare settings.
        XCTAssertEqual(TrainConfig.recipe(for: .supervised).learningRate, TrainConfig().learningRate)
        XCTAssertNil(TrainConfig.recipe(for: .supervised).ema)
    }

    /// m1's recipe warms the KL term up over epochs; `--warmup-steps` and `--warmup-epochs` replace each other, and a
    /// run turns epochs into its own steps: announced, in the checkpoint, and β in metrics.jsonl.
    func testWarmupInEpochsResolvesToTheRunsSteps() throws {
        let m1 = try ssl(["train", "--model", "m1", "--epochs", "1", "--print-config"])
        XCTAssertTrue(m1.stdout.contains("warmup-epochs = 15.0\n"), m1.stdout)
        let steps = try ssl(["train", "--model", "m1", "--epochs", "1", "--warmup-steps", "30", "--print-config"])
        XCTAssertTrue(steps.stdout.contains("warmup-steps = 30\n") && steps.stdout.contains("# warmup-epochs = (not set)\n"), steps.stdout)
        let epochs = try ssl(["train", "--model", "m2", "--epochs", "1", "--warmup-steps", "30", "--warmup-epochs", "2", "--print-config"])
        XCTAssertTrue(epochs.stdout.contains("warmup-steps = 0\n") && epochs.stdout.contains("warmup-epochs = 2.0\n"), epochs.stdout)
        let bad = try ssl(["train", "--model", "m1", "--epochs", "1", "--warmup-epochs", "-1"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("warmup-epochs"), bad.output)

        guard let digits = digitsPath() else { return XCTFail("run `make deps` (installs python3-sklearn)") }
        let runDir = "\(dir!)/m1-warm"
        // The run announces its steps per epoch; 2 epochs of warm-up are twice that.
        let r = try ssl(["train", "--model", "m1", "--data", "csv:\(digits)", "--hidden", "32", "--latent", "4", "--epochs", "4",
                         "--batch-size", "100", "--warmup-epochs", "2", "--run-dir", runDir, "--blas-threads", "1", "--quiet"])
        XCTAssertEqual(r.status, 0, r.output)
        let perEpoch = try XCTUnwrap(r.stdout.components(separatedBy: " steps/epoch").first?.split(separator: " ").last.flatMap { Int($0) })
        XCTAssertTrue(r.stdout.contains("warm-up \(2 * perEpoch) steps"), r.stdout)
        XCTAssertEqual(try CheckpointInspection.inspect(runDir).state.warmup.steps, 2 * perEpoch)
        let betas = try metricsRecords(runDir).map { try XCTUnwrap($0["beta"] as? Double) }
        // β of each epoch's last step: (epoch·perEpoch − 1)/(2·perEpoch) while warming up, then 1.
        XCTAssertEqual(betas.count, 4)
        XCTAssertEqual(betas[0], Double(perEpoch - 1) / Double(2 * perEpoch), accuracy: 1e-6)
        XCTAssertEqual(betas[2], 1)
    }

    func testFlagsOverrideTheFile() throws {
        let file = try write("run.toml", "model = \"m2\"\nseed = 7\nsteps = 10\n")
        let r = try ssl(["train", "--config", file, "--seed", "9", "--print-config"])
        XCTAssertTrue(r.stdout.contains("model = \"m2\"") && r.stdout.contains("seed = 9\n") && r.stdout.contains("steps = 10"), r.stdout)
    }

    func testBadKeysTypesAndSyntaxNameTheLine() throws {
        let unknown = try write("unknown.toml", "model = \"m2\"\n\nlearning-rate = 0.1\n")
        let a = try ssl(["train", "--config", unknown, "--steps", "1"])
        XCTAssertNotEqual(a.status, 0)
        XCTAssertTrue(a.stderr.contains("\(unknown) line 3: unknown key 'learning-rate'"), a.stderr)
        let type = try write("type.toml", "model = \"m2\"\nbatch-size = \"big\"\n")
        let b = try ssl(["train", "--config", type, "--steps", "1"])
        XCTAssertTrue(b.stderr.contains("\(type) line 2: 'batch-size' should be an integer"), b.stderr)
        let choice = try write("choice.toml", "model = \"m3\"\n")
        let c = try ssl(["train", "--config", choice, "--steps", "1"])
        XCTAssertTrue(c.stderr.contains("\(choice) line 1: 'model' should be one of m2, adgm, sdgm, supervised, vat, m1, m1m2"), c.stderr)
        let syntax = try write("syntax.toml", "model = \"m2\nseed = 1\n")
        let d = try ssl(["train", "--config", syntax, "--steps", "1"])
        XCTAssertTrue(d.stderr.contains("\(syntax) line 1, column") && d.stderr.contains("invalid TOML"), d.stderr)
        let both = try write("both.toml", "epochs = 2\nsteps = 3\n")
        let e = try ssl(["train", "--config", both])
        XCTAssertTrue(e.stderr.contains("give either epochs or steps, not both"), e.stderr)
        for r in [a, b, c, d, e] { XCTAssertFalse(r.output.contains("Fatal error"), r.output) }
    }

    func testTheRunDirectoryKeepsTheEffectiveConfigAsTOML() throws {
        guard let digits = digitsPath() else { throw XCTSkip("sklearn digits not found: run `make deps`") }
        let file = try write("run.toml", "model = \"m2\"\ndata = \"csv:\(digits)\"\nlabels-per-class = 3\nlabelled-batch-size = 30\n"
                             + "hidden = [32]\nlatent = 4\nsteps = 5\nvalidate-every = 100\n")
        let runDir = "\(dir!)/run"
        let r = try ssl(["train", "--config", file, "--seed", "4", "--run-dir", runDir])
        XCTAssertEqual(r.status, 0, r.output)
        let saved = try String(contentsOfFile: "\(runDir)/config.toml", encoding: .utf8)
        let printed = try ssl(["train", "--config", file, "--seed", "4", "--run-dir", runDir, "--print-config"])
        XCTAssertEqual(saved, printed.stdout)
    }
}
