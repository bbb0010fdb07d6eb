import Foundation
import SSLData
import SSLTraining
import TestSupport
import XCTest

/// `ssl-dist predict` and cube data: agreement with `evaluate`, the same files on 1 and 2 ranks, the formats read
/// back, class maps pixel for pixel, and bad input refused by name with no partial file.
final class PredictTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("ssl-predict") }
    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(atPath: dir) } }

    func ssl(_ args: [String]) throws -> ProcessResult { try runProcess(sslDistBinary(), args, timeout: 300) }

    /// A short digits run of `model` in `runDir`.
    func trainDigits(_ model: String, _ runDir: String) throws {
        guard let digits = digitsPath() else { throw XCTSkip("sklearn digits not found: run `make deps`") }
        let r = try ssl(shortDigitsRun(model: model, data: "csv:\(digits)", runDir: runDir, steps: 150))
        XCTAssertEqual(r.status, 0, r.output)
    }

    func testPredictionsOfTheTestSplitCountBackToEvaluatesConfusionMatrix() throws {
        for model in ["m2", "adgm"] {
            let run = "\(dir!)/\(model)"
            try trainDigits(model, run)
            let p = try ssl(["predict", "--checkpoint", run, "--split", "test", "--out", "\(dir!)/\(model).csv", "--blas-threads", "1"])
            XCTAssertEqual(p.status, 0, p.output)
            let e = try ssl(["evaluate", "--checkpoint", run, "--json", "--blas-threads", "1"])
            let confusion = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any])?["confusion"] as? [[Int]])
            let rows = try String(contentsOfFile: "\(dir!)/\(model).csv", encoding: .utf8).split(separator: "\n").dropFirst()
            // Each predicted class counts into its column; the rows' totals are the true class counts.
            var predicted = [Int](repeating: 0, count: confusion.count)
            for row in rows {
                let cells = row.split(separator: ",")
                predicted[Int(cells[1])!] += 1
                let sum = cells.dropFirst(2).reduce(0.0) { $0 + Double($1)! }
                XCTAssertEqual(sum, 1, accuracy: 1e-5, "probabilities of \(cells[0])")
            }
            XCTAssertEqual(predicted, (0..<confusion.count).map { c in confusion.reduce(0) { $0 + $1[c] } }, model)
            XCTAssertEqual(rows.count, confusion.joined().reduce(0, +))
        }
    }

    func testOneAndTwoRanksWriteTheSameBytesAndTheFilesReadBack() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun") else { throw XCTSkip("mpirun not found: run `make deps`") }
        let run = "\(dir!)/adgm"
        try trainDigits("adgm", run)
        for n in [1, 2] {
            let r = try mpirun(["-np", String(n), sslDistBinary(), "predict", "--checkpoint", run, "--out", "\(dir!)/c\(n).npy",
                                "--probs-out", "\(dir!)/p\(n).npy", "--chunk", "100"])
            XCTAssertEqual(r.status, 0, r.output)
            let csv = try mpirun(["-np", String(n), sslDistBinary(), "predict", "--checkpoint", run, "--out", "\(dir!)/c\(n).csv", "--chunk", "70"])
            XCTAssertEqual(csv.status, 0, csv.output)
        }
        for f in ["c%d.npy", "p%d.npy", "c%d.csv"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir!)/" + String(format: f, 1))),
                           try Data(contentsOf: URL(fileURLWithPath: "\(dir!)/" + String(format: f, 2))), f)
        }
        // The project's reader; every probability row sums to 1; the classes are the rows' argmax.
        let classes = try NPYReader.read("\(dir!)/c1.npy"), probs = try NPYReader.read("\(dir!)/p1.npy")
        XCTAssertEqual(classes.dtype, .int64)
        XCTAssertEqual(probs.shape, [1797, 10])
        for i in 0..<1797 {
            let row = Array(probs.values[(10 * i)..<(10 * i + 10)])
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(Int(classes.values[i]), row.indices.max { row[$0] < row[$1] }!)
        }
        // And NumPy's, where it is installed (it comes with python3-sklearn).
        let numpy = try runProcess("/usr/bin/python3", ["-c", "import numpy as n; c = n.load('\(dir!)/c1.npy'); p = n.load('\(dir!)/p1.npy'); "
                                                         + "assert c.dtype == n.int64 and p.dtype == n.float32 and p.shape == (1797, 10); "
                                                         + "assert (p.argmax(1) == c).all(); print('numpy ok')"])
        if numpy.stderr.contains("No module named 'numpy'") { print("note: numpy not installed; the NumPy read-back is skipped") } else {
            XCTAssertTrue(numpy.stdout.contains("numpy ok"), numpy.output)
        }
    }

    func testCubeTrainingPredictionAndMap() throws {
        let truth = try makeSyntheticCube(dir, height: 40, width: 50, bands: 30, labelled: 0.05)
        let cube = "cube:\(dir!)/X.npy,\(dir!)/GT.npy", run = "\(dir!)/cube-m2"
        let t = try ssl(["train", "--model", "m2", "--data", cube, "--likelihood", "gaussian", "--standardize", "--clip-grad-norm", "5",
                         "--labels", "40", "--label-sampling", "proportional", "--class-prior", "labelled",
                         "--labelled-batch-size", "20", "--batch-size", "100", "--hidden", "64", "--latent", "4", "--lr", "1e-3",
                         "--steps", "400", "--quiet", "--blas-threads", "1", "--run-dir", run])
        XCTAssertEqual(t.status, 0, t.output)
        // Every pixel but the held-out labelled ones is a training example, most of them without a label.
        XCTAssertTrue(t.stdout.contains("(labelled 40, unlabelled 19"), t.stdout)
        let map = "\(dir!)/map.png"
        let p = try ssl(["predict", "--checkpoint", run, "--data", cube, "--out", "\(dir!)/classes.npy", "--map", map, "--legend"])
        XCTAssertEqual(p.status, 0, p.output)
        // One numbering for cube users: classes.npy is the H×W map in the ground truth's numbering (1…C), so it
        // compares with GT.npy directly.
        XCTAssertTrue(p.stderr.contains("classes numbered as the ground truth (1…4, 0: not predicted), 40×50"), p.stderr)
        let written = try NPYReader.read("\(dir!)/classes.npy")
        XCTAssertEqual(written.shape, [40, 50])
        let classes = written.values.map { Int32($0) - 1 }
        XCTAssertTrue(classes.allSatisfy { (0..<4).contains($0) }, "every pixel predicted, 1…4")
        let gt = try NPYReader.read("\(dir!)/GT.npy").values.map { Int32($0) }
        let labelled = gt.indices.filter { gt[$0] > 0 }
        let agree = labelled.filter { Int32(written.values[$0]) == gt[$0] }.count
        XCTAssertGreaterThan(Double(agree) / Double(labelled.count), 0.6, "classes.npy == GT.npy on most labelled pixels")
        // The map decodes to the predicted classes pixel for pixel (the legend strip sits below the 40 map rows).
        let image = try RGBImage.readPNG(map)
        XCTAssertEqual(image.width, 50)
        let decoded = ClassMap.classes(of: image, classCount: 4)
        for i in 0..<2000 { XCTAssertEqual(decoded[i], classes[i], "pixel \(i)") }
        // The evaluation table numbers the classes as the ground truth does.
        let e = try ssl(["evaluate", "--checkpoint", run])
        XCTAssertEqual(e.status, 0, e.output)
        XCTAssertTrue(e.stdout.contains("\n      4  ") && !e.stdout.contains("\n      0  "), e.stdout)
        let comparison = try RGBImage.readPNG("\(dir!)/map-vs-ground-truth.png")
        XCTAssertEqual(comparison.width, 3 * 50 + 8)
        var right = [Int](repeating: 0, count: 4), total = [Int](repeating: 0, count: 4)
        for (p, t) in zip(classes, truth) { total[Int(t)] += 1; if p == t { right[Int(t)] += 1 } }
        let recalls = (0..<4).map { Double(right[$0]) / Double(max(1, total[$0])) }
        let balanced = recalls.reduce(0, +) / 4
        print(String(format: "cube 40×50, 40 labels: balanced accuracy over every pixel %.3f (recalls %@)", balanced,
                     recalls.map { String(format: "%.2f", $0) }.joined(separator: " ")))
        XCTAssertGreaterThan(balanced, 0.6, "the cube's classes are easy to tell apart")
    }

    func testCubeInputIsChecked() throws {
        try makeSyntheticCube(dir, height: 8, width: 9, bands: 5, labelled: 0.5)
        try NPYWriter.write("\(dir!)/GT-wrong.npy", int64: [Int64](repeating: 1, count: 9 * 8), shape: [9, 8])
        let mismatch = try ssl(["train", "--model", "m2", "--data", "cube:\(dir!)/X.npy,\(dir!)/GT-wrong.npy", "--steps", "1"])
        XCTAssertNotEqual(mismatch.status, 0)
        XCTAssertTrue(mismatch.stderr.contains("GT-wrong.npy") && mismatch.stderr.contains("is 9 × 8 pixels but"), mismatch.stderr)
        try NPYWriter.write("\(dir!)/GT-flat.npy", int64: [Int64](repeating: 1, count: 72), shape: [72])
        let flat = try ssl(["train", "--model", "m2", "--data", "cube:\(dir!)/X.npy,\(dir!)/GT-flat.npy", "--steps", "1"])
        XCTAssertTrue(flat.stderr.contains("expected a map height × width"), flat.stderr)
        // A ground truth of zeros only: M1 trains on every pixel; a classifier refuses.
        try NPYWriter.write("\(dir!)/GT-zero.npy", int64: [Int64](repeating: 0, count: 72), shape: [8, 9])
        let zeros = "cube:\(dir!)/X.npy,\(dir!)/GT-zero.npy"
        let m1 = try ssl(["train", "--model", "m1", "--data", zeros, "--likelihood", "gaussian", "--standardize", "--hidden", "8",
                          "--latent", "2", "--batch-size", "10", "--steps", "5", "--quiet", "--run-dir", "\(dir!)/m1"])
        XCTAssertEqual(m1.status, 0, m1.output)
        let m2 = try ssl(["train", "--model", "m2", "--data", zeros, "--likelihood", "gaussian", "--steps", "5"])
        XCTAssertTrue(m2.stderr.contains("no example has a label"), m2.stderr)
        for r in [mismatch, flat, m2] { XCTAssertFalse(r.output.contains("Fatal error"), r.output) }
    }

    func testBadInputNamesTheFlagOrFileAndLeavesNoPartialFile() throws {
        try makeSyntheticCube(dir, height: 10, width: 10, bands: 6, labelled: 0.5)
        let cube = "cube:\(dir!)/X.npy,\(dir!)/GT.npy", run = "\(dir!)/m2"
        let trained = try ssl(["train", "--model", "m2", "--data", cube, "--likelihood", "gaussian", "--standardize", "--hidden", "8",
                               "--latent", "2", "--labels", "20", "--label-sampling", "proportional", "--labelled-batch-size", "10", "--batch-size", "20", "--steps", "5",
                               "--quiet", "--run-dir", run])
        XCTAssertEqual(trained.status, 0, trained.output)
        // Labels above the model's classes (a ground truth with a 9th class).
        try FileManager.default.createDirectory(atPath: "\(dir!)/above", withIntermediateDirectories: true)
        try makeSyntheticCube("\(dir!)/above", height: 10, width: 10, bands: 6, labelled: 0.5, groundTruthClasses: 9)
        let above = try ssl(["predict", "--checkpoint", run, "--data", "cube:\(dir!)/above/X.npy,\(dir!)/above/GT.npy",
                             "--out", "\(dir!)/a.npy"])
        XCTAssertNotEqual(above.status, 0)
        XCTAssertTrue(above.stderr.contains("has label 8 but the model knows 4 classes"), above.stderr)
        // Another feature count.
        try FileManager.default.createDirectory(atPath: "\(dir!)/other", withIntermediateDirectories: true)
        try makeSyntheticCube("\(dir!)/other", height: 4, width: 4, bands: 7, labelled: 0.5)
        let other = try ssl(["predict", "--checkpoint", run, "--data", "cube:\(dir!)/other/X.npy,\(dir!)/other/GT.npy", "--out", "\(dir!)/b.npy"])
        XCTAssertTrue(other.stderr.contains("--data") && other.stderr.contains("has 7 features per example; the model takes 6"), other.stderr)
        // An M1 has no classifier.
        let m1 = "\(dir!)/m1"
        XCTAssertEqual(try ssl(["train", "--model", "m1", "--data", cube, "--likelihood", "gaussian", "--hidden", "8", "--latent", "2",
                                "--batch-size", "20", "--steps", "3", "--quiet", "--run-dir", m1]).status, 0)
        let noClassifier = try ssl(["predict", "--checkpoint", m1, "--data", cube, "--out", "\(dir!)/c.npy"])
        XCTAssertTrue(noClassifier.stderr.contains("--checkpoint") && noClassifier.stderr.contains("no classifier"), noClassifier.stderr)
        // An output folder that does not exist.
        let unwritable = try ssl(["predict", "--checkpoint", run, "--data", cube, "--out", "\(dir!)/missing/d.npy"])
        XCTAssertTrue(unwritable.stderr.contains("--out") && unwritable.stderr.contains("cannot write"), unwritable.stderr)
        // A map that cannot be written: no classes file either.
        let badMap = try ssl(["predict", "--checkpoint", run, "--data", cube, "--out", "\(dir!)/e.npy", "--map", "\(dir!)/missing/m.png"])
        XCTAssertTrue(badMap.stderr.contains("--map") && badMap.stderr.contains("nothing was written"), badMap.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir!)/e.npy"), "no classes file beside a map that failed")
        for r in [above, other, noClassifier, unwritable, badMap] {
            XCTAssertNotEqual(r.status, 0)
            XCTAssertFalse(r.output.contains("Fatal error"), r.output)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".npy") && !["X.npy", "GT.npy"].contains($0) || $0.hasPrefix(".") }
        XCTAssertEqual(left, [], "no partial or temporary prediction file")
    }
}
