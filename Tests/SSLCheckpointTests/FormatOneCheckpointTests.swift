import Foundation
import TestSupport
import XCTest

/// Checkpoints of format 1 (before model configurations were stored in them) still load: `evaluate` gives the
/// numbers the ssl-dist of that time gave, and a resume continues bit for bit to the parameters that ssl-dist reached
/// without stopping. The fixtures and how they were made are in Fixtures/README.md.
final class FormatOneCheckpointTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    var dir: String!

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz") else {
            return XCTFail("the fixtures were trained on sklearn's digits: run `make deps` (installs python3-sklearn)")
        }
        dir = try makeTemporaryDirectory("ssl-format1")
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(atPath: dir) } }

    func testEvaluateGivesTheNumbersOfItsTime() throws {
        for model in ["m2", "adgm"] {
            let r = try runProcess(sslDistBinary(), ["evaluate", "--checkpoint", "\(fixtures)/format1-\(model)-step20.ckpt", "--json",
                                                     "--blas-threads", "1"])
            XCTAssertEqual(r.status, 0, r.output)
            let now = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let then = try XCTUnwrap(try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/format1-\(model)-step20-evaluate.json"))) as? [String: Any])
            XCTAssertEqual(now["accuracy"] as? Double, then["accuracy"] as? Double, model)
            XCTAssertEqual(now["confusion"] as? [[Int]], then["confusion"] as? [[Int]], model)
            for key in ["labelled_bound", "unlabelled_bound"] {
                let a = try XCTUnwrap(now[key] as? Double), b = try XCTUnwrap(then[key] as? Double)
                XCTAssertEqual(a, b, accuracy: 1e-9 * abs(b), "\(model) \(key)")
            }
        }
    }

    func testResumeContinuesBitForBit() throws {
        for model in ["m2", "adgm"] {
            let runDir = "\(dir!)/\(model)"
            let r = try runProcess(sslDistBinary(), ["train", "--resume", "\(fixtures)/format1-\(model)-step20.ckpt", "--run-dir", runDir,
                                                     "--blas-threads", "1", "--quiet"])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.stdout.contains("resuming from step 20") && r.stdout.contains("matrix products blas fp32"), r.stdout)
            XCTAssertEqual(try readFloats("\(runDir)/parameters.f32").map(\.bitPattern),
                           try readFloats("\(fixtures)/format1-\(model)-step40.f32").map(\.bitPattern), model)
        }
    }
}
