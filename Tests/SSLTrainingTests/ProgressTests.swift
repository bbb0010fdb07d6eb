import Foundation
import TestSupport
import XCTest

/// The progress display: plain lines without a terminal (or with CI=true), a live bar on one.
final class ProgressTests: XCTestCase {
    func trainCommand(_ runDir: String) throws -> [String] {
        guard let digits = digitsPath() else { throw XCTSkip("sklearn digits not found: run `make deps`") }
        return [sslDistBinary(), "train", "--model", "m2", "--data", "csv:\(digits)", "--labels-per-class", "3",
                "--labelled-batch-size", "30", "--hidden", "32", "--latent", "4", "--steps", "60", "--progress-every", "20",
                "--validate-every", "1000", "--run-dir", runDir]
    }

    func testNoEscapeCodesWithoutATerminal() throws {
        let dir = NSTemporaryDirectory() + "ssl-progress-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = try trainCommand(dir)
        let r = try runProcess(args[0], Array(args.dropFirst()))
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.contains("step 20/60 (epoch 2, 67%)"), r.stdout)
        XCTAssertFalse(r.stdout.contains("\u{1B}"), "escape codes in a log")
        XCTAssertFalse(r.stdout.contains("\r"), "carriage returns in a log")
        // A run directory belongs to one run: the second run gets its own.
        let quiet = try runProcess(args[0], Array(try trainCommand(dir + "-quiet").dropFirst()) + ["--quiet"])
        defer { try? FileManager.default.removeItem(atPath: dir + "-quiet") }
        XCTAssertFalse(quiet.stdout.contains("step 20/60"), quiet.stdout)
        XCTAssertTrue(quiet.stdout.contains("test accuracy"), quiet.stdout)
    }

    func testTerminalGetsABarUnlessCI() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("script(1) not found") }
        let dir = NSTemporaryDirectory() + "ssl-progress-tty-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cmd = try trainCommand(dir).joined(separator: " ")
        let tty = try runProcess("/usr/bin/script", ["-qec", cmd, "/dev/null"], environment: ["CI": "false", "TERM": "xterm"])
        XCTAssertEqual(tty.status, 0, tty.output)
        XCTAssertTrue(tty.stdout.contains("\r\u{1B}[Kepoch 1 "), "a live bar on a terminal: \(tty.stdout.prefix(2000))")
        // A run directory belongs to one run: the second run gets its own.
        let ciCmd = try trainCommand(dir + "-ci").joined(separator: " ")
        defer { try? FileManager.default.removeItem(atPath: dir + "-ci") }
        let ci = try runProcess("/usr/bin/script", ["-qec", ciCmd, "/dev/null"], environment: ["CI": "true", "TERM": "xterm"])
        XCTAssertEqual(ci.status, 0, ci.output)
        XCTAssertFalse(ci.stdout.contains("\u{1B}"), "CI=true: no escape codes even on a terminal")
        XCTAssertTrue(ci.stdout.contains("step 20/60"), ci.stdout)
    }
}
