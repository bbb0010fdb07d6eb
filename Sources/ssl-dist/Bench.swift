import ArgumentParser
import Foundation
import SSLCore
import SSLTraining

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training throughput against this machine's own sgemm rate, in one run.")

    @Option(help: "Model: m2, adgm or supervised.") var model: ModelKind = .m2
    @Option(help: "BLAS threads.") var threads = 1
    @Option(help: "Seconds per measurement.") var seconds = 5.0
    @Option(help: "Unlabelled batch size.") var batchSize = 100
    @Option(help: "Labelled batch size.") var labelledBatchSize = 100
    @Option(help: "Hidden sizes, comma-separated (default: the model's).") var hidden: String?
    @Option(help: "Activation: relu or softplus.") var activation: Activation = .relu

    func validate() throws {
        if threads <= 0 { throw ValidationError("--threads \(threads) must be positive") }
        if !(seconds > 0) { throw ValidationError("--seconds \(seconds) must be positive") }
        if batchSize <= 0 || labelledBatchSize <= 0 { throw ValidationError("--batch-size and --labelled-batch-size must be positive") }
    }

    func run() throws {
        let h = hidden.map { $0.split(separator: ",").compactMap { Int($0) } }
        let r = Benchmark.run(model: model, threads: threads, unlabelledBatch: batchSize, labelledBatch: labelledBatchSize,
                              seconds: seconds, hidden: h, activation: activation)
        print("bench \(model.rawValue): batch \(batchSize) unlabelled + \(labelledBatchSize) labelled, \(threads) BLAS thread(s)")
        print(String(format: "  gemm FLOPs per step        %.3f GFLOP (%d sgemm calls)", r.flopsPerStep / 1e9, r.gemmCalls))
        print(String(format: "  step time                  %.2f ms", r.stepSeconds * 1e3))
        print(String(format: "  throughput                 %.0f unlabelled examples/s", r.examplesPerSecond))
        print(String(format: "  achieved                   %.1f GFLOP/s", r.achievedGflops))
        print(String(format: "  sgemm at the step's shapes %.1f GFLOP/s  -> step reaches %.1f%% of it", r.modelShapeGflops, 100 * r.fractionOfModelShapePeak))
        print(String(format: "  sgemm 1024x1024x1024       %.1f GFLOP/s  -> step reaches %.1f%% of it", r.squareGflops, 100 * r.fractionOfSquarePeak))
    }
}
