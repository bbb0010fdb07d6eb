import Foundation
import SSLTraining
import TestSupport
import XCTest

/// `ssl-dist plot`: the PNG holds a curve per run in its colour, the table's numbers are the runs' results, and bad
/// input names the file or metric.
final class PlotTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("ssl-plot") }
    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(atPath: dir) } }

    func ssl(_ args: [String]) throws -> ProcessResult { try runProcess(sslDistBinary(), args, timeout: 300) }

    func results(_ run: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(run)/results.json"))) as! [String: Any]
    }

    func testCurvesAndTableOfTwoRuns() throws {
        guard let digits = digitsPath() else { throw XCTSkip("sklearn digits not found: run `make deps`") }
        for model in ["supervised", "m2"] {
            let r = try ssl(shortDigitsRun(model: model, data: "csv:\(digits)", runDir: "\(dir!)/\(model)", steps: 120)
                            + ["--validate-every", "1", "--quiet", "--blas-threads", "1"])
            XCTAssertEqual(r.status, 0, r.output)
        }
        let png = "\(dir!)/curves.png"
        let p = try ssl(["plot", "\(dir!)/supervised", "\(dir!)/m2", "--names", "sup,m2", "--out", png])
        XCTAssertEqual(p.status, 0, p.output)
        // Both runs' colours are drawn (the palette's first two), and nothing else is needed to read it back.
        let img = try RGBImage.readPNG(png)
        XCTAssertEqual(img.width, 1400)
        var seen = Set<Int>()
        for y in 0..<img.height { for x in 0..<img.width { for k in 0..<2 where img[x, y] == ClassMap.color(k) { seen.insert(k) } } }
        XCTAssertEqual(seen, [0, 1], "a curve per run in its colour")
        // The table: each run's test accuracy at its best validation, and m2's gain over the first run from them.
        let sup = try results("\(dir!)/supervised"), m2 = try results("\(dir!)/m2")
        let a = (sup["test_accuracy_at_best"] as! NSNumber).doubleValue, b = (m2["test_accuracy_at_best"] as! NSNumber).doubleValue
        XCTAssertTrue(p.stdout.contains(String(format: "%.2f%%", 100 * a)) && p.stdout.contains(String(format: "%.2f%%", 100 * b)), p.stdout)
        XCTAssertTrue(p.stdout.contains(String(format: "m2 over sup: %+.2f points", 100 * (b - a))), p.stdout)
        // Time to a target: the first epoch whose validation accuracy reached it, from metrics.jsonl; an unreachable
        // one says so with the best reached.
        let curves = try LearningCurves.read(["\(dir!)/m2"], metric: "validation_accuracy")
        let pts = curves.runs[0].points, best = pts.map(\.value).max()!
        let target = (pts[0].value + best) / 2
        let first = try XCTUnwrap(curves.firstReaching(target)[0])
        XCTAssertEqual(first.epoch, pts.first { $0.value >= target }!.epoch)
        XCTAssertTrue(pts.filter { $0.epoch < first.epoch }.allSatisfy { $0.value < target })
        XCTAssertNil(curves.firstReaching(best + 0.01)[0])
        let r = try ssl(["plot", "\(dir!)/m2", "--out", png, "--reach", String(format: "%.4f,%.4f", 100 * target, 100 * best + 1)])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.contains("epoch \(epochText(first.epoch)), ") && r.stdout.contains("not reached (best"), r.stdout)
        let bad = try ssl(["plot", "\(dir!)/m2", "--out", png, "--reach", "95,x"])
        XCTAssertTrue(bad.stderr.contains("--reach 95,x"), bad.stderr)
    }

    func testBadInputIsNamed() throws {
        let missing = try ssl(["plot", "\(dir!)/nowhere", "--out", "\(dir!)/x.png"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("nowhere/metrics.jsonl"), missing.stderr)
        try FileManager.default.createDirectory(atPath: "\(dir!)/run", withIntermediateDirectories: true)
        try "{\"epoch\": 1, \"seconds\": 2, \"validation_accuracy\": 0.5}\n".write(toFile: "\(dir!)/run/metrics.jsonl", atomically: true, encoding: .utf8)
        let metric = try ssl(["plot", "\(dir!)/run", "--metric", "no_such", "--out", "\(dir!)/x.png"])
        XCTAssertNotEqual(metric.status, 0)
        XCTAssertTrue(metric.stderr.contains("no record has no_such"), metric.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir!)/x.png"))
        let wrongOut = try ssl(["plot", "\(dir!)/run", "--out", "\(dir!)/x.jpg"])
        XCTAssertTrue(wrongOut.stderr.contains("--out") && wrongOut.stderr.contains("*.png"), wrongOut.stderr)
    }
}
