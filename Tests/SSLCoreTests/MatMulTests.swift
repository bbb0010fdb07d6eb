import SSLCore
import TestSupport
import XCTest

/// The matrix-product engines against each other: oneDNN fp32 against OpenBLAS on single products and on a
/// whole training step, and bf16 products within the error that rounding their inputs to bf16 allows.
final class MatMulTests: XCTestCase {
    /// Products of every transpose combination, with leading dimensions wider than the rows, α and β.
    struct Case { let transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, beta: Float, pad: Int }
    let cases: [Case] = [
        Case(transA: false, transB: true, m: 37, n: 19, k: 53, alpha: 1, beta: 0, pad: 0),
        Case(transA: true, transB: false, m: 19, n: 41, k: 64, alpha: 1, beta: 1, pad: 3),
        Case(transA: false, transB: false, m: 64, n: 50, k: 31, alpha: 1, beta: 1, pad: 0),
        Case(transA: true, transB: true, m: 8, n: 9, k: 10, alpha: 0.5, beta: 0.25, pad: 5),
        Case(transA: false, transB: true, m: 1, n: 784, k: 500, alpha: 1, beta: 0, pad: 0),
    ]

    /// C = α·op(A)·op(B) + β·C0 by `engine`, and Σ_p |op(A)_ip|·|op(B)_pj| per element (for error bounds).
    func product(_ c: Case, _ engine: MatMulEngine, seed: UInt64) -> (c: [Float], magnitude: [Double]) {
        let (ar, ac) = c.transA ? (c.k, c.m) : (c.m, c.k)
        let (br, bc) = c.transB ? (c.n, c.k) : (c.k, c.n)
        let lda = ac + c.pad, ldb = bc + c.pad, ldc = c.n + c.pad
        var a = [Float](repeating: 0, count: ar * lda), b = [Float](repeating: 0, count: br * ldb)
        var out = [Float](repeating: 0, count: c.m * ldc)
        fillUniform(&a, a.count, seed: seed)
        fillUniform(&b, b.count, seed: seed + 1)
        fillUniform(&out, out.count, seed: seed + 2)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    engine.gemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
                                a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: c.beta,
                                c: pc.baseAddress!, ldc: ldc)
                }
            }
        }
        var mag = [Double](repeating: 0, count: c.m * c.n)
        for i in 0..<c.m {
            for j in 0..<c.n {
                var s = 0.0
                for p in 0..<c.k {
                    let av = c.transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = c.transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += abs(Double(av) * Double(bv))
                }
                mag[i * c.n + j] = s
            }
        }
        let dense = (0..<c.m).flatMap { i in out[(i * ldc)..<(i * ldc + c.n)] }
        return (dense, mag)
    }

    func testOneDNNFP32MatchesOpenBLAS() throws {
        let blas = MatMulEngine.reference(), dnnl = try MatMulEngine(backend: .dnnl, precision: .fp32)
        for (i, c) in cases.enumerated() {
            let (x, mag) = product(c, blas, seed: UInt64(10 * i))
            let (y, _) = product(c, dnnl, seed: UInt64(10 * i))
            for e in x.indices {
                // Both sum k fp32 products in some order: |error| ≤ k·2⁻²⁴·Σ|a||b| each (plus the β term's rounding).
                let bound = Double(c.k + 2) * 0x1p-24 * (abs(Double(c.alpha)) * mag[e] + 1)
                XCTAssertLessThanOrEqual(abs(Double(x[e]) - Double(y[e])), 2 * bound, "case \(i) element \(e)")
            }
        }
    }

    func testBF16ProductsStayWithinTheRoundingBound() throws {
        guard let bf16 = try? MatMulEngine(backend: .dnnl, precision: .bf16) else {
            throw XCTSkip("oneDNN has no bf16 matmul on this CPU (it needs AVX-512); the bf16 path is not available here")
        }
        let blas = MatMulEngine.reference()
        var worst = 0.0
        for (i, c) in cases.enumerated() {
            let (x, mag) = product(c, blas, seed: UInt64(10 * i))
            let (y, _) = product(c, bf16, seed: UInt64(10 * i))
            for e in x.indices {
                // Each input rounded to bf16 moves by at most 2⁻⁸ of itself, so each product by (2·2⁻⁸ + 2⁻¹⁶),
                // and the fp32 sums add k·2⁻²⁴ twice (bf16 and reference): the bound on |C_bf16 − C_fp32|.
                let bound = abs(Double(c.alpha)) * mag[e] * (2 * 0x1p-8 + 0x1p-16 + 2 * Double(c.k + 2) * 0x1p-24) + 1e-6
                let err = abs(Double(x[e]) - Double(y[e]))
                XCTAssertLessThanOrEqual(err, bound, "case \(i) element \(e)")
                worst = max(worst, err / bound)
            }
        }
        // The bound is not vacuous: typical errors use a good part of it.
        XCTAssertGreaterThan(worst, 0.01, "bf16 products should differ from fp32 (were the inputs rounded at all?)")
        print(String(format: "bf16 products: worst error %.2f of the rounding bound", worst))
    }

    func testBF16RoundingIsNearestEven() {
        let values: [Float] = [1, 1 + 0x1p-8, 1 + 0x1p-7 + 0x1p-8, 1 + 0x1p-9, -3.14159, 0, 65504]
        let expected: [Float] = [1, 1, 1 + 0x1p-6, 1, -3.140625, 0, 65536]
        // Repeated to 7 × 11 = 77 values: the vector loop and its remainder both meet every case.
        let many = Array(repeating: values, count: 11).flatMap { $0 }
        var out = [UInt16](repeating: 0, count: many.count)
        convertToBF16(many, &out, count: many.count)
        // 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷: ties go to the even one (1); 1 + 3·2⁻⁸ goes up to 1 + 2⁻⁶.
        XCTAssertEqual(out.map(floatFromBF16), Array(repeating: expected, count: 11).flatMap { $0 })
    }

    /// One whole training step of each model: oneDNN fp32 gives the gradients of OpenBLAS within 1e-5 relative.
    func testOneDNNFP32MatchesOpenBLASOnATrainingStep() throws {
        for kind in [ModelKind.m2, .adgm, .sdgm, .m1, .supervised] {
            let a = try stepGradient(kind, MatMulEngine.reference())
            let b = try stepGradient(kind, MatMulEngine(backend: .dnnl, precision: .fp32))
            let r = relativeDifference(a, b)
            print(String(format: "%@: one step, dnnl fp32 vs blas fp32 gradients: relative difference %.2e", kind.rawValue, r.relative))
            XCTAssertLessThanOrEqual(r.relative, 1e-5, "\(kind)")
        }
    }

    /// The bf16 copies a layer keeps between its products never go stale: after a step and an Adam update, a second
    /// step gives bit for bit the gradients of a new model (with new copies) holding the updated parameters.
    func testBF16CopiesFollowTheParameters() throws {
        guard (try? MatMulEngine(backend: .dnnl, precision: .bf16)) != nil else {
            throw XCTSkip("oneDNN has no bf16 matmul on this CPU (it needs AVX-512)")
        }
        for kind in [ModelKind.m2, .adgm, .sdgm, .m1m2] {
            let first = try stepGradient(kind, MatMulEngine(backend: .dnnl, precision: .bf16), steps: 2)
            let second = try stepGradient(kind, MatMulEngine(backend: .dnnl, precision: .bf16), steps: 2, freshModelForLastStep: true)
            let differing = zip(first, second).filter { $0 != $1 }.count
            XCTAssertEqual(differing, 0, "\(kind): a kept bf16 copy went stale (\(differing) of \(first.count) gradients differ)")
        }
    }

    /// The gradient of the last of `steps` steps of `kind` at MNIST-like sizes (784 inputs, 20 + 20 examples), with an
    /// Adam update between steps; `freshModelForLastStep` computes the last one with a new model on the same store.
    func stepGradient(_ kind: ModelKind, _ engine: MatMulEngine, steps: Int = 1, freshModelForLastStep: Bool = false) throws -> [Float] {
        let d = 784, k = 10
        var config = ModelConfig(kind: kind, inputDim: d, classes: k, hidden: [64, 48], latent: 8, auxiliary: 6,
                                 activation: .relu, alpha: 5, evalSamples: 2)
        if kind.stacked { config.stack = StackedM1(hidden: [32], latent: 6, activation: .relu, likelihood: .bernoulli, kept: [0, 2, 5]) }
        let capacity = Capacity(labelled: 20, unlabelled: 20, evaluation: 40)
        var model = makeModel(config, capacity: capacity, workspace: Workspace(engine: engine))
        let store = ParameterStore(layout: model.layout)
        store.initialize(seed: 5)
        let batch = Batch(capacity: 40, features: d)
        var xs = [Float](repeating: 0, count: 40 * d)
        fillUniform(&xs, xs.count, seed: 6, lo: 0, hi: 1)
        for i in 0..<40 {
            let row = batch.append(id: i, label: i < 20 ? Int32(i % k) : nil)
            for j in 0..<d { row[j] = xs[i * d + j] < 0.3 ? 1 : 0 }
        }
        let adam = Adam(count: model.layout.totalCount, learningRate: 1e-2)
        for step in 0..<steps {
            if step == steps - 1 && freshModelForLastStep { model = makeModel(config, capacity: capacity, workspace: Workspace(engine: engine)) }
            store.zeroGrads()
            _ = model.trainStep(batch, store: store, noise: NoiseSource(seed: 7), step: 3 + step, beta: 1,
                                counts: GlobalCounts(labelled: 20, unlabelled: 20))
            if step < steps - 1 { adam.step(store) }
        }
        return store.grads.array
    }
}
