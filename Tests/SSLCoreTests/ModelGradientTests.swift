import SSLCore
import TestSupport
import XCTest

/// The whole objective of each model against central finite differences, with the noise frozen
/// (noise is keyed by (seed, step, example), so re-running a step reuses it), tiny sizes,
/// softplus hidden units (smooth), and β < 1 so every warm-up path is exercised.
final class ModelGradientTests: XCTestCase {
    func check(_ kind: ModelKind, beta: Float, labelled: [Int32], unlabelled: Int, likelihood: Likelihood = .bernoulli,
               classWeights: [Float]? = nil, mc: Int = 1, iw: Int = 1, classPrior: [Float]? = nil, normalize: Bool = false,
               classBalance: Float = 0, classMix: [Float]? = nil, auxLogVarianceMin: Float? = nil,
               file: StaticString = #filePath, line: UInt = #line) {
        for engine in fp32Engines() {
            check(kind, beta: beta, labelled: labelled, unlabelled: unlabelled, likelihood: likelihood, classWeights: classWeights,
                  mc: mc, iw: iw, classPrior: classPrior, normalize: normalize, classBalance: classBalance, classMix: classMix,
                  auxLogVarianceMin: auxLogVarianceMin, engine: engine, file: file, line: line)
        }
    }

    func check(_ kind: ModelKind, beta: Float, labelled: [Int32], unlabelled: Int, likelihood: Likelihood, classWeights: [Float]?,
               mc: Int, iw: Int, classPrior: [Float]?, normalize: Bool, classBalance: Float, classMix: [Float]?,
               auxLogVarianceMin: Float?, engine: MatMulEngine, file: StaticString, line: UInt) {
        let d = 6, k = 3
        var config = ModelConfig(kind: kind, inputDim: d, classes: k, hidden: [5, 4], latent: 2, auxiliary: 2,
                                 activation: .softplus, alpha: 0.7, evalSamples: 3, likelihood: likelihood)
        config.classWeights = classWeights
        config.mc = mc; config.iw = iw
        config.classPrior = classPrior
        config.normalize = normalize
        config.classBalance = classBalance
        config.auxLogVarianceMin = auxLogVarianceMin
        // An estimated class mix: the term's target is the state tensor's π, held at `classMix` (a step does not move it).
        if classMix != nil { config.classMix = ClassMixEstimate(labelledPrior: [Float](repeating: 1 / Float(k), count: k)) }
        if kind.stacked {
            // A frozen M1 with z₁ of 3 dimensions, of which the inner model sees 0 and 2.
            config.stack = StackedM1(hidden: [4], latent: 3, activation: .softplus, likelihood: likelihood, kept: [0, 2], normalize: normalize)
        }
        let model = makeModel(config, capacity: Capacity(labelled: 4, unlabelled: 4, evaluation: 8), workspace: Workspace(engine: engine))
        let store = ParameterStore(layout: model.layout)
        store.initialize(seed: 21)
        if let mix = classMix, let e = store.layout.entries.first(where: { $0.name == ClassMixEstimate.tensorName }) {
            for j in 0..<k { store.values.pointer[store.layout.start(of: e) + j] = mix[j] }
        }
        XCTAssertEqual(ClassMixEstimate.read(store), classMix, "the class-mix state holds π", file: file, line: line)
        let batch = Batch(capacity: 8, features: d)
        let noise = NoiseSource(seed: 22)
        batch.reset()
        let xs = UnsafeMutablePointer<Float>.allocate(capacity: 8 * d); defer { xs.deallocate() }
        fillUniform(xs, 8 * d, seed: 23, lo: 0, hi: 1)
        for i in 0..<(labelled.count + unlabelled) {
            let row = batch.append(id: 100 + i, label: i < labelled.count ? labelled[i] : nil)
            for j in 0..<d { row[j] = likelihood == .bernoulli ? (xs[i * d + j] < 0.5 ? 0 : 1) : 4 * xs[i * d + j] - 2 }
        }
        // Global ≠ local, except with the class-balance term: it is not a sum over examples (q̄ is the mean over every
        // rank's examples), so a rank's objective is its share, and only one rank's share is the whole term.
        let counts = classBalance > 0 ? GlobalCounts(labelled: max(labelled.count, 1), unlabelled: unlabelled)
                                      : GlobalCounts(labelled: labelled.count + 1, unlabelled: unlabelled + 2)
        func f() -> Double { model.trainStep(batch, store: store, noise: noise, step: 5, beta: beta, counts: counts).objective }
        store.zeroGrads()
        _ = f()
        let analytic = store.grads.array
        // A stacked model's M1 is frozen: no gradient reaches it, and only the inner model's parameters are checked.
        let frozen = model.frozenCount
        XCTAssertTrue(analytic[..<frozen].allSatisfy { $0 == 0 }, "frozen parameters got a gradient", file: file, line: line)
        let r = checkGradient(values: store.values.pointer, analytic: analytic, indices: Array(frozen..<analytic.count),
                              eps: normalize ? 2e-3 : 1e-2, atol: normalize ? 5e-3 : 2e-3, rtol: 2e-2, f)
        XCTAssertTrue(r.passed, "\(kind) β=\(beta) mc=\(mc) iw=\(iw) bn=\(normalize) \(engine.choice): \(r)", file: file, line: line)
        XCTAssertGreaterThan(analytic.map { abs($0) }.max()!, 1e-3, "gradient should not vanish", file: file, line: line)
        if auxLogVarianceMin != nil {
            // Every log-variance of p(a|·) below the floor: the density uses the floor, and its head learns nothing.
            let head = store.layout.entries.filter { $0.name.hasPrefix("pa.logvar") }
            XCTAssertFalse(head.isEmpty, file: file, line: line)
            for e in head {
                let start = store.layout.start(of: e)
                XCTAssertTrue(analytic[start..<(start + e.count)].allSatisfy { $0 == 0 }, "\(e.name) got a gradient", file: file, line: line)
            }
        }
    }

