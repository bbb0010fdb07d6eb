import ArgumentParser
import SSLTraining

@main
struct SSLDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssl-dist",
        abstract: "Semi-supervised deep generative models (M1, M2, M1+M2, ADGM, SDGM, M1+ADGM, M1+SDGM) trained data-parallel with MPI.",
        version: BuildInfo.description,
        subcommands: [Train.self, Evaluate.self, Predict.self, Plot.self, Template.self, Sample.self, Interpolate.self, Features.self, Bench.self, MPICheck.self, Inspect.self]
    )
}
