import ArgumentParser

@main
struct SSLDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssl-dist",
        abstract: "Semi-supervised deep generative models (M2, ADGM) trained data-parallel with MPI.",
        subcommands: [Train.self, Evaluate.self, Sample.self, Interpolate.self, Bench.self, MPICheck.self, Inspect.self]
    )
}
