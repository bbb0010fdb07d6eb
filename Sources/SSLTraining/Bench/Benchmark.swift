import Foundation
import SSLCore
import SSLData

public enum Benchmark {
    /// The model a benchmark times: MNIST-sized inputs (784 features, 10 classes, 50,000 training examples of which
    /// 100 labelled), the model's recipe (`TrainConfig.recipe(for:)`: its sizes, activation, batch normalisation)
    /// unless given, built as a training run builds it.
    static func modelConfig(_ kind: ModelKind, hidden: [Int]? = nil, latent: Int? = nil, auxiliary: Int? = nil,
                            activation: Activation? = nil) -> ModelConfig {
        var tc = TrainConfig.recipe(for: kind); tc.hidden = hidden; tc.latent = latent; tc.auxiliary = auxiliary
        if let activation { tc.activation = activation }
        let activation = tc.activation
        // Stacked models: Kingma's M1 (600, 600; z₁ 50) under M2, ADGM or SDGM, every latent dimension kept.
        let stack = kind.stacked ? StackedM1(hidden: [600, 600], latent: 50, activation: activation, likelihood: .bernoulli,
                                              kept: Array(0..<50)) : nil
        return tc.modelConfig(inputDim: 784, classes: 10, trainingExamples: 50_000, labels: (0..<100).map { Int32($0 % 10) },
                              stack: stack)
    }

    /// What the benchmark's step computes beyond the sizes, from the model's recipe ("relu, batch norm, clip 5/1, EMA").
    public static func recipeSummary(_ kind: ModelKind, activation: Activation? = nil) -> String {
        let r = TrainConfig.recipe(for: kind)
        var parts = [(activation ?? r.activation).rawValue]
        if r.batchNorm == true { parts.append("batch norm") }
        if r.clipGradNorm != nil || r.clipGradValue != nil {
            parts.append("clip " + [r.clipGradNorm, r.clipGradValue].map { $0.map { "\($0)" } ?? "-" }.joined(separator: "/"))
        }
        if r.ema != nil { parts.append("EMA") }
        return parts.joined(separator: ", ")
    }

    /// Adam as the model's recipe trains it: its clipping and moving average (kept in `store`).
    static func optimizer(_ kind: ModelKind, store: ParameterStore) -> Adam {
        TrainConfig.recipe(for: kind).makeOptimizer(for: store)
    }

