import Foundation
import SSLCore
import SSLDistributed
import SSLTraining
import TestSupport
import XCTest

/// Learning on real data: M2 (and the other semi-supervised models) with a handful of labels beats the supervised baseline trained on the
/// same labels, with the same classifier network, steps and seeds. Each model runs its own recipe (the defaults
/// `ssl-dist train` gives it), with the baseline's learning rate raised to M2's 1e-3 so it is not undertrained.
/// The mean of the margins of a test's seeds.
private func average(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }

final class LearningTests: XCTestCase {
    /// The test accuracy (M1: the test bound) of a 1,500-step digits run, with OpenBLAS fp32 unless `engine` says.
    func train(_ kind: ModelKind, seed: UInt64, labelsPerClass: Int, digits: String, dir: String,
               gaussian: Bool = false, engine: EngineChoice = EngineChoice(.blas, .fp32)) throws -> Double {
        if kind == .m1m2 {
            // Its M1 first (M1+SDGM reuses M1+M2's), on every training example, with the same sizes and steps.
            _ = try train(.m1, seed: seed, labelsPerClass: labelsPerClass, digits: digits, dir: dir, engine: engine)
        }
        var c = TrainConfig.recipe(for: kind)
        if kind.stacked { c.m1 = "\(dir)/m1-\(seed)" }
        if gaussian { c.likelihood = .gaussian; c.standardize = true }
        c.model = kind
        c.data = "csv:\(digits)"
        c.labelsPerClass = labelsPerClass
        c.labelledBatchSize = labelsPerClass * 10
        c.steps = 1500
        c.hidden = [200]
        c.latent = 16
        c.learningRate = 1e-3
        c.validateEvery = 1000
        c.seed = seed
        c.runDir = "\(dir)/\(kind.rawValue)-\(seed)\(gaussian ? "-gaussian" : "")"
        let result = try Trainer(config: c, communicator: SingleProcessCommunicator(), gemm: engine.backend,
                                 precision: engine.precision) { _ in }.run()
        return kind == .m1 ? try XCTUnwrap(result.testBound) : try XCTUnwrap(result.testAccuracy)
    }

    func testM2BeatsSupervisedOnDigitsWithThreeLabelsPerClass() throws {
        guard let digits = digitsPath() else {
            throw XCTSkip("sklearn's digits.csv.gz not found: run `make deps` (installs python3-sklearn) or set SSL_DIST_DIGITS")
        }
        setComputeThreads(1)
        let dir = NSTemporaryDirectory() + "ssl-dist-learning-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var margins: [Double] = [], stackedMargins: [Double] = [], sdgmMargins: [Double] = [], vatMargins: [Double] = []
        for seed: UInt64 in [1, 2, 3] {
            let sup = try train(.supervised, seed: seed, labelsPerClass: 3, digits: digits, dir: dir)
            let m2 = try train(.m2, seed: seed, labelsPerClass: 3, digits: digits, dir: dir)
            let m1m2 = try train(.m1m2, seed: seed, labelsPerClass: 3, digits: digits, dir: dir)
            let m1sdgm = try train(.m1sdgm, seed: seed, labelsPerClass: 3, digits: digits, dir: dir)
            let vat = try train(.vat, seed: seed, labelsPerClass: 3, digits: digits, dir: dir)
            print(String(format: "digits, 3 labels/class, seed %llu: supervised %.2f%%, m2 %.2f%%, m1m2 %.2f%%, m1sdgm %.2f%%, vat %.2f%%",
                         seed, 100 * sup, 100 * m2, 100 * m1m2, 100 * m1sdgm, 100 * vat))
            margins.append(m2 - sup)
            stackedMargins.append(m1m2 - sup)
            sdgmMargins.append(m1sdgm - sup)
            vatMargins.append(vat - sup)
            XCTAssertGreaterThan(m2, sup, "seed \(seed): m2 should beat supervised")
            XCTAssertGreaterThan(vat, sup, "seed \(seed): vat should beat supervised")
        }
        let mean = average(margins), stackedMean = average(stackedMargins), sdgmMean = average(sdgmMargins)
        let vatMean = average(vatMargins)
        print(String(format: "mean margin m2 − supervised: %.2f points; m1m2 − supervised: %.2f points; m1sdgm − supervised: %.2f points; "
                     + "vat − supervised: %.2f points", 100 * mean, 100 * stackedMean, 100 * sdgmMean, 100 * vatMean))
        XCTAssertGreaterThanOrEqual(mean, 0.03, "m2 should beat supervised by at least 3 points on average")
        // M1+M2 and M1+SDGM (M1 trained on the same 1,293 images only) are ahead on average, though not on every seed.
        XCTAssertGreaterThanOrEqual(stackedMean, 0.01, "m1m2 should beat supervised by at least 1 point on average")
        XCTAssertGreaterThanOrEqual(sdgmMean, 0.01, "m1sdgm should beat supervised by at least 1 point on average")
        // Virtual adversarial training alone, the same network (9.8 points on these seeds with its recipe's batch normalisation).
        XCTAssertGreaterThanOrEqual(vatMean, 0.03, "vat should beat supervised by at least 3 points on average")
    }

