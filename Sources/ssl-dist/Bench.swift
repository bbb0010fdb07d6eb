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
    @Flag(help: "Measure data-parallel steps under mpirun: throughput, allreduce time and its share.") var distributed = false
    @OptionGroup var communicatorOptions: CommunicatorOptions

    var choice: EngineChoice { EngineChoice.resolve(backend: gemm, precision: precision, saved: nil) }

    func runDistributed() throws {
        let comm = try communicatorOptions.make()
        setComputeThreads(threads)
        do {
            let r = try Benchmark.runDistributed(model: model, comm: comm, engine: choice, seconds: seconds,
                                                 unlabelledBatch: batchSize, labelledBatch: labelledBatchSize)
            if comm.isRoot {
                print("bench \(model.rawValue) distributed: \(r.ranks) rank(s) x \(threads) thread(s), \(choice), global batch "
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
                print(String(format: "RESULT model=%@ ranks=%d gemm=%@ precision=%@ examples_per_second=%.1f allreduce_share=%.4f",
                             model.rawValue, r.ranks, choice.backend.rawValue, choice.precision.rawValue,
                             r.globalExamplesPerSecond, r.allreduceShare))
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
                                  activation: activation)
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
                     r.peak.bf16.map { String(format: ", bf16 %.1f GFLOP/s (vdpbf16ps)", $0) } ?? ", no native bf16"))
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
        print(String(format: "RESULT model=%@ threads=%d gemm=%@ precision=%@ examples_per_second=%.1f share_of_library=%.4f share_of_peak=%.4f",
                     model.rawValue, threads, r.backend.rawValue, r.precision.rawValue, r.examplesPerSecond,
                     r.ownRate.map { r.achievedGflops / $0.shapes } ?? 0, r.achievedGflops / r.precisionPeak))
    }
}
