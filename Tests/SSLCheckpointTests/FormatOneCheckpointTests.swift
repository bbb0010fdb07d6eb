import Foundation
import TestSupport
import XCTest

/// Checkpoints of format 1 (before model configurations were stored in them) still load: `evaluate` gives the
/// numbers the ssl-dist of that time gave, and a resume continues to the parameters that ssl-dist reached without
/// stopping. The fixtures and how they were made are in Fixtures/README.md. They were written on another CPU (an AMD
/// Zen 4 with OpenBLAS's Haswell kernels); this machine's OpenBLAS kernels and libm round differently in the last
/// bit, so the comparison is to float rounding, not bit for bit: the accuracy and confusion matrix exactly, the
/// bounds to 1e-7 relative, the parameters to 1e-6 of their largest magnitude (a migration that built a different
/// model, a lost section or a wrong step would miss by orders of magnitude more). On the machine that wrote them
/// both were bit-identical. The runs use OpenBLAS's Haswell kernels, as the fixtures did: with the kernels OpenBLAS
/// picks for this CPU ADGM's unlabelled bound moves by 1.5e-6 relative.
final class FormatOneCheckpointTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    var dir: String!
    let haswell = ["OPENBLAS_CORETYPE": "Haswell"]

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
                                                     "--blas-threads", "1"], environment: haswell)
            XCTAssertEqual(r.status, 0, r.output)
            let now = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let then = try XCTUnwrap(try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/format1-\(model)-step20-evaluate.json"))) as? [String: Any])
            XCTAssertEqual(now["accuracy"] as? Double, then["accuracy"] as? Double, model)
            XCTAssertEqual(now["confusion"] as? [[Int]], then["confusion"] as? [[Int]], model)
            for key in ["labelled_bound", "unlabelled_bound"] {
                let a = try XCTUnwrap(now[key] as? Double), b = try XCTUnwrap(then[key] as? Double)
                XCTAssertEqual(a, b, accuracy: 1e-7 * abs(b), "\(model) \(key)")
            }
        }
    }

    func testResumeContinuesToTheSameParameters() throws {
        for model in ["m2", "adgm"] {
            let runDir = "\(dir!)/\(model)"
            let r = try runProcess(sslDistBinary(), ["train", "--resume", "\(fixtures)/format1-\(model)-step20.ckpt", "--run-dir", runDir,
                                                     "--blas-threads", "1", "--quiet"], environment: haswell)
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.stdout.contains("resuming from step 20") && r.stdout.contains("matrix products blas fp32"), r.stdout)
            let d = relativeDifference(try readFloats("\(runDir)/parameters.f32"),
                                       try readFloats("\(fixtures)/format1-\(model)-step40.f32"))
            print(String(format: "%@: format-1 resume vs the run that did not stop, step 40: largest difference %.3g (relative %.3g)",
                         model, d.absolute, d.relative))
            XCTAssertLessThanOrEqual(d.relative, 1e-6, model)
        }
    }
}
