import SSLCore
import TestSupport
import XCTest

/// The importance-weighted bound −log (1/K) Σ_k w_k against the ELBO −(1/K) Σ_k log w_k on the same K samples
/// (`--mc K --iw 1` and `--mc 1 --iw K` draw the same replicas 0..<K), and its growth with K.
final class ImportanceWeightedTests: XCTestCase {
    let d = 8, k = 3

    func model(_ kind: ModelKind, mc: Int, iw: Int, likelihood: Likelihood) -> SSLModel {
        var config = ModelConfig(kind: kind, inputDim: d, classes: k, hidden: [6], latent: 3, auxiliary: 2,
                                 activation: .softplus, alpha: 0.5, evalSamples: 2, likelihood: likelihood)
        config.mc = mc; config.iw = iw
        if kind.stacked { config.stack = StackedM1(hidden: [5], latent: 4, activation: .softplus, likelihood: likelihood, kept: [0, 1, 3]) }
        return makeModel(config, capacity: Capacity(labelled: 3, unlabelled: 3, evaluation: 6))
    }

    /// (Σ L, Σ U) over a fixed batch of 3 labelled and 3 unlabelled examples, at β = 1, noise from `seed`.
    func bounds(_ kind: ModelKind, mc: Int, iw: Int, seed: UInt64, likelihood: Likelihood = .bernoulli) -> (Double, Double) {
        let m = model(kind, mc: mc, iw: iw, likelihood: likelihood)
        let store = ParameterStore(layout: m.layout)
        store.initialize(seed: 7)
        let batch = Batch(capacity: 6, features: d)
        let xs = UnsafeMutablePointer<Float>.allocate(capacity: 6 * d); defer { xs.deallocate() }
        fillUniform(xs, 6 * d, seed: 9, lo: 0, hi: 1)
        for i in 0..<6 {
            let row = batch.append(id: i, label: i < 3 ? Int32(i % k) : nil)
            for j in 0..<d { row[j] = likelihood == .bernoulli ? (xs[i * d + j] < 0.5 ? 0 : 1) : 3 * xs[i * d + j] - 1.5 }
        }
        let s = m.trainStep(batch, store: store, noise: NoiseSource(seed: seed), step: 0, beta: 1,
                            counts: GlobalCounts(labelled: 3, unlabelled: 3))
        XCTAssertEqual(s.labelledCount, 3); XCTAssertEqual(s.unlabelledCount, 3)
        return (s.labelledBound, s.unlabelledBound)
    }

    let kinds: [(ModelKind, Likelihood)] = [(.m1, .bernoulli), (.m1, .gaussian), (.m2, .bernoulli), (.adgm, .bernoulli),
                                            (.sdgm, .gaussian), (.m1m2, .gaussian)]

    func testImportanceWeightedBoundIsTighterThanTheELBOOnTheSameSamples() {
        for (kind, lik) in kinds {
            for seed: UInt64 in [1, 2, 3] {
                let elbo = bounds(kind, mc: 5, iw: 1, seed: seed, likelihood: lik)
                let iwae = bounds(kind, mc: 1, iw: 5, seed: seed, likelihood: lik)
                // Costs (negative bounds): log-mean-exp ≥ mean of logs, per example, so the IW cost is lower.
                XCTAssertLessThan(iwae.0, elbo.0, "\(kind) \(lik) labelled, seed \(seed)")
                XCTAssertLessThan(iwae.1, elbo.1, "\(kind) \(lik) unlabelled, seed \(seed)")
                // One sample: both are the plain ELBO on replica 0.
                let one = bounds(kind, mc: 1, iw: 1, seed: seed, likelihood: lik)
                XCTAssertNotEqual(one.1, elbo.1, "\(kind): 5 samples should differ from 1")
            }
        }
    }

    func testImportanceWeightedBoundGrowsWithKOnAverage() {
        for (kind, lik) in kinds {
            var mean = [Double](repeating: 0, count: 3)
            let ks = [1, 4, 16], seeds: [UInt64] = Array(1...200)
            for seed in seeds {
                for (i, kk) in ks.enumerated() {
                    let b = bounds(kind, mc: 1, iw: kk, seed: seed, likelihood: lik)
                    mean[i] += (b.0 + b.1) / Double(seeds.count)
                }
            }
            print("IW costs (Σ L + Σ U over 3 + 3 examples, mean of \(seeds.count) seeds) \(kind) \(lik): K=1 \(mean[0]), K=4 \(mean[1]), K=16 \(mean[2])")
            // The bound on log p(x) rises with K: its cost falls.
            XCTAssertGreaterThan(mean[0], mean[1], "\(kind) \(lik): K=1 → 4, costs \(mean)")
            XCTAssertGreaterThan(mean[1], mean[2], "\(kind) \(lik): K=4 → 16, costs \(mean)")
        }
    }

    func testLogMeanExpIsStableAndExact() {
        // Costs of thousands of nats: exp(−C) underflows, the shifted form does not.
        let costs: [Double] = [5000, 5001, 7000, 5000.5]
        var values = [Double](repeating: 0, count: 2)
        var omega = [Float](repeating: 0, count: 4)
        costs.withUnsafeBufferPointer { c in
            importanceBound(costs: c.baseAddress!, examples: 1, mc: 2, iw: 2, values: &values, omega: &omega)
        }
        let first = 5000 - log((1 + exp(-1.0)) / 2), second = 5000.5 - log((exp(-1999.5) + 1) / 2)
        XCTAssertEqual(values[0], (first + second) / 2, accuracy: 1e-9)
        XCTAssertEqual(Double(omega[0]), 1 / (1 + exp(-1.0)) / 2, accuracy: 1e-7)
        XCTAssertEqual(Double(omega[1]), exp(-1.0) / (1 + exp(-1.0)) / 2, accuracy: 1e-7)
        XCTAssertEqual(Double(omega[2] + omega[3]), 0.5, accuracy: 1e-7)
        XCTAssertTrue(values[0].isFinite)
    }
}
