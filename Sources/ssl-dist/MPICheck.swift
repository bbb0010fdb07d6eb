import ArgumentParser
import Foundation
import SSLDistributed

struct MPICheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi-check",
        abstract: "Check the MPI collectives ssl-dist uses against known results (run it under mpirun).")

    @OptionGroup var communicatorOptions: CommunicatorOptions

    func run() throws {
        let comm = try communicatorOptions.make()
        do {
            let failures = try checkCollectives(comm)
            // Every rank learns how many ranks failed, so all exit with the same status.
            var failed = [failures.isEmpty ? 0.0 : 1.0]
            try comm.allreduce(&failed, .sum)
            if !failures.isEmpty {
                FileHandle.standardError.write(Data("ssl-dist mpi-check: rank \(comm.rank): failed: \(failures.joined(separator: ", "))\n".utf8))
            }
            if comm.isRoot {
                print(failed[0] == 0
                      ? "mpi-check: \(comm.size) rank(s): allreduce sum/min/max (float, double), sums in flight, sums to one rank, allgather, broadcasts in flight, broadcast, barrier, agreement: all ok"
                      : "mpi-check: \(comm.size) rank(s): \(Int(failed[0])) rank(s) failed")
            }
            comm.finalize()
            if failed[0] != 0 { throw ExitCode(1) }
        } catch let e as ExitCode {
            throw e
        } catch {
            failOnAllRanks(error, comm)
        }
    }
}