    func testM2LabelledBoundGradient() { check(.m2, beta: 1, labelled: [0, 2, 1], unlabelled: 0) }
    func testM2UnlabelledBoundGradient() { check(.m2, beta: 1, labelled: [], unlabelled: 3) }
    func testM2WholeObjectiveGradientWithWarmUp() { check(.m2, beta: 0.4, labelled: [1, 2], unlabelled: 3) }
    func testADGMLabelledBoundGradient() { check(.adgm, beta: 1, labelled: [0, 2, 1], unlabelled: 0) }
    func testADGMUnlabelledBoundGradient() { check(.adgm, beta: 1, labelled: [], unlabelled: 3) }
    func testADGMWholeObjectiveGradientWithWarmUp() { check(.adgm, beta: 0.6, labelled: [1, 0], unlabelled: 2) }
    func testSDGMLabelledBoundGradient() { check(.sdgm, beta: 1, labelled: [0, 2, 1], unlabelled: 0) }
    func testSDGMUnlabelledBoundGradient() { check(.sdgm, beta: 1, labelled: [], unlabelled: 3) }
    func testSDGMWholeObjectiveGradientWithWarmUp() { check(.sdgm, beta: 0.6, labelled: [1, 0], unlabelled: 2) }
    /// `--aux-logvar-min` above every log-variance p(a|·) puts out at these sizes: the objective's gradient is still right,
    /// and none reaches p(a|·)'s log-variance head.
    func testSDGMWithTheAuxiliaryLogVarianceFloor() { check(.sdgm, beta: 0.8, labelled: [1, 0], unlabelled: 2, auxLogVarianceMin: 5) }
    func testSDGMGaussianLikelihood() { check(.sdgm, beta: 0.9, labelled: [2], unlabelled: 2, likelihood: .gaussian) }
    func testSupervisedCrossEntropyGradient() { check(.supervised, beta: 1, labelled: [1, 0, 2], unlabelled: 0) }
    /// VAT alone without its term (the term has its own test, `VirtualAdversarialTests`): cross-entropy on the labelled
    /// rows, while the unlabelled ones share batch normalisation's statistics, so they move the gradient too.
    func testVATClassifierCrossEntropyGradientWithUnlabelledRows() {
        check(.vat, beta: 1, labelled: [1, 0, 2], unlabelled: 2)
        check(.vat, beta: 1, labelled: [2, 1], unlabelled: 3, normalize: true)
    }
    func testClassWeightedClassificationTerm() {
        let w: [Float] = [2.5, 0.4, 1.1]
        check(.m2, beta: 1, labelled: [0, 2, 1, 0], unlabelled: 1, classWeights: w)
        check(.adgm, beta: 1, labelled: [1, 2, 0], unlabelled: 1, classWeights: w)
        check(.supervised, beta: 1, labelled: [2, 0, 0], unlabelled: 0, classWeights: w)
        XCTAssertEqual(balancedClassWeights(labels: [0, 0, 0, 1, 2, 2], classes: 4), [6.0 / 9, 2, 1, 0])
    }
    func testM2GaussianLikelihood() { check(.m2, beta: 0.5, labelled: [2, 1], unlabelled: 2, likelihood: .gaussian) }
    func testADGMGaussianLikelihood() { check(.adgm, beta: 0.8, labelled: [0, 1], unlabelled: 2, likelihood: .gaussian) }

