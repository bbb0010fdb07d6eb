import Foundation
import TestSupport
import XCTest

/// Jobs across three emulated hosts: network namespaces talking TCP (Tests/multihost/multihost.sh).
/// Needs root and `ip netns`; skipped with the printed reason elsewhere.
final class MultiHostTests: XCTestCase {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("multihost/multihost.sh").path
    let digits = digitsPath() ?? "digits.csv.gz (python3-sklearn: run make deps)"
    var dir: String!

    override func setUpWithError() throws {
        let check = try runProcess(script, ["check"], timeout: 30)
        if check.status == 77 {
            print(check.stdout)
            throw XCTSkip(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        XCTAssertEqual(check.status, 0, check.output)
        let up = try runProcess(script, ["up"], timeout: 60)
        XCTAssertEqual(up.status, 0, "creating the namespaces failed: \(up.output)")
        dir = try makeTemporaryDirectory("ssl-multihost")
    }

    override func tearDownWithError() throws {
        let down = try runProcess(script, ["down"], timeout: 60)
        XCTAssertEqual(down.status, 0, "removing the namespaces failed: \(down.output)")
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    func trainArgs(_ model: String, steps: Int, runDir: String) -> [String] {
        [sslDistBinary()] + shortDigitsRun(model: model, runDir: runDir, steps: steps)
            + ["--warmup-steps", "10", "--seed", "3", "--check-every", "5", "--blas-threads", "1", "--validate-every", "1000",
               "--no-batch-norm", "--lr", "3e-4"]  // as MPIJobTests.trainArgs, which says why
    }

    /// One process here versus three ranks on three hosts over TCP: the same parameters after 20 steps. m2 on the
    /// defaults, where the sharded update is off (`--shard-optimizer auto`: the ranks do not share a node); adgm with it
    /// on, its gather's broadcasts crossing TCP while forward reads the parameters.
    func testThreeHostsMatchOneProcess() throws {
        for (model, sharding) in [("m2", [String]()), ("adgm", ["--shard-optimizer", "on"])] {
            let single = try runProcess(sslDistBinary(), Array(trainArgs(model, steps: 20, runDir: "\(dir!)/\(model)-1").dropFirst()))
            XCTAssertEqual(single.status, 0, single.output)
            let multi = try runProcess(script, ["run"] + trainArgs(model, steps: 20, runDir: "\(dir!)/\(model)-hosts") + sharding,
                                       timeout: 320)
            XCTAssertEqual(multi.status, 0, multi.output)
            XCTAssertTrue(multi.stdout.contains("world size 3"), multi.output)
            XCTAssertEqual(multi.stdout.contains("sharded update: each rank updates its part"), !sharding.isEmpty, multi.output)
            let d = relativeDifference(try readFloats("\(dir!)/\(model)-1/parameters.f32"),
                                       try readFloats("\(dir!)/\(model)-hosts/parameters.f32"))
            print(String(format: "%@ %@: 1 process vs 3 hosts after 20 steps: largest difference %.3g (relative %.3g)",
                         model, sharding.joined(separator: " "), d.absolute, d.relative))
            XCTAssertLessThanOrEqual(d.relative, rankTolerance(), model)
        }
    }

    /// Every process of one host is killed mid-run: the job exits non-zero by itself, says so, and leaves no process
    /// behind on any host (the script reports how long it took; that is information, not a test).
    func testHostFaultEndsTheJob() throws {
        let r = try runProcess(script, ["fault"] + trainArgs("m2", steps: 1_000_000, runDir: "\(dir!)/fault"), timeout: 320)
        print(r.stdout.components(separatedBy: "\n").first ?? "")
        XCTAssertEqual(r.status, 0, r.output)
        let line = r.stdout.components(separatedBy: "\n").first { $0.hasPrefix("fault:") } ?? ""
        guard let exitRange = line.range(of: "mpirun exit "), let msRange = line.range(of: " ms;") else {
            return XCTFail("no fault report in: \(r.output)")
        }
        let exitCode = Int(line[exitRange.upperBound...].prefix { $0.isNumber }) ?? 0
        _ = msRange
        XCTAssertNotEqual(exitCode, 0, "the job must fail: \(line)")
        XCTAssertTrue(line.hasSuffix("leftover pids: none"), "processes left behind: \(line)")
        // Open MPI says what happened: the host's daemon (and its rank) is gone.
        XCTAssertTrue(r.stdout.contains("daemon") || r.stdout.contains("exited on signal 9") || r.stdout.contains("killed"),
                      "the job output should report the lost host: \(r.output)")
    }
}
