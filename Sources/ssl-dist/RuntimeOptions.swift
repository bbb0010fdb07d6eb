import ArgumentParser
import Foundation
import SSLCore
import SSLDistributed
import SSLTraining

/// Which communicator a command uses.
enum CommunicatorChoice: String, ExpressibleByArgument, CaseIterable {
    /// MPI when started by an MPI launcher (mpirun, or srun with PMIx/PMI), else a single process.
    case auto
    /// Always MPI (without a launcher: Open MPI's singleton start, world size 1).
    case mpi
    /// A single process, no MPI.
    case single
}

struct CommunicatorOptions: ParsableArguments {
    @Option(help: "Communicator: auto (MPI under mpirun/srun), mpi, or single.") var communicator: CommunicatorChoice = .auto

    func make() throws -> Communicator {
        switch communicator {
        case .single: return SingleProcessCommunicator()
        case .mpi: return try MPICommunicator()
        case .auto: return MPICommunicator.launchedByMPI ? try MPICommunicator() : SingleProcessCommunicator()
        }
    }
}

/// How a command computes: threads per rank, the matrix-product backend and precision, the communicator.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Threads per rank for OpenBLAS and oneDNN (default: cores / ranks on this node).") var blasThreads: Int?
    @Option(help: "Matrix products: dnnl (oneDNN, the default) or blas (OpenBLAS, the portable reference).") var gemm: GemmBackend?
    @Option(help: "Inputs of the matrix products: bf16 (fp32 accumulation; the default where this CPU multiplies bf16 faster: AMX, or AVX512-BF16 on AMD) or fp32.")
    var precision: Precision?
    @OptionGroup var communicatorOptions: CommunicatorOptions

    func validate() throws {
        if let t = blasThreads, t <= 0 { throw ValidationError("--blas-threads \(t) must be positive") }
        if gemm == .blas && precision == .bf16 { throw ValidationError("--precision bf16 needs --gemm dnnl (OpenBLAS computes fp32 only)") }
    }

    /// The backend and precision when a flag asks for them (completed as `EngineChoice.resolve` does); nil when
    /// neither flag is given, so a loaded checkpoint keeps its own.
    var requestedEngine: EngineChoice? {
        gemm == nil && precision == nil ? nil : EngineChoice.resolve(backend: gemm, precision: precision, saved: nil)
    }

    /// The communicator, with the threads per rank set for both libraries.
    func makeCommunicator() throws -> Communicator {
        let comm = try communicatorOptions.make()
        setComputeThreads(blasThreads ?? defaultThreads(comm))
        return comm
    }
}

/// One thread per core left to this rank: cores / ranks on this node, at least 1.
func defaultThreads(_ comm: Communicator) -> Int {
    max(1, ProcessInfo.processInfo.activeProcessorCount / max(comm.localSize, 1))
}

/// The one error path of the commands that run in one process: a usage mistake (`ValidationError`) or a chosen
/// exit code goes back to the argument parser (usage text, exit 64); any other failure prints `ssl-dist: error: …`
/// and exits 1 (`failOnAllRanks`), never with the usage text. Commands under MPI call `failOnAllRanks` with their
/// communicator instead.
func reportingFailures(_ body: () throws -> Void) throws {
    do { try body() } catch let e as ValidationError { throw e } catch let e as ExitCode { throw e } catch {
        failOnAllRanks(error, SingleProcessCommunicator())
    }
}

/// Prints `rank R: error` to stderr; under MPI aborts every rank, else exits 1.
func failOnAllRanks(_ error: Error, _ comm: Communicator) -> Never {
    let prefix = comm.size > 1 ? "rank \(comm.rank): " : ""
    FileHandle.standardError.write(Data("ssl-dist: \(prefix)error: \(error)\n".utf8))
    if comm.size > 1 { comm.abort(code: 1) }
    exit(1)
}

extension GemmBackend: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
