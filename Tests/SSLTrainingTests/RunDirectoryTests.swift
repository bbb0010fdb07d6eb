import Foundation
import SSLTraining
import TestSupport
import XCTest

/// A run directory belongs to one run: a second run never writes into it, `--overwrite` moves the old run aside
/// (never deletes it), two runs started at once cannot share it, a new run without --run-dir takes a fresh one, and a
/// run resumed into another directory finishes there with its best checkpoint.
final class RunDirectoryTests: XCTestCase {
    func digitsRun(_ runDir: String, steps: Int, _ extra: [String] = []) throws -> [String] {
        guard let digits = digitsPath() else {
            throw XCTSkip("sklearn's digits.csv.gz not found: run `make deps` (installs python3-sklearn) or set SSL_DIST_DIGITS")
        }
        return shortDigitsRun(model: "m2", data: "csv:\(digits)", runDir: runDir, steps: steps)
            + ["--quiet", "--blas-threads", "1"] + extra
    }

    func testASecondRunIsRefusedAndOverwriteMovesTheFirstAside() throws {
        let dir = try makeTemporaryDirectory("ssl-rundir"), run = "\(dir)/R"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try runProcess(sslDistBinary(), try digitsRun(run, steps: 30))
        XCTAssertEqual(first.status, 0, first.output)
        let results = try Data(contentsOf: URL(fileURLWithPath: "\(run)/results.json"))

        let second = try runProcess(sslDistBinary(), try digitsRun(run, steps: 20, ["--lr", "0.0005"]))
        XCTAssertNotEqual(second.status, 0, "a second run into the same directory must be refused")
        for words in ["already holds a run", "model m2", "step 30", "--resume latest", "--run-dir", "--overwrite"] {
            XCTAssertTrue(second.stderr.contains(words), "the refusal should say '\(words)': \(second.stderr)")
        }
        XCTAssertFalse(second.output.contains("Fatal error") || second.output.contains("Backtrace"), second.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(run)/results.json")), results, "the first run's results are untouched")

        let third = try runProcess(sslDistBinary(), try digitsRun(run, steps: 20, ["--overwrite"]))
        XCTAssertEqual(third.status, 0, third.output)
        let aside = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("R.replaced-") }
        XCTAssertEqual(aside.count, 1, "the old run moved aside: \(aside)")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(aside[0])/results.json")), results, "and kept whole")
        XCTAssertTrue(third.stdout.contains("is now in \(run).replaced-"), third.stdout)
    }

    func testTwoRunsStartedAtOnceCannotShareADirectory() throws {
        let dir = try makeTemporaryDirectory("ssl-rundir-race"), run = "\(dir)/R"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try RunningProcess(sslDistBinary(), try digitsRun(run, steps: 400))
        let b = try RunningProcess(sslDistBinary(), try digitsRun(run, steps: 400, ["--model", "supervised"]))
        let statuses = [a.wait(timeout: 300), b.wait(timeout: 300)]
        XCTAssertEqual(statuses.filter { $0 == 0 }.count, 1, "exactly one of two runs started at once may use the directory: "
                       + "\(statuses)\n\(a.stderr)\n\(b.stderr)")
        let loser = statuses[0] == 0 ? b : a
        XCTAssertTrue(loser.stderr.contains("is in use by a running training job") || loser.stderr.contains("already holds a run"),
                      loser.stderr)
        let config = try String(contentsOfFile: "\(run)/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains(statuses[0] == 0 ? "\"m2\"" : "\"supervised\""), "the directory holds the winner's run")
    }

    func testANewRunWithoutRunDirTakesAFreshDirectory() throws {
        let dir = try makeTemporaryDirectory("ssl-rundir-fresh"), base = "\(dir)/runs/m2-seed1"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(RunDirectoryClaim.freshNumber(base), 1, "a missing directory is free")
        try FileManager.default.createDirectory(atPath: "\(base)/checkpoints", withIntermediateDirectories: true)
        XCTAssertEqual(RunDirectoryClaim.freshNumber(base), 1, "an empty directory is free")
        try "step-000000010.ckpt\n".write(toFile: "\(base)/checkpoints/latest", atomically: true, encoding: .utf8)
        XCTAssertEqual(RunDirectoryClaim.freshNumber(base), 2, "a directory holding a run is not")
        XCTAssertEqual(RunDirectoryClaim.numbered(base, 2), "\(base)-2")
        XCTAssertTrue(RunDirectoryClaim.describeRun(in: base)?.contains("step 10") == true)
    }

    func testResumeIntoAnotherRunDirectoryFinishesWithItsBestCheckpoint() throws {
        let dir = try makeTemporaryDirectory("ssl-rundir-move"), old = "\(dir)/old", new = "\(dir)/new"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try runProcess(sslDistBinary(), try digitsRun(old, steps: 60, ["--checkpoint-every", "30", "--validate-every", "1"]))
        XCTAssertEqual(first.status, 0, first.output)
        let r = try runProcess(sslDistBinary(), ["train", "--resume", "\(old)/checkpoints/step-000000030.ckpt", "--steps", "70",
                                                 "--run-dir", new, "--quiet", "--blas-threads", "1"])
        XCTAssertEqual(r.status, 0, r.output)
        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(new)/results.json"))) as? [String: Any])
        XCTAssertEqual(results["steps"] as? Int, 70)
        XCTAssertNotNil(results["test_accuracy_at_best"] as? Double, "the best checkpoint is scored: \(results)")
        let best = try runProcess(sslDistBinary(), ["inspect", "\(new)/checkpoints/best.ckpt"])
        XCTAssertEqual(best.status, 0, best.output)
        XCTAssertTrue(best.stdout.contains("step \(results["best_step"] as! Int),"), "best.ckpt is the best step's: \(best.stdout.prefix(400))")
    }
}
