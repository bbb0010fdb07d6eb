import Foundation
import SSLTensorBoard
import TestSupport
import XCTest

/// The event file read back by an independent reader: TensorBoard's own EventAccumulator, installed by `make deps`
/// from PyPI into a virtualenv under .build (skipped, with the reason, when it is not there).
final class TensorBoardTests: XCTestCase {
    /// TFRecord's masked CRC-32C on the standard check value: CRC-32C("123456789") = 0xE3069283.
    func testCRC32C() {
        XCTAssertEqual(crc32c(Data("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(crc32c(Data()), 0)
    }

    /// TensorBoard's reader, which `make deps` installs into .build/tb-venv (a test installs nothing).
    func reader() throws -> String {
        // .build/<triple>/release → .build/tb-venv
        let venv = productsDirectory().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("tb-venv").path
        let python = "\(venv)/bin/python"
        guard (try? runProcess(python, ["-c", "import tensorboard"], timeout: 60))?.status == 0 else {
            throw XCTSkip("TensorBoard's reader is not in \(venv): run `make deps` (it installs tensorboard there from PyPI)")
        }
        return python
    }

    func testTensorBoardReadsTheScalars() throws {
        guard let digits = digitsPath() else { throw XCTSkip("sklearn digits not found: run `make deps`") }
        let dir = NSTemporaryDirectory() + "ssl-tb-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runProcess(sslDistBinary(), ["train", "--model", "m2", "--data", "csv:\(digits)", "--labels-per-class", "3",
                                                 "--labelled-batch-size", "30", "--steps", "48", "--hidden", "32", "--latent", "4",
                                                 "--warmup-steps", "40", "--run-dir", dir])
        XCTAssertEqual(r.status, 0, r.output)
        let python = try reader()
        let script = """
        import json, sys
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        acc = EventAccumulator(sys.argv[1]); acc.Reload()
        print(json.dumps({t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}))
        """
        let read = try runProcess(python, ["-c", script, "\(dir)/tb"], timeout: 120)
        XCTAssertEqual(read.status, 0, read.output)
        let scalars = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(read.stdout.utf8)) as? [String: [[Double]]], read.output)
        for tag in ["loss/labelled_bound", "loss/unlabelled_bound", "loss/cross_entropy", "beta", "accuracy/validation",
                    "throughput/examples_per_second", "learning_rate"] {
            XCTAssertEqual(scalars[tag]?.count, 4, "\(tag): \(scalars.keys.sorted())")
        }
        // The same numbers as metrics.jsonl, step by step (float32 in the event file).
        let records = try metricsRecords(dir)
        for (i, rec) in records.enumerated() {
            let step = Double(rec["step"] as! Int)
            for (tag, key) in [("accuracy/validation", "validation_accuracy"), ("loss/labelled_bound", "labelled_bound"), ("beta", "beta")] {
                let point = try XCTUnwrap(scalars[tag]?[i])
                XCTAssertEqual(point[0], step)
                XCTAssertEqual(point[1], rec[key] as! Double, accuracy: 1e-6 * max(1, abs(rec[key] as! Double)), tag)
            }
        }
        XCTAssertEqual(scalars["beta"]?.map { $0[1] }, [0.275, 0.575, 0.875, 1.0].map { Double(Float($0)) })
    }
}
