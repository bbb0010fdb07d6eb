import SSLCore
import TestSupport
import XCTest

/// Virtual adversarial training's term (`VirtualAdversarial`): its parameter gradient against finite differences with
/// the perturbation held (as the paper holds it), the power iteration finding a direction that moves q(y|x) far more
/// than a random one of the same size, and the iteration leaving the step's gradients, the allreduce's watch and batch
/// normalisation's running statistics alone.
final class VirtualAdversarialTests: XCTestCase {
    let k = 3, n = 6

    struct Fixture {
        let net: MLP, store: ParameterStore, batch: Batch, map: RowMap, logP: Mat, vat: VirtualAdversarial, workspace: Workspace
        var x: Mat { batch.x }
    }

    /// A classifier q(y|x) = softmax(f(x)) on `d` features and its p at x (a training pass, as in a step).
    func fixture(_ engine: MatMulEngine, d: Int, normalize: Bool, epsilon: Float, xi: Float, clean: Bool = false) -> Fixture {
        var layout = ParameterLayout()
        let ws = Workspace(engine: engine)
        let net = MLP(&layout, "qy", parts: [("x", .perRow(d))], hidden: [7, 6], heads: [("logits", k)], activation: .softplus,
                      normalize: normalize, maxRows: n, maxExamples: n, workspace: ws)
        let s = ParameterStore(layout: layout)
        s.initialize(seed: 31)
        let batch = Batch(capacity: n, features: d)
        batch.reset()
        let xs = UnsafeMutablePointer<Float>.allocate(capacity: n * d); defer { xs.deallocate() }
        fillUniform(xs, n * d, seed: 32, lo: 0, hi: 1)
        for i in 0..<n {
            let row = batch.append(id: 40 + i, label: i < 2 ? Int32(i) : nil)
            for j in 0..<d { row[j] = xs[i * d + j] }
        }
        var map = RowMap(capacityRows: n, capacityExamples: n)
        map.buildIdentity(count: n)
        let logP = ws.mat(n, k)
        net.forward(s, inputs: [batch.x], map: map, pass: .training)
        logSoftmax(net.out[0], into: logP)
        let vat = VirtualAdversarial(VATSettings(epsilon: epsilon, weight: 0.7, xi: xi, cleanStatistics: clean), maxRows: n, features: d,
                                     classes: k, workspace: ws)
        return Fixture(net: net, store: s, batch: batch, map: map, logP: logP, vat: vat, workspace: ws)
    }

    func adversarialInput(_ f: Fixture) -> Mat {
        f.vat.adversarialInput(f.net, store: f.store, inputs: [f.x], part: 0, map: f.map, logP: f.logP, batch: f.batch,
                               noise: NoiseSource(seed: 33), step: 4)
    }

    /// With batch normalisation the perturbed passes take their own batch statistics or (`cleanStatistics`) the clean
    /// pass's, held as constants: finite differences then hold them too.
    func testTheTermsParameterGradientMatchesFiniteDifferencesWithThePerturbationHeld() {
        for engine in fp32Engines() {
            for (normalize, clean) in [(false, false), (true, false), (true, true)] {
                let f = fixture(engine, d: 5, normalize: normalize, epsilon: 0.8, xi: 1, clean: clean)
                let held = f.workspace.mat(n, 5)
                held.copy(from: adversarialInput(f))
                XCTAssertNotEqual(held.p[0], f.x.p[0], "the input moved")
                f.store.zeroGrads()
                func value() -> Double {
                    f.vat.term(f.net, store: f.store, inputs: [f.x], part: 0, at: held, map: f.map, logP: f.logP, globalRows: 9).objective
                }
                let v = value()
                XCTAssertGreaterThan(v, 0, "KL(p ‖ q(x + r_adv)) is positive")
                let analytic = f.store.grads.array
                let r = checkGradient(values: f.store.values.pointer, analytic: analytic, eps: 1e-2, value)
                XCTAssertTrue(r.passed, "batch norm \(normalize), clean statistics \(clean), \(engine.choice): \(r)")
                XCTAssertGreaterThan(analytic.map { abs($0) }.max()!, 1e-4)
            }
        }
    }

