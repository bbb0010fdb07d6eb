import ArgumentParser
import Foundation
import SSLCore
import SSLDistributed
import SSLTraining

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training throughput against this machine's own sgemm rate, in one run.")

    @Option(help: "Model: m2, adgm, sdgm, m1, m1m2 or supervised.") var model: ModelKind = .m2
    @Option(help: "BLAS threads.") var threads = 1
    @Option(help: "Seconds per measurement.") var seconds = 5.0
    @Option(help: "Unlabelled batch size.") var batchSize = 100
    @Option(help: "Labelled batch size.") var labelledBatchSize = 100
    @Option(help: "Hidden sizes, comma-separated (default: the model's).") var hidden: String?
    @Option(help: "Activation: relu or softplus.") var activation: Activation = .relu
    @Flag(help: "Measure data-parallel steps under mpirun: throughput, allreduce time and its share.") var distributed = false
    @OptionGroup var communicatorOptions: CommunicatorOptions

    func runDistributed() throws {
        let comm = try communicatorOptions.make()
        setBLASThreads(threads)
        do {
            let r = try Benchmark.runDistributed(model: model, comm: comm, seconds: seconds, unlabelledBatch: batchSize,
                                                 labelledBatch: labelledBatchSize)
            if comm.isRoot {
                print("bench \(model.rawValue) distributed: \(r.ranks) rank(s) x \(threads) BLAS thread(s), global batch "
                      + "\(batchSize) unlabelled + \(labelledBatchSize) labelled, \(r.steps) steps")
                print(String(format: "  step time                  %.2f ms", r.stepSeconds * 1e3))
                print(String(format: "  throughput                 %.0f unlabelled examples/s (global)", r.globalExamplesPerSecond))
                print(String(format: "  allreduce                  %.3f ms/step (%.1f%% of the step), %.2f MB of gradients",
                             r.allreduceSeconds * 1e3, 100 * r.allreduceShare, Double(r.gradientBytes) / 1e6))
                // Estimate for 8 ranks over 10 GbE from the measured gradient size and compute time.
                let compute = r.stepSeconds - r.allreduceSeconds
                let comm8 = Benchmark.ringAllreduceSeconds(bytes: r.gradientBytes, ranks: 8, bytesPerSecond: 1.25e9)
                let strong = compute * Double(r.ranks) / 8
                print(String(format: "  estimate, 8 ranks on 10 GbE: ring allreduce %.1f ms/step; share %.0f%% with this "
                             + "global batch split 8 ways (strong), %.0f%% with this per-rank batch (weak)",
                             comm8 * 1e3, 100 * comm8 / (comm8 + strong), 100 * comm8 / (comm8 + compute)))
                print(String(format: "RESULT model=%@ ranks=%d examples_per_second=%.1f allreduce_share=%.4f",
                             model.rawValue, r.ranks, r.globalExamplesPerSecond, r.allreduceShare))
            }
            comm.finalize()
        } catch {
            failOnAllRanks(error, comm)
        }
    }

    func validate() throws {
        if threads <= 0 { throw ValidationError("--threads \(threads) must be positive") }
        if !(seconds > 0) { throw ValidationError("--seconds \(seconds) must be positive") }
        if batchSize <= 0 || labelledBatchSize <= 0 { throw ValidationError("--batch-size and --labelled-batch-size must be positive") }
    }

    func run() throws {
        if distributed { return try runDistributed() }
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
