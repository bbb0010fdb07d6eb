import Foundation
import SSLCore
import SSLTemplate
import SSLData
import SSLTraining
import TestSupport
import XCTest

/// `ssl-dist template` through the binary: a face recovered from noisy shifted copies, the bound rising, 1 vs 3 ranks,
/// bad input. (The exercise's exact values are checked in SSLCoreTests.ShiftedTemplateTests.)
final class TemplateTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("ssl-template") }
    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(atPath: dir) } }

    let h = 16, w = 36, fw = 8, k = 240

    /// A smooth face and background, each image the face at a random shift plus noise (σ 0.4), as H×W×K; returns
    /// the face and the shifts.
    func makeImages() throws -> (face: [Double], shifts: [Int]) {
        let noise = NoiseSource(seed: 11)
        var face = [Double](repeating: 0, count: h * fw), background = [Double](repeating: 0, count: h * w)
        for i in 0..<h {
            for m in 0..<fw { face[i * fw + m] = 3 * sin(Double(i) / 3) * cos(Double(m) / 2.5) + 2 }
            for j in 0..<w { background[i * w + j] = cos(Double(j) / 6) + 0.5 * sin(Double(i) / 4) }
        }
        var x = [Float](repeating: 0, count: h * w * k), shifts: [Int] = []
        var g = noise.generator(stream: .dataSplit, 5)
        var e = [Float](repeating: 0, count: h * w)
        for n in 0..<k {
            let d = g.nextInt(w - fw + 1)
            shifts.append(d)
            e.withUnsafeMutableBufferPointer { noise.normals(step: 0, example: n, stream: .dataSplit, population: .evaluation, into: $0.baseAddress!, count: h * w) }
            for i in 0..<h {
                for j in 0..<w {
                    let mean = j >= d && j < d + fw ? face[i * fw + j - d] : background[i * w + j]
                    x[(i * w + j) * k + n] = Float(mean) + 0.4 * e[i * w + j]
                }
            }
        }
        try NPYWriter.write("\(dir!)/X.npy", float32: x, shape: [h, w, k])
        return (face, shifts)
    }

    func results(_ runDir: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(runDir)/results.json"))) as! [String: Any]
    }

    /// The bound after every iteration of the start the run kept.
    func bounds(_ runDir: String) throws -> [Double] {
        let kept = try results(runDir)["restart"] as! Int
        return try metricsRecords(runDir).compactMap { $0["restart"] as! Int == kept ? ($0["bound"] as! Double) : nil }
    }

    func testRecoversTheFaceAndTheShifts() throws {
        let (face, shifts) = try makeImages()
        let run = "\(dir!)/run"
        let r = try runProcess(sslDistBinary(), ["template", "--data", "npy:\(dir!)/X.npy", "--face-width", String(fw),
                                                 "--iterations", "200", "--run-dir", run, "--seed", "3"])
        XCTAssertEqual(r.status, 0, r.output)
        let f = try NPYReader.read("\(run)/F.npy").values.map(Double.init)
        let meanA = f.reduce(0, +) / Double(f.count), meanB = face.reduce(0, +) / Double(face.count)
        let cov = zip(f, face).reduce(0) { $0 + ($1.0 - meanA) * ($1.1 - meanB) }
        let corr = cov / (f.reduce(0) { $0 + ($1 - meanA) * ($1 - meanA) } * face.reduce(0) { $0 + ($1 - meanB) * ($1 - meanB) }).squareRoot()
        // The shifts: the most likely d of each image from the posterior over shifts (argmax q = argmax of the E-step).
        let model = try loadModel(run)
        let images = try TemplateEM.load("\(dir!)/X.npy", layout: .hwk).images
        var right = 0
        var lp = [Double](repeating: 0, count: model.shifts)
        for n in 0..<k {
            images.withUnsafeBufferPointer { model.logLikelihoods($0.baseAddress! + n * h * w, into: &lp) }
            let best = lp.indices.max { lp[$0] + log(model.prior[$0]) < lp[$1] + log(model.prior[$1]) }!
            if best == shifts[n] { right += 1 }
        }
        print(String(format: "template: face correlation %.4f, shifts right %d of %d", corr, right, k))
        XCTAssertGreaterThanOrEqual(corr, 0.95)
        XCTAssertGreaterThanOrEqual(Double(right) / Double(k), 0.95)
        let b = try bounds(run)
        XCTAssertTrue(zip(b, b.dropFirst()).allSatisfy { $1 >= $0 - 1e-9 * abs($0) }, "the bound never falls: \(b)")
        // The first three iterations from the random start raise it strictly.
        XCTAssertTrue(b.count >= 4 && b[1] > b[0] && b[2] > b[1] && b[3] > b[2], "\(b.prefix(4))")
        for png in ["face.png", "background.png", "posterior.png"] {
            XCTAssertNoThrow(try GrayImageProbe.size("\(run)/\(png)"), png)
        }
        // Five starts (the default); the run keeps the one with the highest bound, and that start alone (its seed,
        // one start) gives the same face bit for bit.
        let res = try results(run), finals = try XCTUnwrap(res["final_bounds"] as? [Double]), kept = res["restart"] as! Int
        XCTAssertEqual(finals.count, 5)
        XCTAssertEqual(res["bound"] as! Double, finals.max()!)
        XCTAssertEqual(finals[kept], finals.max()!)
        let alone = "\(dir!)/alone"
        let one = try runProcess(sslDistBinary(), ["template", "--data", "npy:\(dir!)/X.npy", "--face-width", String(fw), "--iterations", "200",
                                                   "--run-dir", alone, "--seed", String(3 + kept), "--restarts", "1"])
        XCTAssertEqual(one.status, 0, one.output)
        XCTAssertEqual(try NPYReader.read("\(alone)/F.npy").values, try NPYReader.read("\(run)/F.npy").values)
    }

    func loadModel(_ run: String) throws -> ShiftedTemplate {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(run)/results.json"))) as! [String: Any]
        return ShiftedTemplate(face: try NPYReader.read("\(run)/F.npy").values.map(Double.init),
                               background: try NPYReader.read("\(run)/B.npy").values.map(Double.init),
                               prior: try NPYReader.read("\(run)/a.npy").values.map(Double.init), sigma: json["sigma"] as! Double,
                               height: h, width: w, faceWidth: fw)
    }

    func testOneAndThreeRanksAgreeAndAGrownSetStartsFromAPreviousRun() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun") else { throw XCTSkip("mpirun not found: run `make deps`") }
        _ = try makeImages()
        var params: [[Float]] = []
        for n in [1, 3] {
            let run = "\(dir!)/r\(n)"
            let r = try mpirun(["-np", String(n), sslDistBinary(), "template", "--data", "\(dir!)/X.npy", "--face-width", String(fw),
                                "--iterations", "15", "--tolerance", "0", "--run-dir", run])
            XCTAssertEqual(r.status, 0, r.output)
            params.append(try ["F.npy", "B.npy", "a.npy"].flatMap { try NPYReader.read("\(run)/\($0)").values })
        }
        let d = relativeDifference(params[0], params[1])
        print(String(format: "template: 1 vs 3 ranks after 15 iterations: relative difference %.3g", d.relative))
        XCTAssertLessThanOrEqual(d.relative, 1e-5)
        // Continuing from the 1-rank run: its bound starts where that run ended, and rises.
        let more = try runProcess(sslDistBinary(), ["template", "--data", "\(dir!)/X.npy", "--face-width", String(fw), "--iterations", "5",
                                                    "--init", "\(dir!)/r1", "--run-dir", "\(dir!)/more"])
        XCTAssertEqual(more.status, 0, more.output)
        XCTAssertEqual(try bounds("\(dir!)/more").first!, try bounds("\(dir!)/r1").last!, accuracy: 1e-6 * abs(try bounds("\(dir!)/r1").last!))
    }

    /// A template run directory belongs to one run too: a second run is refused, --overwrite moves the first aside.
    func testASecondRunIntoTheSameDirectoryIsRefused() throws {
        _ = try makeImages()
        let args = ["template", "--data", "\(dir!)/X.npy", "--face-width", String(fw), "--iterations", "3", "--restarts", "1",
                    "--run-dir", "\(dir!)/once"]
        XCTAssertEqual(try runProcess(sslDistBinary(), args).status, 0)
        let results = try Data(contentsOf: URL(fileURLWithPath: "\(dir!)/once/results.json"))
        let again = try runProcess(sslDistBinary(), args)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("already holds a run") && again.stderr.contains("--overwrite"), again.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir!)/once/results.json")), results)
        let moved = try runProcess(sslDistBinary(), args + ["--overwrite"])
        XCTAssertEqual(moved.status, 0, moved.output)
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: dir!).contains { $0.hasPrefix("once.replaced-") })
    }

    func testBadInputIsRefusedClearly() throws {
        _ = try makeImages()
        let wide = try runProcess(sslDistBinary(), ["template", "--data", "\(dir!)/X.npy", "--face-width", "37", "--run-dir", "\(dir!)/a"])
        XCTAssertTrue(wide.stderr.contains("--face-width") && wide.stderr.contains("between 1 and the images' width 36"), wide.stderr)
        try NPYWriter.write("\(dir!)/flat.npy", float32: [1, 2, 3, 4], shape: [2, 2])
        let flat = try runProcess(sslDistBinary(), ["template", "--data", "\(dir!)/flat.npy", "--face-width", "1", "--run-dir", "\(dir!)/b"])
        XCTAssertTrue(flat.stderr.contains("flat.npy") && flat.stderr.contains("expected a 3-dimensional array"), flat.stderr)
        try NPYWriter.write("\(dir!)/nan.npy", float32: [1, .nan, 3, 4, 5, 6, 7, 8], shape: [2, 2, 2])
        let nan = try runProcess(sslDistBinary(), ["template", "--data", "\(dir!)/nan.npy", "--face-width", "1", "--run-dir", "\(dir!)/c"])
        XCTAssertTrue(nan.stderr.contains("nan.npy") && nan.stderr.contains("must be finite"), nan.stderr)
        for r in [wide, flat, nan] {
            XCTAssertNotEqual(r.status, 0)
            XCTAssertFalse(r.output.contains("Fatal error"), r.output)
        }
    }
}

/// The size of a PNG (it decodes).
enum GrayImageProbe {
    static func size(_ path: String) throws -> (Int, Int) {
        let img = try RGBImage.readPNG(path)
        return (img.width, img.height)
    }
}
