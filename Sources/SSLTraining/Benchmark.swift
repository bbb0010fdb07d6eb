import Foundation
import SSLCore
import SSLData

/// Measures, in one run and at one BLAS thread count:
///  - sgemm GFLOP/s replaying exactly the gemm shapes of one training step (the model's own shapes),
///    and of a large square sgemm, as this machine's peaks;
///  - training-step throughput (unlabelled examples per second);
///  - FLOPs per step (from the recorded gemms), hence the fraction of the sgemm peak reached.
/// Data are random binary images of MNIST size: throughput does not depend on the values.
public struct BenchmarkResult {
    public var model: ModelKind
    public var threads: Int
    public var flopsPerStep: Double
    public var gemmCalls: Int
    public var stepSeconds: Double
    public var examplesPerSecond: Double
    public var modelShapeGflops: Double
    public var squareGflops: Double
    public var achievedGflops: Double { flopsPerStep / stepSeconds / 1e9 }
    public var fractionOfModelShapePeak: Double { achievedGflops / modelShapeGflops }
    public var fractionOfSquarePeak: Double { achievedGflops / squareGflops }
}

public enum Benchmark {
    /// The model a benchmark times: MNIST-sized inputs (784 features), 10 classes, the model's default sizes
    /// unless given.
    static func modelConfig(_ kind: ModelKind, hidden: [Int]? = nil, latent: Int? = nil, auxiliary: Int? = nil,
                            activation: Activation = .relu) -> ModelConfig {
        var tc = TrainConfig(); tc.model = kind; tc.hidden = hidden; tc.latent = latent; tc.auxiliary = auxiliary
        var config = ModelConfig(kind: kind, inputDim: 784, classes: 10, hidden: tc.resolvedHidden, latent: tc.resolvedLatent,
                                 auxiliary: tc.resolvedAuxiliary, activation: activation, alpha: 50, evalSamples: 10,
                                 likelihood: tc.resolvedLikelihood)
        if kind == .m1m2 {
            // Kingma's M1 (600, 600; z₁ 50) under M2, every latent dimension kept.
            config.stack = StackedM1(hidden: [600, 600], latent: 50, activation: activation, likelihood: .bernoulli, kept: Array(0..<50))
        }
        return config
    }

    /// Appends examples `ids` with random binary pixels (on with probability 0.3, keyed by the id); ids below
    /// `labelledBatch` are labelled (class id mod K). Throughput does not depend on the values.
    static func fillSynthetic(_ batch: Batch, ids: [Int], labelledBatch: Int, classes k: Int, noise: NoiseSource) {
        let d = batch.x.cols
        let u = Buffer(count: d)
        batch.reset()
        for i in ids {
            let row = batch.append(id: i, label: i < labelledBatch ? Int32(i % k) : nil)
            noise.uniforms(step: 0, example: i, stream: .binarize, population: .evaluation, into: u.pointer, count: d)
            for j in 0..<d { row[j] = u[j] < 0.3 ? 1 : 0 }
        }
    }

    public static func run(model kind: ModelKind, threads: Int, unlabelledBatch: Int = 100, labelledBatch: Int = 100,
                           seconds: Double = 5, hidden: [Int]? = nil, latent: Int? = nil, auxiliary: Int? = nil,
                           activation: Activation = .relu) -> BenchmarkResult {
        setBLASThreads(threads)
        let config = modelConfig(kind, hidden: hidden, latent: latent, auxiliary: auxiliary, activation: activation)
        let d = config.inputDim
        let bu = kind == .supervised ? 0 : unlabelledBatch
        let model = makeModel(config, capacity: Capacity(labelled: labelledBatch, unlabelled: bu, evaluation: 100))
        let store = ParameterStore(layout: model.layout)
        store.initialize(seed: 1)
        let adam = Adam(count: model.layout.totalCount)
        let noise = NoiseSource(seed: 1)
        let batch = Batch(capacity: labelledBatch + bu, features: d)
        fillSynthetic(batch, ids: Array(0..<(labelledBatch + bu)), labelledBatch: labelledBatch, classes: config.classes, noise: noise)
        let counts = GlobalCounts(labelled: labelledBatch, unlabelled: bu)
        func step(_ s: Int) {
            store.zeroGrads()
            _ = model.trainStep(batch, store: store, noise: noise, step: s, beta: 1, counts: counts)
            adam.step(store, gradientNorm: Adam.norm(store.grads, from: model.frozenCount), from: model.frozenCount)  // as the trainer does
        }
        // Record one step's gemms.
        let rec = GemmRecorder()
        GemmRecorder.active = rec
        step(0)
        GemmRecorder.active = nil
        for s in 1...3 { step(s) }  // warm up

        // Throughput.
        var steps = 0
        let t0 = Date()
        while Date().timeIntervalSince(t0) < seconds || steps < 5 { step(4 + steps); steps += 1 }
        let stepSeconds = Date().timeIntervalSince(t0) / Double(steps)

        // sgemm at the same shapes, replayed back to back.
        let maxA = rec.shapes.map { $0.m * $0.k }.max() ?? 1
        let maxB = rec.shapes.map { $0.k * $0.n }.max() ?? 1
        let maxC = rec.shapes.map { $0.m * $0.n }.max() ?? 1
        let a = Buffer(count: maxA), b = Buffer(count: maxB), cbuf = Buffer(count: maxC)
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.01 }
        for i in 0..<b.count { b[i] = Float(i % 5) * 0.01 }
        func replay() {
            for s in rec.shapes {
                gemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                     a: a.pointer, lda: s.transA ? s.m : s.k, b: b.pointer, ldb: s.transB ? s.k : s.n,
                     beta: 1, c: cbuf.pointer, ldc: s.n)
            }
        }
        replay()
        var reps = 0
        let t1 = Date()
        while Date().timeIntervalSince(t1) < seconds / 2 || reps < 5 { replay(); reps += 1 }
        let shapeGflops = rec.flops * Double(reps) / Date().timeIntervalSince(t1) / 1e9

        // Large square sgemm.
        let n = 1024
        let sa = Buffer(count: n * n), sb = Buffer(count: n * n), sc = Buffer(count: n * n)
        for i in 0..<(n * n) { sa[i] = Float(i % 7) * 0.01; sb[i] = Float(i % 5) * 0.01 }
        func square() { gemm(transA: false, transB: false, m: n, n: n, k: n, a: sa.pointer, lda: n, b: sb.pointer, ldb: n, beta: 0, c: sc.pointer, ldc: n) }
        square()
        var sreps = 0
        let t2 = Date()
        while Date().timeIntervalSince(t2) < seconds / 2 || sreps < 3 { square(); sreps += 1 }
        let squareGflops = 2 * Double(n * n * n) * Double(sreps) / Date().timeIntervalSince(t2) / 1e9

        let examples = Double(bu > 0 ? bu : labelledBatch)
        return BenchmarkResult(model: kind, threads: threads, flopsPerStep: rec.flops, gemmCalls: rec.shapes.count,
                               stepSeconds: stepSeconds, examplesPerSecond: examples / stepSeconds,
                               modelShapeGflops: shapeGflops, squareGflops: squareGflops)
    }
}
