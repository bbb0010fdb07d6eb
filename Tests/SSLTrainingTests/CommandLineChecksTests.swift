import Foundation
import SSLTraining
import TestSupport
import XCTest

/// The smaller promises of the command line: the flag a mistake names, `--version`, and the warnings a user needs.
final class CommandLineChecksTests: XCTestCase {
    func ssl(_ args: [String]) throws -> ProcessResult { try runProcess(sslDistBinary(), args, timeout: 120) }

    func testMistakesNameTheRightFlag() throws {
        let big = try ssl(["train", "--model", "m2", "--data", "fashion-mnist", "--epochs", "1", "--batch-size", "100000"])
        // A mistake: one kind of message naming the flag, a pointer to the help, exit 2, no usage text.
        XCTAssertEqual(big.status, 2, big.output)
        XCTAssertTrue(big.stderr.hasPrefix("ssl-dist: error: --batch-size:") && !big.stderr.contains("--mc:"), "the batch, not --mc: \(big.stderr)")
        XCTAssertTrue(big.stderr.contains("see 'ssl-dist train --help'") && !big.output.contains("USAGE:") && !big.output.contains("Usage:"), big.stderr)
        let value = try ssl(["bench", "--model", "nope"])
        XCTAssertEqual(value.status, 2, value.output)
        XCTAssertTrue(value.stderr.hasPrefix("ssl-dist: error: ") && value.stderr.contains("--model"), value.stderr)
        // Under mpirun every rank parses the same arguments: only rank 0 says so.
        let quiet = try runProcess(sslDistBinary(), ["bench", "--model", "nope"], environment: ["OMPI_COMM_WORLD_RANK": "1"], timeout: 60)
        XCTAssertEqual(quiet.status, 2)
        XCTAssertEqual(quiet.stderr, "")
        let rising = try ssl(["train", "--model", "m2", "--data", "fashion-mnist", "--epochs", "1", "--lr-schedule", "cosine",
                              "--lr", "1e-3", "--lr-min", "0.01"])
        XCTAssertNotEqual(rising.status, 0)
        XCTAssertTrue(rising.stderr.contains("--lr-min: 0.01 is above --lr"), rising.stderr)
        let help = try ssl(["train", "--help"])
        XCTAssertTrue(help.stdout.prefix(400).contains("USAGE: ssl-dist train --model M --data D"), "usage first: \(help.stdout.prefix(400))")
        XCTAssertTrue(help.stdout.contains("cube:SPECTRA.npy,GROUND_TRUTH.npy"), "--data names cubes")
        let flat = help.stdout.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        XCTAssertTrue(flat.contains("of what the test split leaves"), "--validation-fraction says what it is a fraction of")
        // plot's table: whole epochs as integers, a stopped run's fraction to two decimals (not 3.34076).
        XCTAssertEqual(epochText(10), "10"); XCTAssertEqual(epochText(3.34076), "3.34")
    }

    /// A runtime failure (here a checkpoint or run directory that does not exist) prints `ssl-dist: error: …` naming
    /// the path and exits 1 in every command that reads one, without the usage text.
    func testRuntimeFailuresPrintOneKindOfErrorAndNoUsage() throws {
        let missing = "/nonexistent-ssl-dist-\(getpid())"
        for args in [["inspect", missing], ["plot", missing, "--out", "/tmp/p-\(getpid()).png"],
                     ["sample", "--checkpoint", missing, "--class", "1", "--out", "/tmp/s-\(getpid()).png"],
                     ["interpolate", "--checkpoint", missing, "--from", "0", "--to", "1", "--out", "/tmp/i-\(getpid()).png"],
                     ["features", "--checkpoint", missing, "--out", "/tmp/f-\(getpid()).npy"],
                     ["evaluate", "--checkpoint", missing], ["predict", "--checkpoint", missing, "--out", "/tmp/q-\(getpid()).npy"]] {
            let r = try ssl(args)
            XCTAssertEqual(r.status, 1, "\(args[0]): \(r.output)")
            XCTAssertTrue(r.stderr.hasPrefix("ssl-dist: error: ") && r.stderr.contains(missing), "\(args[0]): \(r.stderr)")
            XCTAssertFalse(r.output.contains("Usage:") || r.output.contains("USAGE:"), "\(args[0]) printed the usage: \(r.output)")
        }
    }

    func testVersionNamesTheBuildAndCheckpointsRecordIt() throws {
        let v = try ssl(["--version"])
        XCTAssertEqual(v.status, 0, v.output)
        XCTAssertTrue(v.stdout.hasPrefix("ssl-dist ") && v.stdout.contains("(commit "), v.stdout)
        guard let digits = digitsPath() else { throw XCTSkip("sklearn's digits.csv.gz not found: run `make deps`") }
        let dir = try makeTemporaryDirectory("ssl-version")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 5% of 1,437 for validation is 71 examples: a warning says what one example is worth.
        let t = try ssl(shortDigitsRun(model: "m2", data: "csv:\(digits)", runDir: "\(dir)/r", steps: 2)
                        + ["--validation-fraction", "0.05", "--quiet", "--blas-threads", "1"])
        XCTAssertEqual(t.status, 0, t.output)
        XCTAssertTrue(t.stdout.contains("the best checkpoint is chosen on 72 validation examples") || t.stdout.contains("validation examples, one example moving accuracy"), t.stdout)
        let i = try ssl(["inspect", "\(dir)/r"])
        XCTAssertTrue(i.stdout.contains("by " + v.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "checkpoints name the build: \(i.stdout.prefix(300))")
    }
}