    // A non-uniform p(y) enters −log p(y) in L and KL(q(y|x) ‖ p(y)) in U.
    func testNonUniformClassPrior() {
        let prior: [Float] = [0.7, 0.2, 0.1]
        check(.m2, beta: 0.6, labelled: [0, 2], unlabelled: 2, classPrior: prior)
        check(.adgm, beta: 1, labelled: [1], unlabelled: 2, classPrior: prior)
        check(.m2, beta: 1, labelled: [2], unlabelled: 2, iw: 2, classPrior: prior)
        XCTAssertEqual(labelledClassPrior(labels: [0, 0, 0, 1], classes: 3), [4.0 / 7, 2.0 / 7, 1.0 / 7])
    }

    // The class-balance term λ·(KL(q̄ ‖ p(y)) + mean H(q(y|x))) on the unlabelled examples, with a uniform and a
    // non-uniform p(y), importance samples and batch normalisation; λ large enough to dominate the classifier's gradient.
    func testClassBalanceTerm() {
        check(.m2, beta: 0.8, labelled: [1], unlabelled: 3, classBalance: 5)
        check(.m2, beta: 1, labelled: [], unlabelled: 3, classPrior: [0.5, 0.3, 0.2], classBalance: 5)
        check(.adgm, beta: 0.7, labelled: [0, 2], unlabelled: 3, iw: 2, classBalance: 5)
        check(.sdgm, beta: 1, labelled: [2], unlabelled: 3, normalize: true, classBalance: 5)
        check(.m1m2, beta: 1, labelled: [0], unlabelled: 3, likelihood: .gaussian, classBalance: 5)
    }

    // The same term towards an estimated class mix π (the state tensor) instead of p(y).
    func testClassBalanceTermTowardsTheEstimatedMix() {
        let mix: [Float] = [0.6, 0.1, 0.3]
        check(.m2, beta: 0.8, labelled: [1], unlabelled: 3, classBalance: 5, classMix: mix)
        check(.adgm, beta: 1, labelled: [0, 2], unlabelled: 3, iw: 2, classBalance: 5, classMix: mix)
        check(.m1sdgm, beta: 1, labelled: [2], unlabelled: 3, likelihood: .gaussian, classBalance: 5, classMix: mix)
    }

    // Batch normalisation in every network: the gradient flows through the batch statistics.
    func testM2WithBatchNorm() { check(.m2, beta: 0.7, labelled: [1, 2], unlabelled: 3, normalize: true) }
    func testADGMWithBatchNorm() { check(.adgm, beta: 0.6, labelled: [1, 0], unlabelled: 2, normalize: true) }
    func testSDGMWithBatchNorm() { check(.sdgm, beta: 1, labelled: [2, 1], unlabelled: 2, likelihood: .gaussian, normalize: true) }
    func testM1AndSupervisedWithBatchNorm() {
        check(.m1, beta: 0.9, labelled: [0], unlabelled: 3, normalize: true)
        check(.supervised, beta: 1, labelled: [1, 0, 2, 2], unlabelled: 0, normalize: true)
    }
    func testImportanceWeightedADGMWithBatchNorm() { check(.adgm, beta: 1, labelled: [2], unlabelled: 2, iw: 2, normalize: true) }
    func testM1M2WithBatchNorm() { check(.m1m2, beta: 0.8, labelled: [2, 0], unlabelled: 2, likelihood: .gaussian, normalize: true) }

