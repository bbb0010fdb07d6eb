import ArgumentParser
import Foundation
import SSLCore
import SSLDistributed
import SSLTraining

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training throughput against this machine's own peaks and the libraries' rates, in one run.")

    @Option(help: "Model: \(ModelKind.names { _ in true }).") var model: ModelKind = .m2
    @Option(help: "Threads (OpenBLAS and oneDNN).") var threads = 1
    @Option(help: "Seconds per measurement.") var seconds = 5.0
    @Option(help: "Unlabelled batch size.") var batchSize = 100
    @Option(help: "Labelled batch size.") var labelledBatchSize = 100
    @Option(help: "Hidden sizes, comma-separated (default: the model's).") var hidden: String?
    @Option(help: "Activation: relu or softplus (default: the model's recipe).") var activation: Activation?
    @Option(help: "Matrix products: dnnl or blas (default dnnl).") var gemm: GemmBackend?
    @Option(help: "Inputs of the matrix products: bf16 or fp32 (default: bf16 where this CPU multiplies bf16 faster: AMX, or AVX512-BF16 on AMD).") var precision: Precision?
    @Flag(help: "Also time each distinct matrix product of the step alone: its calls, share of the FLOPs, rate and milliseconds.")
    var shapes = false
    @Flag(help: "Measure data-parallel steps under mpirun: one allreduce against buckets during backward, and project 8 to 512 ranks.")
    var distributed = false
    @Option(help: "--distributed: gradient bucket size in MB.") var allreduceBucketMb = TrainConfig.defaultAllreduceBucketMB
    @Option(help: "--distributed: unlabelled examples per epoch in the projection (MNIST's 50000).") var examples = 50_000
    @Option(help: "--distributed: epochs to the target accuracy in the projection, on one rank.") var epochsToTarget = 10.0
    @Option(help: "--distributed: epochs to the same accuracy at the larger global batches of several ranks (default: the same).")
    var epochsAtScale: Double?
    @OptionGroup var communicatorOptions: CommunicatorOptions

    var choice: EngineChoice { EngineChoice.resolve(backend: gemm, precision: precision, saved: nil) }

    func runDistributed() throws {
        let comm = try communicatorOptions.make()
        setComputeThreads(threads)
        do {
            let r = try Benchmark.runDistributed(model: model, comm: comm, engine: choice, seconds: seconds,
                                                 unlabelledBatch: batchSize, labelledBatch: labelledBatchSize, bucketMB: allreduceBucketMb)
            if comm.isRoot { printDistributed(r) }
            comm.finalize()
        } catch {
            failOnAllRanks(error, comm)
        }
    }

    func printDistributed(_ r: DistributedBenchmarkResult) {
        print("bench \(model.rawValue) distributed: \(r.ranks) rank(s) x \(threads) thread(s), \(choice), global batch "
              + "\(batchSize) unlabelled + \(labelledBatchSize) labelled, \(r.steps) steps each way")
        print(String(format: "  gradients                  %.2f MB; %d bucket(s) of about %g MB", Double(r.gradientBytes) / 1e6, r.buckets,
                     allreduceBucketMb))
        print(String(format: "  one allreduce after backward   step %.2f ms, allreduce %.3f ms (%.1f%% of the step)",
                     r.fused.stepSeconds * 1e3, r.fused.communicationSeconds * 1e3, 100 * r.fused.communicationSeconds / r.fused.stepSeconds))
        print(String(format: "  buckets during backward        step %.2f ms, waiting after backward %.3f ms: %.0f%% of the allreduce hidden; "
                     + "backward after the first bucket %.2f ms", r.bucketed.stepSeconds * 1e3, r.bucketed.communicationSeconds * 1e3,
                     100 * r.hiddenShare, r.bucketed.windowSeconds * 1e3))
        print(String(format: "  sharded update (the default)   step %.2f ms, waiting after backward and for parts still arriving %.3f ms",
                     r.sharded.stepSeconds * 1e3, r.sharded.communicationSeconds * 1e3))
        print(String(format: "  throughput                 %.0f unlabelled examples/s (global, sharded update; %.0f with every rank updating all)",
                     r.globalExamplesPerSecond, r.unshardedExamplesPerSecond))
        let perRank = max(1, r.examplesPerStep / r.ranks)
        var projection = ScalingProjection(computeSeconds: r.fused.stepSeconds - r.fused.communicationSeconds,
                                           windowSeconds: r.bucketed.windowSeconds, gradientBytes: r.gradientBytes, buckets: r.buckets + 1,
                                           perRankBatch: perRank, examples: examples, epochsToTarget: epochsToTarget)
        projection.epochsAtScale = epochsAtScale
        projection.algorithm = .inUse(ProcessInfo.processInfo.environment)
        print("  projection for p ranks of \(perRank) unlabelled examples each (the global batch grows with p), from this run's "
              + String(format: "compute %.2f ms/step and backward window %.2f ms:", projection.computeSeconds * 1e3, projection.windowSeconds * 1e3))
        print("    allreduce(p) = \(projection.algorithm.formula)   (the buckets' \(projection.algorithm.rawValue); "
              + "B = \(r.gradientBytes) bytes in k = \(r.buckets + 1) buckets)")
        print("    step(p) = compute + max(0, allreduce(p) - window); to target = E epochs x ceil(\(examples) / (p * \(perRank))) steps x step(p),")
        print("    E = \(epochsToTarget) on one rank (--epochs-to-target) and \(epochsAtScale ?? epochsToTarget) at p x \(perRank) (--epochs-at-scale"
              + (epochsAtScale == nil ? ": assumed the same; m2 needs about twice as many at 800, docs/distributed.md)" : ")"))
        print("    ranks  network           allreduce      step   to target  vs 1 rank")
        for row in projection.rows() {
            let network = row.network.padding(toLength: 14, withPad: " ", startingAt: 0)
            print(String(format: "    %5d  %@ %9.2f ms %7.2f ms %9.1f s %9.1fx", row.ranks, network, row.allreduceSeconds * 1e3,
                         row.stepSeconds * 1e3, row.secondsToTarget, row.speedup))
        }
        print(String(format: "RESULT model=%@ ranks=%d gemm=%@ precision=%@ examples_per_second=%.1f unsharded_examples_per_second=%.1f "
                     + "allreduce_share=%.4f hidden_share=%.4f",
                     model.rawValue, r.ranks, choice.backend.rawValue, choice.precision.rawValue, r.globalExamplesPerSecond, r.unshardedExamplesPerSecond,
                     r.fused.communicationSeconds / r.fused.stepSeconds, r.hiddenShare))
    }

    func validate() throws {
        if threads <= 0 { throw ValidationError("--threads \(threads) must be positive") }
        if !(seconds > 0) { throw ValidationError("--seconds \(seconds) must be positive") }
        if !(allreduceBucketMb > 0) { throw ValidationError("--allreduce-bucket-mb \(allreduceBucketMb) must be positive") }
        if examples <= 0 || !(epochsToTarget > 0) || !((epochsAtScale ?? 1) > 0) {
            throw ValidationError("--examples, --epochs-to-target and --epochs-at-scale must be positive")
        }
        if batchSize <= 0 || labelledBatchSize <= 0 { throw ValidationError("--batch-size and --labelled-batch-size must be positive") }
        if gemm == .blas && precision == .bf16 { throw ValidationError("--precision bf16 needs --gemm dnnl (OpenBLAS computes fp32 only)") }
        if let h = hidden {
            let sizes = h.split(separator: ",", omittingEmptySubsequences: false)
            guard !sizes.isEmpty, sizes.allSatisfy({ Int($0).map { $0 > 0 } ?? false }) else {
                throw ValidationError("--hidden \(h): expected positive sizes separated by commas, e.g. 500,500")
            }
        }
    }

    func run() throws {
        if distributed { return try runDistributed() }
        let h = hidden.map { $0.split(separator: ",").compactMap { Int($0) } }
        let r: BenchmarkResult
        do {
            r = try Benchmark.run(model: model, threads: threads, backend: choice.backend, precision: choice.precision,
                                  unlabelledBatch: batchSize, labelledBatch: labelledBatchSize, seconds: seconds, hidden: h,
                                  activation: activation, shapes: shapes)
        } catch {
            // A runtime failure (exit 1), not a usage mistake: no usage text.
            failOnAllRanks(error, SingleProcessCommunicator())
        }
        print("bench \(model.rawValue) (\(Benchmark.recipeSummary(model, activation: activation))): batch \(batchSize) unlabelled + "
              + "\(labelledBatchSize) labelled, \(threads) thread(s), \(r.engine)")
        print(String(format: "  matmul FLOPs per step      %.3f GFLOP (%d products)", r.flopsPerStep / 1e9, r.gemmCalls))
        print(String(format: "  step time                  %.2f ms", r.stepSeconds * 1e3))
        print(String(format: "  throughput                 %.0f unlabelled examples/s", r.examplesPerSecond))
        print(String(format: "  achieved                   %.1f GFLOP/s", r.achievedGflops))
        if let b = r.boundSeconds {
            print(String(format: "  bound of the batch         %.2f ms forward only (evaluate, validation) vs %.2f ms forward + backward: %.1fx faster",
                         b * 1e3, r.trainingPassSeconds * 1e3, r.trainingPassSeconds / b))
        }
        print(String(format: "  machine peak (%d thread(s)) fp32 %.1f GFLOP/s (%d-bit FMA)%@", r.peak.threads, r.peak.fp32, r.peak.fp32Width,
                     r.peak.bf16.map { String(format: ", bf16 %.1f GFLOP/s (%@)", $0, r.peak.bf16Unit ?? "") } ?? ", no native bf16"))
        print("  library rates, GFLOP/s     at the step's shapes / 1024³")
        for rate in r.rates {
            let own = rate.backend == r.backend && rate.precision == r.precision ? "  <- this step" : ""
            print(String(format: "    %-5@ %-5@              %7.1f / %7.1f%@", rate.backend.rawValue, rate.precision.rawValue,
                         rate.shapes, rate.square, own))
        }
        if let own = r.ownRate {
            print(String(format: "  step's share               %.1f%% of its library at the same shapes, %.1f%% of the machine's %@ peak",
                         100 * r.achievedGflops / own.shapes, 100 * r.achievedGflops / r.precisionPeak, r.precision.rawValue))
        }
        if !r.shapeRates.isEmpty { printShapes(r) }
        print(String(format: "RESULT model=%@ threads=%d gemm=%@ precision=%@ examples_per_second=%.1f share_of_library=%.4f share_of_peak=%.4f",
                     model.rawValue, threads, r.backend.rawValue, r.precision.rawValue, r.examplesPerSecond,
                     r.ownRate.map { r.achievedGflops / $0.shapes } ?? 0, r.achievedGflops / r.precisionPeak))
    }

    func printShapes(_ r: BenchmarkResult) {
        print("  products of the step, each alone on \(r.engine) (m×n×k of op(A)·op(B); T: transposed operand), slowest total first")
        print("    calls  transA transB      m      n      k   FLOPs  GFLOP/s   ms/step")
        for s in r.shapeRates {
            print(String(format: "    %5d  %6@ %6@ %6d %6d %6d  %5.1f%%  %7.1f  %8.3f", s.calls, s.shape.transA ? "T" : "-",
                         s.shape.transB ? "T" : "-", s.shape.m, s.shape.n, s.shape.k, 100 * s.flopShare, s.gflops, s.milliseconds))
        }
        let total = r.shapeRates.reduce(0) { $0 + $1.milliseconds }
        print(String(format: "    products alone %.2f ms of the step's %.2f ms (%.0f%%)", total, r.stepSeconds * 1e3, 100 * total / (r.stepSeconds * 1e3)))
    }
}
