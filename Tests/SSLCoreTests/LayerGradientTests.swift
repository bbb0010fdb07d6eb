import SSLCore
import TestSupport
import XCTest

/// Layers against central finite differences on tiny sizes, objective f = Σ G ⊙ output.
final class LayerGradientTests: XCTestCase {
    let ws = Workspace()

    func testLinearGradientsMatchFiniteDifferences() {
        for e in fp32Engines() { checkLinear(e) }
    }

    func checkLinear(_ e: MatMulEngine) {
        var layout = ParameterLayout()
        let lin = Linear(&layout, "l", inputs: 4, outputs: 3)
        let s = ParameterStore(layout: layout)
        s.initialize(seed: 3)
        fillUniform(s.w(lin.b!), 3, seed: 4)
        let x = ws.mat(5, 4), y = ws.mat(5, 3), g = ws.mat(5, 3), dx = ws.mat(5, 4)
        fillUniform(x.p, x.count, seed: 5); fillUniform(g.p, g.count, seed: 6)
        func f() -> Double { lin.forward(e, s, x: x, y: y); return dot(g.p, y.p, y.count) }
        _ = f()
        s.zeroGrads(); dx.zero()
        lin.backward(e, s, x: x, dy: g, dx: dx)
        let rp = checkGradient(values: s.values.pointer, analytic: s.grads.array, f)
        XCTAssertTrue(rp.passed, "Linear parameters, \(e.choice): \(rp)")
        let rx = checkGradient(values: x.p, analytic: Array(UnsafeBufferPointer(start: dx.p, count: dx.count)), f)
        XCTAssertTrue(rx.passed, "Linear input, \(e.choice): \(rx)")
    }

    func testActivationDerivativesMatchFiniteDifferences() {
        for act in Activation.allCases {
            let n = 40
            let pre = ws.mat(1, n), h = ws.mat(1, n), g = ws.mat(1, n), d = ws.mat(1, n)
            fillUniform(pre.p, n, seed: 7, lo: -3, hi: 3)
            // Keep ReLU inputs away from its kink at 0.
            for i in 0..<n where abs(pre.p[i]) < 0.05 { pre.p[i] = 0.5 }
            fillUniform(g.p, n, seed: 8)
            func f() -> Double { act.forward(pre: pre.p, out: h.p, count: n); return dot(g.p, h.p, n) }
            act.backward(pre: pre.p, dh: g.p, dpre: d.p, count: n)
            let r = checkGradient(values: pre.p, analytic: Array(UnsafeBufferPointer(start: d.p, count: n)), eps: 1e-3, f)
            XCTAssertTrue(r.passed, "\(act): \(r)")
        }
    }

    /// JointLinear with every kind of part, on an enumerated row map (2 labelled + 2 unlabelled, K = 3).
    func testJointLinearAllParts() {
        for e in fp32Engines() { checkJointLinear(e) }
    }

    func checkJointLinear(_ e: MatMulEngine) {
        var layout = ParameterLayout()
        let k = 3, o = 4
        let jl = JointLinear(&layout, "j", parts: [("a", .perExample(2)), ("y", .label(k)), ("z", .perRow(3)), ("x", .perExample(5))], outputs: o)
        let s = ParameterStore(layout: layout)
        s.initialize(seed: 9)
        fillUniform(s.values.pointer, layout.totalCount, seed: 10)
        var map = RowMap(capacityRows: 16, capacityExamples: 8)
        map.build(labels: [2, 0], unlabelled: 2, classes: k)
        XCTAssertEqual(map.rows, 2 + 2 * k)
        let a = ws.mat(4, 2), z = ws.mat(map.rows, 3), x = ws.mat(4, 5)
        let out = ws.mat(map.rows, o), g = ws.mat(map.rows, o), scratch = ws.mat(8, o)
        let da = ws.mat(4, 2), dz = ws.mat(map.rows, 3)
        fillUniform(a.p, a.count, seed: 11); fillUniform(z.p, z.count, seed: 12); fillUniform(x.p, x.count, seed: 13)
        fillUniform(g.p, g.count, seed: 14)
        func f() -> Double { jl.forward(e, s, inputs: [a, a, z, x], map: map, out: out, scratch: scratch); return dot(g.p, out.p, out.count) }
        _ = f()
        s.zeroGrads(); da.zero(); dz.zero()
        jl.backward(e, s, inputs: [a, a, z, x], map: map, dOut: g, dInputs: [da, nil, dz, nil], scratch: scratch)
        let rp = checkGradient(values: s.values.pointer, analytic: s.grads.array, f)
        XCTAssertTrue(rp.passed, "JointLinear parameters, \(e.choice): \(rp)")
        let ra = checkGradient(values: a.p, analytic: Array(UnsafeBufferPointer(start: da.p, count: da.count)), f)
        XCTAssertTrue(ra.passed, "JointLinear per-example input: \(ra)")
        let rz = checkGradient(values: z.p, analytic: Array(UnsafeBufferPointer(start: dz.p, count: dz.count)), f)
        XCTAssertTrue(rz.passed, "JointLinear per-row input: \(rz)")
    }