    /// KL(p ‖ q(x + r)) per row at x + r_adv against x + ε·(a random unit direction): in the linear regime (small ξ
    /// and ε) the power iteration's direction is near the top eigenvector of the classifier's Fisher matrix, which
    /// has rank ≤ K − 1 = 2 in 12 dimensions, so it moves q several times more than a random direction does.
    func testThePowerIterationFindsAFarWorseDirectionThanARandomOne() {
        let d = 12, epsilon: Float = 0.05
        let f = fixture(.reference(), d: d, normalize: false, epsilon: epsilon, xi: 1e-2)
        func kl(at moved: Mat) -> Double {
            f.net.forward(f.store, inputs: [moved], map: f.map, pass: .perturbed)
            let lq = f.workspace.mat(n, k)
            logSoftmax(f.net.out[0], into: lq)
            var s = 0.0
            for i in 0..<n { for j in 0..<k { s += Double(exp(f.logP[i, j])) * Double(f.logP[i, j] - lq[i, j]) } }
            return s
        }
        let adversarial = kl(at: adversarialInput(f))
        let random = f.workspace.mat(n, d)
        fillUniform(random.p, n * d, seed: 34)
        for i in 0..<n {
            let r = random.row(i), x = f.x.row(i)
            let norm = (0..<d).map { r[$0] * r[$0] }.reduce(0, +).squareRoot()
            for j in 0..<d { r[j] = x[j] + epsilon * r[j] / norm }
        }
        let randomKL = kl(at: random)
        XCTAssertGreaterThan(adversarial, 3 * randomKL, "adversarial \(adversarial), random \(randomKL)")
    }

    /// With the clean pass's statistics held, the classifier is one function of x for p and q: a held pass at x itself
    /// gives the training pass's logits bit for bit; a batch moved as a whole along one feature is re-centred by its
    /// own statistics (so a `.perturbed` pass hides the move), not by held ones.
    func testHeldStatisticsMakeThePerturbedPassTheCleanFunction() {
        let f = fixture(.reference(), d: 5, normalize: true, epsilon: 0.8, xi: 1, clean: true)
        let logits = { (m: Mat) in Array(UnsafeBufferPointer(start: m.p, count: m.count)) }
        let clean = logits(f.net.out[0])
        f.net.forward(f.store, inputs: [f.x], map: f.map, pass: .heldStatistics)
        XCTAssertEqual(logits(f.net.out[0]), clean)
        let moved = f.workspace.mat(n, 5)
        for i in 0..<(n * 5) { moved.p[i] = f.x.p[i] + (i % 5 == 0 ? 0.5 : 0) }
        f.net.forward(f.store, inputs: [moved], map: f.map, pass: .heldStatistics)
        let held = logits(f.net.out[0])
        f.net.forward(f.store, inputs: [moved], map: f.map, pass: .perturbed)
        XCTAssertNotEqual(held, logits(f.net.out[0]), "a batch moved as a whole is re-centred by its own statistics, not by held ones")
    }

    final class Touches: GradientWatch {
        var touched = 0
        func touched(_ r: ParamRef) { touched += 1 }
        func settled() {}
    }

    func testThePowerIterationLeavesGradientsWatchAndRunningStatisticsAlone() {
        let f = fixture(.reference(), d: 5, normalize: true, epsilon: 0.8, xi: 1)
        let watch = Touches()
        f.store.watch = watch
        f.store.zeroGrads()
        let before = f.store.values.array
        let moved = adversarialInput(f)
        XCTAssertTrue(f.store.grads.array.allSatisfy { $0 == 0 }, "the power iteration wrote a parameter gradient")
        XCTAssertEqual(watch.touched, 0, "the power iteration reported a gradient write")
        _ = f.vat.term(f.net, store: f.store, inputs: [f.x], part: 0, at: moved, map: f.map, logP: f.logP, globalRows: n)
        XCTAssertTrue(f.store.grads.array.contains { $0 != 0 })
        XCTAssertGreaterThan(watch.touched, 0)
        XCTAssertEqual(f.store.values.array, before, "perturbed passes moved batch normalisation's running statistics")
    }
}