    // M1 (labels are ignored: both populations are plain examples), both likelihoods.
    func testM1Bernoulli() { check(.m1, beta: 0.7, labelled: [1, 0], unlabelled: 3) }
    func testM1Gaussian() { check(.m1, beta: 1, labelled: [], unlabelled: 4, likelihood: .gaussian) }
    // M1+M2: M2 on re-sampled features of a frozen M1.
    func testM1M2() { check(.m1m2, beta: 0.6, labelled: [2, 0], unlabelled: 2, likelihood: .gaussian) }
    func testM1M2OverABernoulliM1() { check(.m1m2, beta: 1, labelled: [1], unlabelled: 3) }
    // M1+ADGM and M1+SDGM: ADGM and SDGM on the same features, with and without batch normalisation.
    func testM1ADGM() { check(.m1adgm, beta: 0.7, labelled: [2, 0], unlabelled: 2, likelihood: .gaussian) }
    func testM1SDGMWithBatchNorm() { check(.m1sdgm, beta: 0.9, labelled: [1, 2], unlabelled: 2, likelihood: .gaussian, normalize: true) }
    func testM1SDGMOverABernoulliM1() { check(.m1sdgm, beta: 1, labelled: [0], unlabelled: 3) }

    // Importance-weighted bounds: −(1/N) Σ_n log (1/K) Σ_k w_nk, gradients through the normalised weights.
    func testM1ImportanceWeighted() { check(.m1, beta: 0.8, labelled: [0], unlabelled: 3, mc: 2, iw: 3) }
    func testM1ImportanceWeightedGaussian() { check(.m1, beta: 1, labelled: [], unlabelled: 3, likelihood: .gaussian, iw: 4) }
    func testM2ImportanceWeighted() { check(.m2, beta: 0.5, labelled: [2, 1], unlabelled: 2, mc: 2, iw: 3) }
    func testM2MonteCarlo() { check(.m2, beta: 1, labelled: [0], unlabelled: 2, mc: 3) }
    func testADGMImportanceWeighted() { check(.adgm, beta: 0.7, labelled: [1, 0], unlabelled: 2, mc: 2, iw: 2) }
    func testSDGMImportanceWeighted() { check(.sdgm, beta: 1, labelled: [2], unlabelled: 2, likelihood: .gaussian, iw: 3) }
    func testM1M2ImportanceWeighted() { check(.m1m2, beta: 0.9, labelled: [0], unlabelled: 2, likelihood: .gaussian, iw: 3) }

    /// The reported bounds at β = 1 equal the objective's pieces: with α = 0 and only labelled
    /// examples, objective = mean L.
    func testReportedBoundsMatchObjective() {
        for kind in [ModelKind.m2, .adgm] {
            let config = ModelConfig(kind: kind, inputDim: 6, classes: 3, hidden: [5], latent: 2, auxiliary: 2,
                                     activation: .relu, alpha: 0, evalSamples: 2)
            let model = makeModel(config, capacity: Capacity(labelled: 4, unlabelled: 4, evaluation: 4))
            let store = ParameterStore(layout: model.layout)
            store.initialize(seed: 3)
            let batch = Batch(capacity: 8, features: 6)
            for (i, y) in [Int32(0), 1, 2].enumerated() {
                let row = batch.append(id: i, label: y); for j in 0..<6 { row[j] = Float((i + j) % 2) }
            }
            let s = model.trainStep(batch, store: store, noise: NoiseSource(seed: 1), step: 0, beta: 1,
                                    counts: GlobalCounts(labelled: 3, unlabelled: 1))
            XCTAssertEqual(s.objective, s.labelledBound / 3, accuracy: 1e-6 * abs(s.objective), "\(kind)")
            XCTAssertGreaterThan(s.labelledBound, 0)
        }
    }
}