    /// Seconds per call of `body(i)` for i = 0, 1, …: called for at least `seconds` and at least `atLeast` times.
    static func secondsPerCall(seconds: Double, atLeast: Int, _ body: (Int) -> Void) -> Double {
        var n = 0
        let t = Date()
        while Date().timeIntervalSince(t) < seconds || n < atLeast { body(n); n += 1 }
        return Date().timeIntervalSince(t) / Double(n)
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

    public static func run(model kind: ModelKind, threads: Int, backend: GemmBackend, precision: Precision,
                           unlabelledBatch: Int = 100, labelledBatch: Int = 100, seconds: Double = 5,
                           hidden: [Int]? = nil, latent: Int? = nil, auxiliary: Int? = nil,
                           activation: Activation? = nil, shapes: Bool = false) throws -> BenchmarkResult {
        setComputeThreads(threads)
        let engine = try MatMulEngine(backend: backend, precision: precision)
        let config = modelConfig(kind, hidden: hidden, latent: latent, auxiliary: auxiliary, activation: activation)
        let d = config.inputDim
        let bu = kind.learnsFromUnlabelled ? unlabelledBatch : 0
        let model = makeModel(config, capacity: Capacity(labelled: labelledBatch, unlabelled: bu, evaluation: 100),
                              workspace: Workspace(engine: engine))
        let store = ParameterStore(layout: model.layout)
        store.initialize(seed: 1)
        let adam = optimizer(kind, store: store)
        let noise = NoiseSource(seed: 1)
        let batch = Batch(capacity: labelledBatch + bu, features: d)
        fillSynthetic(batch, ids: Array(0..<(labelledBatch + bu)), labelledBatch: labelledBatch, classes: config.classes, noise: noise)
        let counts = GlobalCounts(labelled: labelledBatch, unlabelled: bu)
        func step(_ s: Int) {
            store.zeroGrads()
            _ = store.holdingValues { model.trainStep(batch, store: store, noise: noise, step: s, beta: 1, counts: counts) }
            adam.step(store, gradientNorm: Adam.norm(store.grads, from: model.frozenCount), from: model.frozenCount)  // as the trainer does
        }
        // Record one step's products.
        let rec = GemmRecorder()
        engine.recorder = rec
        step(0)
        engine.recorder = nil
        for s in 1...3 { step(s) }  // warm up

        // Throughput.
        let stepSeconds = secondsPerCall(seconds: seconds, atLeast: 5) { step(4 + $0) }

        // A training pass (forward and backward) against the forward-only bound, on the same batch.
        func timed(_ body: (Int) -> Void) -> Double {
            body(0)  // warm-up
            return secondsPerCall(seconds: seconds / 4, atLeast: 3) { body($0 + 1) }
        }
        let trainingPass = timed { s in
            store.zeroGrads()
            _ = store.holdingValues { model.trainStep(batch, store: store, noise: noise, step: s, beta: 1, counts: counts) }
        }
        let bound = (model as? BoundModel).map { m in timed { s in _ = m.bound(batch, store: store, noise: noise, step: s) } }

        // Every available engine at the same shapes, and at 1024³.
        var rates: [BenchmarkResult.Rate] = []
        for (b, p) in [(GemmBackend.blas, Precision.fp32), (.dnnl, .fp32), (.dnnl, .bf16)] {
            // bf16 is left out where oneDNN has no bf16 matmul for this CPU.
            guard let e = b == backend && p == precision ? engine : try? MatMulEngine(backend: b, precision: p) else { continue }
            rates.append(.init(backend: b, precision: p, shapes: replayRate(rec.shapes, engine: e, seconds: seconds / 4),
                               square: replayRate([GemmShape(transA: false, transB: false, m: 1024, n: 1024, k: 1024)],
                                                  engine: e, seconds: seconds / 8)))
        }
        let peak = MachinePeak.measure(threads: threads)
        let examples = Double(bu > 0 ? bu : labelledBatch)
        var result = BenchmarkResult(model: kind, threads: threads, backend: backend, precision: precision, engine: engine.description,
                                     flopsPerStep: rec.flops, gemmCalls: rec.shapes.count, stepSeconds: stepSeconds,
                                     examplesPerSecond: examples / stepSeconds, trainingPassSeconds: trainingPass, boundSeconds: bound,
                                     rates: rates, peak: peak)
        if shapes { result.shapeRates = shapeRates(rec, engine: engine, seconds: seconds) }
        return result
    }

    /// Each distinct product of the recorded step on `engine` alone (its inputs rounded to bf16 on every call, as
    /// `replayRate` does), slowest total first; `seconds` in all, split evenly over the shapes.
    static func shapeRates(_ rec: GemmRecorder, engine: MatMulEngine, seconds: Double) -> [ShapeRate] {
        var calls: [GemmShape: Int] = [:]
        for s in rec.shapes { calls[s, default: 0] += 1 }
        let each = seconds / Double(max(calls.count, 1))
        return calls.map { shape, n in
            ShapeRate(shape: shape, calls: n, gflops: replayRate([shape], engine: engine, seconds: each),
                      flopShare: Double(n) * shape.flops / rec.flops)
        }.sorted { $0.milliseconds > $1.milliseconds }
    }

    /// GFLOP/s of `engine` computing `shapes` back to back (β = 1 into one output, inputs of small values).
    static func replayRate(_ shapes: [GemmShape], engine: MatMulEngine, seconds: Double) -> Double {
        let maxA = shapes.map { $0.m * $0.k }.max() ?? 1
        let maxB = shapes.map { $0.k * $0.n }.max() ?? 1
        let maxC = shapes.map { $0.m * $0.n }.max() ?? 1
        let a = Buffer(count: maxA), b = Buffer(count: maxB), c = Buffer(count: maxC)
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.01 }
        for i in 0..<b.count { b[i] = Float(i % 5) * 0.01 }
        func replay() {
            for s in shapes {
                engine.gemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                            a: a.pointer, lda: s.transA ? s.m : s.k, b: b.pointer, ldb: s.transB ? s.k : s.n,
                            beta: 1, c: c.pointer, ldc: s.n)
            }
        }
        replay()
        return shapes.reduce(0) { $0 + $1.flops } / secondsPerCall(seconds: seconds, atLeast: 3) { _ in replay() } / 1e9
    }
}
