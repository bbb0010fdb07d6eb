import Foundation
import SSLCore
import SSLData

/// Measures, in one run and at one thread count:
///  - training-step throughput (unlabelled examples per second) with the chosen backend and precision;
///  - FLOPs per step (from the recorded matrix products);
///  - every available backend and precision replaying exactly the step's products back to back (the libraries'
///    best rate at the model's own shapes), and a 1024³ product;
///  - this machine's own fp32 and bf16 peaks (register-only FMA probes);
/// and the fraction of each the step reaches. Data are random binary images of MNIST size: throughput does not
/// depend on the values.
public struct BenchmarkResult {
    public struct Rate {
        public var backend: GemmBackend
        public var precision: Precision
        /// GFLOP/s at the step's shapes, and for a 1024³ product.
        public var shapes: Double
        public var square: Double
    }
    public var model: ModelKind
    public var threads: Int
    public var backend: GemmBackend
    public var precision: Precision
    /// The oneDNN implementations used (e.g. brg:avx512_core_bf16), or "blas".
    public var engine: String
    public var flopsPerStep: Double
    public var gemmCalls: Int
    public var stepSeconds: Double
    public var examplesPerSecond: Double
    /// One forward-and-backward pass of the step's batch (no update), and the forward-only bound of the same batch
    /// (`BoundModel.bound`, what `evaluate` and validation run): the saving of not running a training step to read
    /// a bound. nil for the supervised model (no bound).
    public var trainingPassSeconds: Double
    public var boundSeconds: Double?
    public var rates: [Rate]
    /// With `shapes`: each distinct product of the step, with its calls and its rate on the step's engine alone.
    public var shapeRates: [ShapeRate] = []
    public var peak: MachinePeak
    public var achievedGflops: Double { flopsPerStep / stepSeconds / 1e9 }
    /// The step's own engine at the step's shapes.
    public var ownRate: Rate? { rates.first { $0.backend == backend && $0.precision == precision } }
    /// The machine's peak for the step's precision.
    public var precisionPeak: Double { precision == .bf16 ? (peak.bf16 ?? peak.fp32) : peak.fp32 }
}

/// One distinct product of a training step: how often the step computes it and the step's engine's rate at it alone.
public struct ShapeRate {
    public var shape: GemmShape
    public var calls: Int
    public var gflops: Double
    /// The product's share of the step's FLOPs.
    public var flopShare: Double
    /// Milliseconds the step spends in this product at `gflops`.
    public var milliseconds: Double { Double(calls) * shape.flops / gflops / 1e6 }
}
