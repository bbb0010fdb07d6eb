import ArgumentParser

@main
struct SSLDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssl-dist",
        abstract: "Semi-supervised deep generative models (M2, ADGM) trained data-parallel with MPI.",
        subcommands: [Train.self, Bench.self, MPICheck.self, Inspect.self]
    )
}
