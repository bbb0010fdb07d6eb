import Foundation
import SSLCore
import TestSupport
import XCTest

/// The hyperspectral use case on synthetic data made here: 200 bands, smooth class-dependent curves with
/// per-example brightness and noise, one class 90% of the data, and 20 labels drawn at random (so they follow
/// the class frequencies, as a user's few labels do).
final class SpectralTests: XCTestCase {
    /// Writes the dataset as CSV (label last): class k has a bump at band position 0.35 + 0.15k.
    /// With `withoutLabels` > 0, that fraction of the examples (chosen by a keyed draw) are written with label −1.
    func makeSpectra(_ path: String, count n: Int = 3000, bands d: Int = 200, withoutLabels: Float = 0) throws {
        let noise = NoiseSource(seed: 2024)
        var u = [Float](repeating: 0, count: 3), eps = [Float](repeating: 0, count: d)
        var text = ""
        text.reserveCapacity(n * d * 9)
        for i in 0..<n {
            u.withUnsafeMutableBufferPointer { noise.uniforms(step: 0, example: i, stream: .dataSplit, population: .evaluation, into: $0.baseAddress!, count: 3) }
            eps.withUnsafeMutableBufferPointer { noise.normals(step: 1, example: i, stream: .dataSplit, population: .evaluation, into: $0.baseAddress!, count: d) }
            let k = u[0] < 0.9 ? 0 : 1 + min(Int((u[0] - 0.9) / 0.1 * 3), 2)
            let brightness = 0.8 + 0.4 * u[1]
            let centre = 0.35 + 0.15 * Float(k)
            var row: [String] = []
            for j in 0..<d {
                let lam = Float(j) / Float(d - 1)
                let curve = 1 + 0.5 * Foundation.exp(-(lam - centre) * (lam - centre) / (2 * 0.07 * 0.07)) + 0.1 * Float(k) * lam
                row.append(String(format: "%.4f", curve * brightness + 0.4 * eps[j]))
            }
            row.append(u[2] < withoutLabels ? "-1" : String(k))
            text += row.joined(separator: ",") + "\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// An M1 on every spectrum in `dir` (no labels, no cap), Gaussian on standardised bands.
    func trainM1(_ dir: String, seed: Int, runDir: String) throws {
        let r = try runProcess(sslDistBinary(), ["train", "--model", "m1", "--data", "csv:\(dir)/spectra.csv",
            "--likelihood", "gaussian", "--standardize", "--clip-grad-norm", "5", "--hidden", "100", "--latent", "16",
            "--lr", "1e-3", "--steps", "1500", "--validate-every", "1000", "--seed", String(seed), "--quiet",
            "--blas-threads", "1", "--run-dir", runDir])
        XCTAssertEqual(r.status, 0, r.output)
    }

    /// A classifier on the spectra in `dir` from 20 proportional labels; `extra` picks inputs, cap and prior.
    func train(_ model: String, _ dir: String, seed: Int, runDir: String, _ extra: [String]) throws {
        let r = try runProcess(sslDistBinary(), ["train", "--model", model, "--data", "csv:\(dir)/spectra.csv",
            "--labels", "20", "--label-sampling", "proportional", "--labelled-batch-size", "20", "--batch-size", "100",
            "--hidden", "100", "--latent", "8", "--clip-grad-norm", "5", "--lr", "1e-3", "--steps", "1200",
            "--validate-every", "1000", "--seed", String(seed), "--quiet", "--blas-threads", "1", "--run-dir", runDir] + extra)
        XCTAssertEqual(r.status, 0, r.output)
    }

    func balancedAccuracy(_ runDir: String) throws -> (balanced: Double, minorityRecall: Double, predictedMajority: Double) {
        let r = try runProcess(sslDistBinary(), ["evaluate", "--checkpoint", runDir, "--json", "--blas-threads", "1"])
        XCTAssertEqual(r.status, 0, r.output)
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let c = try XCTUnwrap(j["confusion"] as? [[Int]])
        let minority = (1..<c.count).map { Double(c[$0][$0]) / Double(max(1, c[$0].reduce(0, +))) }
        let majority = Double(c.reduce(0) { $0 + $1[0] }) / Double(j["examples"] as! Int)
        return (j["balanced_accuracy"] as! Double, minority.reduce(0, +) / Double(minority.count), majority)
    }

    func testCappedGaussianM2BeatsSupervisedWhichCollapsesOntoTheMajority() throws {
        let dir = NSTemporaryDirectory() + "ssl-spectra-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try makeSpectra("\(dir)/spectra.csv")
        var results: [String: [(balanced: Double, minorityRecall: Double, predictedMajority: Double)]] = [:]
        for seed in 1...3 {
            // M1+M2 as our user ran it: an M1 on every spectrum (no labels, no cap), then M2 on its features.
            let m1 = "\(dir)/m1-\(seed)"
            try trainM1(dir, seed: seed, runDir: m1)
            for (name, model, cap) in [("supervised", "supervised", false), ("supervised-capped", "supervised", true),
                                       ("m2-capped", "m2", true), ("m1m2-capped", "m1m2", true)] {
                let runDir = "\(dir)/\(name)-\(seed)"
                // M1+M2 takes its M1's standardisation.
                let inputs = model == "m1m2" ? ["--m1", m1] : ["--likelihood", "gaussian", "--standardize"]
                try train(model, dir, seed: seed, runDir: runDir, inputs + (cap ? ["--max-per-class", "100"] : []))
                results[name, default: []].append(try balancedAccuracy(runDir))
            }
        }
        func mean(_ name: String, _ f: ((balanced: Double, minorityRecall: Double, predictedMajority: Double)) -> Double) -> Double {
            results[name]!.map(f).reduce(0, +) / Double(results[name]!.count)
        }
        for name in ["supervised", "supervised-capped", "m2-capped", "m1m2-capped"] {
            print(String(format: "spectra, %@: balanced accuracy %@ (mean %.3f), minority recall mean %.3f, predicted majority mean %.3f",
                         name, results[name]!.map { String(format: "%.3f", $0.balanced) }.joined(separator: " "),
                         mean(name) { $0.balanced }, mean(name) { $0.minorityRecall }, mean(name) { $0.predictedMajority }))
        }
        // The user's collapse: without a cap, supervised mostly predicts the majority and misses the rest.
        XCTAssertLessThan(mean("supervised") { $0.balanced }, 0.5)
        XCTAssertLessThan(mean("supervised") { $0.minorityRecall }, 0.4)
        // The cap helps, and the semi-supervised Gaussian M2 with the cap does better still.
        XCTAssertGreaterThan(mean("m2-capped") { $0.balanced }, mean("supervised") { $0.balanced } + 0.25)
        XCTAssertGreaterThan(mean("m2-capped") { $0.balanced }, mean("supervised-capped") { $0.balanced } + 0.05)
        // M1+M2 (M1 on every spectrum, M2 on its features) beats both supervised models too.
        XCTAssertGreaterThan(mean("m1m2-capped") { $0.balanced }, mean("supervised") { $0.balanced } + 0.25)
        XCTAssertGreaterThan(mean("m1m2-capped") { $0.balanced }, mean("supervised-capped") { $0.balanced } + 0.05)
    }

    /// Most spectra come without a label (−1) and are themselves 90% one class, so the cap cannot thin them. With
    /// the uniform p(y) of the papers, M2 pulls majority spectra into the minority classes; with p(y) from the
    /// labelled proportions (`--class-prior labelled`) it does not.
    func testLabelledClassPriorWhenMostSpectraHaveNoLabel() throws {
        let dir = try makeTemporaryDirectory("ssl-spectra-prior")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try makeSpectra("\(dir)/spectra.csv", withoutLabels: 0.7)
        var results: [String: [Double]] = [:]
        let names = ["supervised", "m2-uniform", "m2-labelled-prior", "m1m2-uniform", "m1m2-labelled-prior"]
        for seed in 1...3 {
            let m1 = "\(dir)/m1-\(seed)"
            try trainM1(dir, seed: seed, runDir: m1)
            let gaussian = ["--likelihood", "gaussian", "--standardize"], prior = ["--class-prior", "labelled"]
            // The class-balance term (on by default) assumes the unlabelled examples' class mix is p(y), which is
            // false here; this test is about p(y) alone, so the semi-supervised runs turn it off (README: what it costs).
            let m2 = gaussian + ["--class-balance", "0"], m1m2 = ["--m1", m1, "--class-balance", "0"]
            for (name, model, extra) in [("supervised", "supervised", gaussian), ("m2-uniform", "m2", m2),
                                         ("m2-labelled-prior", "m2", m2 + prior), ("m1m2-uniform", "m1m2", m1m2),
                                         ("m1m2-labelled-prior", "m1m2", m1m2 + prior)] {
                let runDir = "\(dir)/\(name)-\(seed)"
                try train(model, dir, seed: seed, runDir: runDir, extra + ["--max-per-class", "100"])
                results[name, default: []].append(try balancedAccuracy(runDir).balanced)
            }
        }
        func mean(_ name: String) -> Double { results[name]!.reduce(0, +) / Double(results[name]!.count) }
        for name in names {
            print(String(format: "spectra, 70%% without labels, %@: balanced accuracy %@ (mean %.3f)", name,
                         results[name]!.map { String(format: "%.3f", $0) }.joined(separator: " "), mean(name)))
        }
        // The uniform prior's pull: M2 falls well below the supervised model; the labelled prior removes most of it.
        XCTAssertLessThan(mean("m2-uniform"), mean("supervised") - 0.1)
        XCTAssertGreaterThan(mean("m2-labelled-prior"), mean("m2-uniform") + 0.1)
        // M1+M2, whose M1 learns from every spectrum, is far ahead of the supervised model even here.
        XCTAssertGreaterThan(mean("m1m2-uniform"), mean("supervised") + 0.15)
    }
}