    /// bf16 matrix products (oneDNN, fp32 accumulation) keep M2's margin over the supervised baseline that the
    /// fp32 test above asserts, on the same seeds.
    func testM2KeepsItsMarginWithBF16Products() throws {
        guard let digits = digitsPath() else {
            throw XCTSkip("sklearn's digits.csv.gz not found: run `make deps` (installs python3-sklearn) or set SSL_DIST_DIGITS")
        }
        guard (try? MatMulEngine(backend: .dnnl, precision: .bf16)) != nil else {
            throw XCTSkip("oneDNN has no bf16 matmul on this CPU (it needs AVX-512): the bf16 path cannot run here")
        }
        setComputeThreads(1)
        let dir = NSTemporaryDirectory() + "ssl-dist-learning-bf16-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bf16 = EngineChoice(.dnnl, .bf16)
        var margins: [Double] = []
        for seed: UInt64 in [1, 2, 3] {
            let sup = try train(.supervised, seed: seed, labelsPerClass: 3, digits: digits, dir: dir, engine: bf16)
            let m2 = try train(.m2, seed: seed, labelsPerClass: 3, digits: digits, dir: dir, engine: bf16)
            print(String(format: "digits, 3 labels/class, bf16, seed %llu: supervised %.2f%%, m2 %.2f%%", seed, 100 * sup, 100 * m2))
            margins.append(m2 - sup)
            XCTAssertGreaterThan(m2, sup, "seed \(seed): m2 should beat supervised with bf16 products")
        }
        let mean = average(margins)
        print(String(format: "bf16: mean margin m2 − supervised: %.2f points", 100 * mean))
        XCTAssertGreaterThanOrEqual(mean, 0.03, "m2 should beat supervised by at least 3 points on average with bf16, as with fp32")
    }

    /// The Gaussian likelihood on standardised real values (the intensities as they are, no binarisation):
    /// M2 against the supervised classifier on the same standardised inputs and labels.
    func testGaussianM2OnStandardizedDigitsBeatsSupervised() throws {
        guard let digits = digitsPath() else {
            throw XCTSkip("sklearn's digits.csv.gz not found: run `make deps` (installs python3-sklearn) or set SSL_DIST_DIGITS")
        }
        setComputeThreads(1)
        let dir = NSTemporaryDirectory() + "ssl-dist-gaussian-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sup = try train(.supervised, seed: 1, labelsPerClass: 3, digits: digits, dir: dir, gaussian: true)
        let m2 = try train(.m2, seed: 1, labelsPerClass: 3, digits: digits, dir: dir, gaussian: true)
        print(String(format: "digits, Gaussian likelihood, standardised, 3 labels/class, seed 1: supervised %.2f%%, m2 %.2f%%",
                     100 * sup, 100 * m2))
        XCTAssertGreaterThanOrEqual(m2 - sup, 0.05, "gaussian m2 should beat supervised by at least 5 points")
    }
}