    /// Batch normalisation in training (batch statistics, through which the gradient flows) against finite
    /// differences; its running statistics follow the momentum rule; inference uses them.
    func testBatchNormGradientsAndStatistics() {
        var layout = ParameterLayout()
        let rows = 6, h = 4
        let bnWS = Workspace()
        let bn = BatchNorm(&layout, "bn", features: h, maxRows: rows, workspace: bnWS)
        XCTAssertEqual(layout.parameterCount, 2 * h)
        XCTAssertEqual(layout.stateCount, 2 * h)
        let s = ParameterStore(layout: layout)
        s.initialize(seed: 1)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: s.w(bn.gamma), count: h)), [1, 1, 1, 1])
        XCTAssertEqual(Array(UnsafeBufferPointer(start: s.w(bn.runningVariance), count: h)), [1, 1, 1, 1])
        fillUniform(s.w(bn.gamma), h, seed: 2, lo: 0.5, hi: 1.5); fillUniform(s.w(bn.beta), h, seed: 3)
        let x = ws.mat(rows, h), y = ws.mat(rows, h), g = ws.mat(rows, h), dx = ws.mat(rows, h)
        fillUniform(x.p, x.count, seed: 4, lo: -2, hi: 3); fillUniform(g.p, g.count, seed: 5)
        let reducer = LocalReducer()
        func f() -> Double { bn.forward(s, x: x, y: y, pass: .training, reducer: reducer); return dot(g.p, y.p, y.count) }
        _ = f()
        s.zeroGrads()
        dx.copy(from: g)
        bn.backward(s, dy: dx, dx: dx, reducer: reducer)  // in place, as the MLP does
        let rp = checkGradient(values: s.values.pointer, analytic: s.grads.array, eps: 1e-3, f)
        XCTAssertTrue(rp.passed, "BatchNorm γ, β: \(rp)")
        let rx = checkGradient(values: x.p, analytic: Array(UnsafeBufferPointer(start: dx.p, count: dx.count)), eps: 1e-3, f)
        XCTAssertTrue(rx.passed, "BatchNorm input: \(rx)")
        // Running statistics: from (0, 1), after n forwards r ← 0.9r + 0.1·batch (unbiased variance).
        s.initialize(seed: 1)
        bn.forward(s, x: x, y: y, pass: .training, reducer: reducer)
        for j in 0..<h {
            let col = (0..<rows).map { Double(x[$0, j]) }
            let mean = col.reduce(0, +) / Double(rows)
            let unbiased = col.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rows - 1)
            XCTAssertEqual(Double(s.w(bn.runningMean)[j]), 0.1 * mean, accuracy: 1e-6)
            XCTAssertEqual(Double(s.w(bn.runningVariance)[j]), 0.9 + 0.1 * unbiased, accuracy: 1e-5)
        }
        // Inference normalises with the running statistics, and leaves them (and training's cache) alone.
        let before = s.values.array
        bn.forward(s, x: x, y: y, pass: .inference, reducer: reducer)
        XCTAssertEqual(s.values.array, before)
        let sd = (s.w(bn.runningVariance)[0] + 1e-5).squareRoot()
        XCTAssertEqual(y[2, 0], s.w(bn.gamma)[0] * (x[2, 0] - s.w(bn.runningMean)[0]) / sd + s.w(bn.beta)[0], accuracy: 1e-5)
    }

    /// A whole MLP (two hidden layers, two heads), both activations, with and without batch normalisation.
    func testMLPGradientsMatchFiniteDifferencesWithAndWithoutBatchNorm() {
        for engine in fp32Engines() {
        for normalize in [false, true] {
        for act in Activation.allCases {
            var layout = ParameterLayout()
            let k = 2
            let net = MLP(&layout, "n", parts: [("x", .perExample(3)), ("y", .label(k))], hidden: [4, 5],
                          heads: [("mu", 2), ("lv", 2)], activation: act, normalize: normalize, maxRows: 8, maxExamples: 4,
                          workspace: Workspace(engine: engine))
            let s = ParameterStore(layout: layout)
            var map = RowMap(capacityRows: 8, capacityExamples: 4)
            map.build(labels: [1], unlabelled: 2, classes: k)
            let x = ws.mat(3, 3)
            let g0 = ws.mat(map.rows, 2), g1 = ws.mat(map.rows, 2)
            fillUniform(g0.p, g0.count, seed: 17); fillUniform(g1.p, g1.count, seed: 18)
            func f() -> Double {
                net.forward(s, inputs: [x, x], map: map)
                return dot(g0.p, net.out[0].p, g0.count) + dot(g1.p, net.out[1].p, g1.count)
            }
            // For ReLU, pick a point whose pre-activations all stay clear of the kink at 0 under
            // perturbations of size eps, so central differences see a smooth function. With batch normalisation the
            // pre-activations are γ·x̂ + β (the fused pass does not write them).
            func nearKink() -> Bool {
                guard let norms = net.norms else { return net.pre.contains { m in (0..<m.count).contains { abs(m.p[$0]) < 0.05 } } }
                return norms.contains { n in
                    let g = s.w(n.gamma), b = s.w(n.beta)
                    return (0..<(net.rows * n.features)).contains { i in abs(g[i % n.features] * n.normalized.p[i] + b[i % n.features]) < 0.05 }
                }
            }
            var seed: UInt64 = 15
            repeat {
                s.initialize(seed: seed); fillUniform(x.p, x.count, seed: seed + 100)
                _ = f()
                seed += 1
            } while act == .relu && nearKink()
            XCTAssertLessThan(seed, 10_000)
            s.zeroGrads()
            net.dOut[0].copy(from: g0); net.dOut[1].copy(from: g1)
            net.backward(s, inputs: [x, x], map: map, dInputs: [nil, nil])
            let r = checkGradient(values: s.values.pointer, analytic: s.grads.array, eps: act == .relu ? 1e-3 : 1e-2, f)
            XCTAssertTrue(r.passed, "MLP(\(act), batch norm \(normalize)) parameters, \(engine.choice): \(r)")
        }
        }
        }
    }
}
