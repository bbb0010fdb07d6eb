import Foundation
import SSLCore
import SSLData
import SSLDistributed
import SSLTraining
import TestSupport
import XCTest

/// evaluate, sample and interpolate on small checkpoints trained on sklearn's 8×8 digits.
final class ModelUseTests: XCTestCase {
    static let dir = NSTemporaryDirectory() + "ssl-use-\(getpid())"
    static var trained: [String: String] = [:]

    /// Trains (once per test process) a short run of `model` and returns its run directory.
    func checkpoint(_ model: String) throws -> String {
        if let d = Self.trained[model] { return d }
        guard let digits = digitsPath() else { throw XCTSkip("sklearn digits not found: run `make deps`") }
        let runDir = "\(Self.dir)/\(model)"
        let stacked = model == "m1m2" ? ["--m1", try checkpoint("m1")] : []
        let r = try runProcess(sslDistBinary(), shortDigitsRun(model: model, data: "csv:\(digits)", runDir: runDir, steps: 150)
                               + ["--lr", "1e-3", "--validate-every", "1000", "--seed", "5", "--blas-threads", "1"] + stacked)
        XCTAssertEqual(r.status, 0, r.output)
        Self.trained[model] = runDir
        return runDir
    }

    func evaluate(_ runDir: String, ranks: Int) throws -> [String: Any] {
        let r = try mpirun(["-np", String(ranks), sslDistBinary(), "evaluate", "--checkpoint", runDir, "--json", "--blas-threads", "1"])
        XCTAssertEqual(r.status, 0, r.output)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.output)
    }

    func testEvaluateGivesTheSameNumbersOnOneAndTwoRanks() throws {
        for model in ["m2", "adgm", "supervised"] {
            let runDir = try checkpoint(model)
            let one = try evaluate(runDir, ranks: 1), two = try evaluate(runDir, ranks: 2)
            let confusion = try XCTUnwrap(one["confusion"] as? [[Int]])
            XCTAssertEqual(confusion, two["confusion"] as? [[Int]], model)
            XCTAssertEqual(one["accuracy"] as? Double, two["accuracy"] as? Double, model)
            XCTAssertEqual(confusion.flatMap { $0 }.reduce(0, +), one["examples"] as? Int, "confusion totals = split size")
            XCTAssertEqual(one["examples"] as? Int, 359)
            if model == "supervised" {
                XCTAssertNil(one["labelled_bound"])
            } else {
                let l1 = try XCTUnwrap(one["labelled_bound"] as? Double), l2 = try XCTUnwrap(two["labelled_bound"] as? Double)
                let u1 = try XCTUnwrap(one["unlabelled_bound"] as? Double), u2 = try XCTUnwrap(two["unlabelled_bound"] as? Double)
                XCTAssertEqual(l1, l2, model)  // bit for bit: fixed chunks, exact reduction
                XCTAssertEqual(u1, u2, model)
                XCTAssertGreaterThan(l1, 0); XCTAssertGreaterThan(u1, 0)
            }
            if model == "adgm" { XCTAssertEqual(one["eval_samples"] as? Int, 10) }
            // The classifier's accuracy matches what training reported for the same checkpoint and split.
            let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(runDir)/results.json"))) as! [String: Any]
            XCTAssertEqual(one["accuracy"] as? Double, results["test_accuracy"] as? Double, model)
        }
    }

    /// M1's features as .npy: the posterior means equal M1's encoder on the same examples, samples scatter around them,
    /// and the labels file matches the data.
    func testFeaturesOfAnM1() throws {
        let runDir = try checkpoint("m1")
        let out = "\(Self.dir)/features.npy", labels = "\(Self.dir)/labels.npy", sampled = "\(Self.dir)/sampled.npy"
        var r = try runProcess(sslDistBinary(), ["features", "--checkpoint", runDir, "--out", out, "--labels-out", labels])
        XCTAssertEqual(r.status, 0, r.output)
        r = try runProcess(sslDistBinary(), ["features", "--checkpoint", runDir, "--out", sampled, "--sample"])
        XCTAssertEqual(r.status, 0, r.output)
        let means = try NPYReader.read(out), y = try NPYReader.read(labels), samples = try NPYReader.read(sampled)
        XCTAssertEqual(means.shape, [1797, 8]); XCTAssertEqual(y.shape, [1797]); XCTAssertEqual(samples.shape, [1797, 8])
        // The same means through the library: M1's encoder on the first rows of the data, scaled as in training.
        let loaded = try LoadedModel.load(runDir, comm: SingleProcessCommunicator())
        let m1 = try XCTUnwrap(loaded.model as? M1)
        let data = try DataSpec(parsing: "csv:\(digitsPath()!)").load().train
        let scale = data.maxFeature
        let x = Buffer(count: 10 * 64)
        for i in 0..<(10 * 64) { x[i] = data.features[i] / scale }
        let (mu, _) = m1.encode(Mat(x.pointer, 10, 64), store: loaded.store)
        for i in 0..<10 { for j in 0..<8 { XCTAssertEqual(Float(means.values[i * 8 + j]), mu[i, j], accuracy: 1e-5) } }
        XCTAssertEqual(y.values.prefix(20).map { Int32($0) }, Array(data.labels.prefix(20)))
        XCTAssertFalse(zip(samples.values, means.values).allSatisfy { $0 == $1 }, "samples should differ from means")
        // An m2 checkpoint has no features to give.
        r = try runProcess(sslDistBinary(), ["features", "--checkpoint", try checkpoint("m2"), "--out", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("features come from an m1 model"), r.output)
    }

    /// M1 trains on data without a single label (and ignores the labels of data that have some); the other models
    /// refuse such data by name.
    func testM1TrainsOnDataWithoutLabels() throws {
        guard let digits = digitsPath() else { throw XCTSkip("sklearn digits not found: run `make deps`") }
        let text = try String(decoding: readFileBytes(digits), as: UTF8.self)
        let unlabelled = text.split(separator: "\n").map { line -> String in
            var cells = line.split(separator: ",").map(String.init); cells[cells.count - 1] = "-1"; return cells.joined(separator: ",")
        }.joined(separator: "\n")
        let path = "\(Self.dir)/unlabelled.csv"
        try FileManager.default.createDirectory(atPath: Self.dir, withIntermediateDirectories: true)
        try unlabelled.write(toFile: path, atomically: true, encoding: .utf8)
        let base = ["train", "--data", "csv:\(path)", "--scale", "16", "--hidden", "32", "--latent", "4", "--steps", "30",
                    "--batch-size", "50", "--quiet", "--blas-threads", "1"]
        var r = try runProcess(sslDistBinary(), base + ["--model", "m1", "--run-dir", "\(Self.dir)/m1-unlabelled"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.contains("train 1797 (labelled 0, unlabelled 1797 in 256 shards)") && r.stdout.contains("no test examples"), r.output)
        r = try runProcess(sslDistBinary(), base + ["--model", "m2", "--run-dir", "\(Self.dir)/m2-unlabelled"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("no example has a label") && r.stderr.contains("unlabelled.csv") && r.stderr.contains("m1"), r.output)
    }

    /// The run directory names the labelled examples (labelled.txt): the same 3 per class for every model of a seed,
    /// other ones for another seed, none for M1.
    func testRunDirectoryNamesTheLabelledExamples() throws {
        func labelled(_ runDir: String) throws -> [Int] {
            try String(contentsOfFile: "\(runDir)/labelled.txt", encoding: .utf8).split(separator: "\n").map { Int($0)! }
        }
        let m2 = try labelled(try checkpoint("m2"))
        XCTAssertEqual(m2.count, 30)
        XCTAssertEqual(Set(m2).count, 30, "distinct")
        XCTAssertEqual(m2, try labelled(try checkpoint("supervised")), "same seed, same labels")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(try checkpoint("m1"))/labelled.txt"), "M1 has no labels")
        let other = "\(Self.dir)/m2-seed6"
        let r = try runProcess(sslDistBinary(), shortDigitsRun(model: "m2", runDir: other, steps: 1) + ["--seed", "6"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertNotEqual(m2, try labelled(other), "another seed, other labels")
    }

    /// `--labelled-file` trains on a given list (a run's labelled.txt): the run's labels are those whatever its seed;
    /// a bad list is an error naming the file and the line, not a crash.
    func testLabelledFileGivesTheLabelledExamples() throws {
        let source = "\(try checkpoint("m2"))/labelled.txt"
        let run = "\(Self.dir)/m2-given"
        let r = try runProcess(sslDistBinary(), shortDigitsRun(model: "m2", runDir: run, steps: 1) + ["--seed", "6", "--labelled-file", source])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(try String(contentsOfFile: "\(run)/labelled.txt", encoding: .utf8), try String(contentsOfFile: source, encoding: .utf8))
        XCTAssertTrue(r.stdout.contains("labelled 30,"), r.output)
        for (name, text, expected) in [("range", "3\n99999\n", "line 2: 99999 is not a position"), ("twice", "3\n3\n", "line 2: training example 3 is listed twice"),
                                       ("word", "3\nabc\n", "line 2: 'abc'"), ("empty", "# none\n", "lists no example")] {
            let f = "\(Self.dir)/bad-\(name).txt"
            try text.write(toFile: f, atomically: true, encoding: .utf8)
            let b = try runProcess(sslDistBinary(), shortDigitsRun(model: "m2", runDir: "\(Self.dir)/bad-\(name)", steps: 1) + ["--labelled-file", f])
            XCTAssertNotEqual(b.status, 0, b.output)
            XCTAssertTrue(b.stderr.contains(f) && b.stderr.contains(expected), b.output)
            XCTAssertFalse(b.output.contains("Fatal error"), b.output)
        }
    }

    /// M1+M2 evaluates on raw data (through M1's encoder), the same on 1 and 2 ranks and as training reported; M1
    /// reports its bound; `--iw` tightens the bound of a trained model.
    func testEvaluateM1M2AndImportanceWeightedBounds() throws {
        let m1m2 = try checkpoint("m1m2")
        let one = try evaluate(m1m2, ranks: 1), two = try evaluate(m1m2, ranks: 2)
        XCTAssertEqual(one["confusion"] as? [[Int]], two["confusion"] as? [[Int]])
        XCTAssertEqual(one["unlabelled_bound"] as? Double, two["unlabelled_bound"] as? Double)
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(m1m2)/results.json"))) as! [String: Any]
        XCTAssertEqual(one["accuracy"] as? Double, results["test_accuracy"] as? Double)
        let m1 = try evaluate(try checkpoint("m1"), ranks: 1)
        XCTAssertNil(m1["accuracy"]); XCTAssertNotNil(m1["unlabelled_bound"])
        for model in ["m1", "m2", "adgm"] {
            let run = try checkpoint(model)
            let r = try runProcess(sslDistBinary(), ["evaluate", "--checkpoint", run, "--json", "--iw", "20", "--blas-threads", "1"])
            XCTAssertEqual(r.status, 0, r.output)
            let iw = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let elbo = try XCTUnwrap((model == "m1" ? m1 : try evaluate(run, ranks: 1))["unlabelled_bound"] as? Double)
            let tighter = try XCTUnwrap(iw["unlabelled_bound"] as? Double)
            print(String(format: "%@ on digits (test): ELBO bound %.3f, IW-20 bound %.3f nats", model, elbo, tighter))
            XCTAssertLessThan(tighter, elbo, model)
            XCTAssertEqual(iw["iw"] as? Int, 20)
        }
    }

    func testSampleWritesThePNGOfTheDecodedMeans() throws {
        let runDir = try checkpoint("m2")
        let out = "\(Self.dir)/grid.png"
        let r = try runProcess(sslDistBinary(), ["sample", "--checkpoint", runDir, "--class", "3", "--count", "6", "--out", out, "--seed", "9"])
        XCTAssertEqual(r.status, 0, r.output)
        let image = try GrayImage.readPNG(out)
        // 6 samples: 3 columns × 2 rows of 8×8 cells with 2-pixel gaps.
        XCTAssertEqual(image.width, 3 * 10 + 2); XCTAssertEqual(image.height, 2 * 10 + 2)
        let loaded = try LoadedModel.load(runDir, comm: SingleProcessCommunicator(), capacity: .init(labelled: 100, unlabelled: 0, evaluation: 100))
        let means = try Generation.decode(loaded, z: Generation.latents(seed: 9, count: 6, dim: 8), labels: [Int32](repeating: 3, count: 6))
        var grid = ImageGrid(rows: 2, cols: 3, cellHeight: 8, cellWidth: 8)
        grid.image = image
        for i in 0..<6 {
            for y in 0..<8 { for x in 0..<8 {
                XCTAssertEqual(grid.pixel(row: i / 3, col: i % 3, x: x, y: y), ImageGrid.pixel(means[i * 64 + y * 8 + x]))
            } }
        }
        let all = try runProcess(sslDistBinary(), ["sample", "--checkpoint", runDir, "--class", "all", "--count", "4", "--out", out])
        XCTAssertEqual(all.status, 0, all.output)
        let allImage = try GrayImage.readPNG(out)
        XCTAssertEqual(allImage.width, 4 * 10 + 2); XCTAssertEqual(allImage.height, 10 * 10 + 2)
    }

    /// M1+M2 and M1+SDGM draw through both of their models (z₂ and y → the inner model's mean of z₁ → M1's decoder;
    /// SDGM's a at the mean of p(a|y,z)), and what they draw for a class is what their own classifier calls that class
    /// far more often than chance.
    func testStackedSamplesAreImagesOfTheirClass() throws {
        guard let digits = digitsPath() else { throw XCTSkip("sklearn digits not found: run `make deps`") }
        // Longer than the shared short runs: an M1 with its warm-up, and each stacked model on it with its recipe.
        let m1 = "\(Self.dir)/m1-long"
        let common = ["--data", "csv:\(digits)", "--labels-per-class", "10", "--batch-size", "100", "--labelled-batch-size", "100",
                      "--validate-every", "1000", "--seed", "5", "--blas-threads", "1", "--quiet"]
        let t = try runProcess(sslDistBinary(), ["train", "--model", "m1", "--hidden", "200,200", "--latent", "16", "--epochs", "60",
                                                 "--warmup-epochs", "20", "--run-dir", m1] + common)
        XCTAssertEqual(t.status, 0, t.output)
        for model in ["m1m2", "m1sdgm"] {
            let runDir = "\(Self.dir)/\(model)-long"
            let t = try runProcess(sslDistBinary(), ["train", "--model", model, "--m1", m1, "--hidden", "200", "--latent", "8",
                                                     "--auxiliary", "8", "--epochs", "60", "--run-dir", runDir] + common)
            XCTAssertEqual(t.status, 0, t.output)
            let out = "\(Self.dir)/\(model)-grid.png"
            let r = try runProcess(sslDistBinary(), ["sample", "--checkpoint", runDir, "--class", "all", "--count", "5", "--out", out])
            XCTAssertEqual(r.status, 0, r.output)
            let image = try GrayImage.readPNG(out)
            XCTAssertEqual(image.width, 5 * 10 + 2); XCTAssertEqual(image.height, 10 * 10 + 2)
            let agree = try samplesClassifiedAsTheirClass(runDir)
            print("\(model) on digits: \(agree.count) of \(agree.of) samples classified as the class they were drawn for")
            XCTAssertGreaterThan(Double(agree.count) / Double(agree.of), 0.5, "\(model): chance is 0.1")
        }
    }

    /// Decodes 20 samples per class from `runDir`'s model and counts those its own classifier puts in their class.
    func samplesClassifiedAsTheirClass(_ runDir: String) throws -> (count: Int, of: Int) {
        let loaded = try LoadedModel.load(runDir, comm: SingleProcessCommunicator(), capacity: .init(labelled: 200, unlabelled: 0, evaluation: 200))
        let k = loaded.modelConfig.classes, perClass = 20, n = k * perClass, d = loaded.modelConfig.inputDim
        let labels = (0..<n).map { Int32($0 / perClass) }
        var means = try Generation.decode(loaded, z: Generation.latents(seed: 4, count: n, dim: loaded.modelConfig.latent), labels: labels)
        XCTAssertTrue(means.allSatisfy { $0 > 0 && $0 < 1 }, "M1's Bernoulli means lie in (0, 1)")
        let classifier = try XCTUnwrap(loaded.model as? Classifier)
        var probs = [Float](repeating: 0, count: n * k)
        let ids = Array(0..<n)
        means.withUnsafeMutableBufferPointer { mp in
            probs.withUnsafeMutableBufferPointer { pp in
                ids.withUnsafeBufferPointer {
                    classifier.classify(Mat(mp.baseAddress!, n, d), ids: $0, store: loaded.store, noise: NoiseSource(seed: 1),
                                        probs: Mat(pp.baseAddress!, n, k))
                }
            }
        }
        return ((0..<n).filter { i in (0..<k).max { probs[i * k + $0] < probs[i * k + $1] }! == Int(labels[i]) }.count, n)
    }

    func testInterpolateWritesAStripAndFrames() throws {
        let runDir = try checkpoint("adgm")
        let out = "\(Self.dir)/strip.png", frames = "\(Self.dir)/frames"
        let r = try runProcess(sslDistBinary(), ["interpolate", "--checkpoint", runDir, "--from", "3", "--to", "17", "--steps", "7",
                                                 "--out", out, "--frames", frames])
        XCTAssertEqual(r.status, 0, r.output)
        let strip = try GrayImage.readPNG(out)
        XCTAssertEqual(strip.width, 7 * 10 + 2); XCTAssertEqual(strip.height, 12)
        for t in 0..<7 {
            let frame = try GrayImage.readPNG("\(frames)/" + String(format: "frame-%03d.png", t))
            XCTAssertEqual(frame.width, 8); XCTAssertEqual(frame.height, 8)
            var grid = ImageGrid(rows: 1, cols: 7, cellHeight: 8, cellWidth: 8); grid.image = strip
            for y in 0..<8 { for x in 0..<8 { XCTAssertEqual(frame.pixels[y * 8 + x], grid.pixel(row: 0, col: t, x: x, y: y)) } }
        }
        let bad = try runProcess(sslDistBinary(), ["interpolate", "--checkpoint", runDir, "--from", "0", "--to", "5000", "--out", out])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--to 5000: the test split"), bad.stderr)
    }

    func testSupervisedCannotSampleAndStdoutTerminalIsRefused() throws {
        let sup = try runProcess(sslDistBinary(), ["sample", "--checkpoint", try checkpoint("supervised"), "--class", "1", "--out", "\(Self.dir)/x.png"])
        XCTAssertNotEqual(sup.status, 0)
        XCTAssertTrue(sup.stderr.contains("no generative side"), sup.stderr)
        // Under a pseudo-terminal (script(1)), `--out -` is refused instead of spraying PNG bytes on the screen.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("script(1) not found") }
        let cmd = "\(sslDistBinary()) sample --checkpoint \(try checkpoint("m2")) --class 1 --out -"
        let tty = try runProcess("/usr/bin/script", ["-qec", cmd, "/dev/null"], timeout: 60)
        XCTAssertNotEqual(tty.status, 0, tty.output)
        XCTAssertTrue(tty.output.contains("standard output is a terminal"), tty.output)
    }
}
