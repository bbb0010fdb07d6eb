import ArgumentParser
import Foundation
import SSLTraining

@main
struct SSLDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssl-dist",
        abstract: "Semi-supervised deep generative models (M1, M2, M1+M2, ADGM, SDGM, M1+ADGM, M1+SDGM) trained data-parallel with MPI.",
        version: BuildInfo.description,
        subcommands: [Train.self, Evaluate.self, Predict.self, Plot.self, Template.self, Sample.self, Interpolate.self, Features.self, Bench.self, MPICheck.self, Inspect.self]
    )

    /// Every command's mistakes (a flag, a value, a file named wrongly) end one way: `ssl-dist: error: …` naming the
    /// flag or file, a pointer to the command's help, exit 2 — under mpirun from rank 0 only, since every rank parses
    /// the same arguments. `--help` and `--version` print as usual; failures while running are the commands' own
    /// (`failOnAllRanks`: `ssl-dist: [rank r: ]error: …`, exit 1).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            if (ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_RANK"] ?? "0") == "0" {
                let names = configuration.subcommands.map { $0._commandName }
                let name = CommandLine.arguments.dropFirst().first { names.contains($0) }.map { " " + $0 } ?? ""
                let text = message(for: error).trimmingCharacters(in: .whitespacesAndNewlines)
                FileHandle.standardError.write(Data("ssl-dist: error: \(text)\nsee 'ssl-dist\(name) --help'\n".utf8))
            }
            Foundation.exit(2)
        }
    }
}
