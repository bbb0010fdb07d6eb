import ArgumentParser
import Foundation
import SSLDistributed
import SSLTraining

/// Loads a checkpoint in this process (generation is cheap; no MPI needed).
func loadForGeneration(_ checkpoint: String) throws -> LoadedModel {
    try LoadedModel.load(checkpoint, comm: SingleProcessCommunicator(),
                         capacity: .init(labelled: 500, unlabelled: 0, evaluation: 500))
}

/// `--out -` writes PNG bytes to standard output, which is refused when that is a terminal.
func checkOutput(_ out: String) throws {
    if out == "-" && isatty(STDOUT_FILENO) != 0 {
        throw ValidationError("--out -: standard output is a terminal; redirect it to a file or a pipe (> grid.png)")
    }
}

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw z ~ N(0, I), decode it for a class, and write a PNG grid of the Bernoulli means.")

    @Option(help: "A checkpoint file, or a run directory (its latest checkpoint).") var checkpoint: String
    @Option(name: .customLong("class"), help: "Class to draw (0..K-1), or 'all' for one row per class.") var classChoice: String
    @Option(help: "Samples (per row with --class all).") var count = 64
    @Option(help: "PNG file to write, or - for standard output (not a terminal).") var out: String
    @Option(help: "Seed for z.") var seed: UInt64 = 1

    func validate() throws {
        guard count > 0 && count <= 1024 else { throw ValidationError("--count \(count) must be between 1 and 1024") }
        if classChoice != "all" && Int(classChoice) == nil {
            throw ValidationError("--class '\(classChoice)' should be a class number or 'all'")
        }
        try checkOutput(out)
    }

    func run() throws { try reportingFailures(draw) }

    func draw() throws {
        let loaded = try loadForGeneration(checkpoint)
        let k = loaded.modelConfig.classes
        let classes: [Int]
        if classChoice == "all" { classes = Array(0..<k) } else {
            let c = Int(classChoice)!
            guard (0..<k).contains(c) else { throw ValidationError("--class \(c): this model has classes 0..\(k - 1)") }
            classes = [c]
        }
        let (grid, _) = try Generation.sampleGrid(loaded, classes: classes, count: count, seed: seed)
        try grid.image.writePNG(to: out)
        let what = classes.count > 1 ? "\(count) per class, one row per class" : "\(count) of class \(classes[0])"
        FileHandle.standardError.write(Data("wrote \(out == "-" ? "standard output" : out): \(grid.image.width)x\(grid.image.height) PNG, \(what), seed \(seed), from \(loaded.path)\n".utf8))
    }
}
