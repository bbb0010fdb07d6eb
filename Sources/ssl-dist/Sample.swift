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

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode two examples, walk linearly between their latent codes, and decode each point to a PNG strip.")

    @Option(help: "A checkpoint file, or a run directory (its latest checkpoint).") var checkpoint: String
    @OptionGroup var dataOptions: ModelDataOptions
    @Option(help: "Index of the first example in the split.") var from: Int
    @Option(help: "Index of the second example in the split.") var to: Int
    @Option(help: "Points on the walk, endpoints included.") var steps = 10
    @Option(name: .customLong("class"), help: "Decode every point with this class (default: each endpoint's predicted class, switching halfway).")
    var fixedClass: Int?
    @Option(help: "PNG strip to write, or - for standard output (not a terminal).") var out: String
    @Option(help: "Also write one PNG per point into this folder (frame-000.png, ...), for an animation.") var frames: String?

    func validate() throws {
        guard steps >= 2 && steps <= 1000 else { throw ValidationError("--steps \(steps) must be between 2 and 1000") }
        guard from >= 0, to >= 0 else { throw ValidationError("--from and --to must be example indices (0 or more)") }
        try checkOutput(out)
    }

    func run() throws { try reportingFailures(walk) }

    func walk() throws {
        let loaded = try loadForGeneration(checkpoint)
        let (data, name) = try dataOptions.load(for: loaded)
        for (flag, i) in [("--from", from), ("--to", to)] where i >= data.count {
            throw ValidationError("\(flag) \(i): the \(dataOptions.split.rawValue) split of \(name) has \(data.count) examples")
        }
        if let c = fixedClass, !(0..<loaded.modelConfig.classes).contains(c) {
            throw ValidationError("--class \(c): this model has classes 0..\(loaded.modelConfig.classes - 1)")
        }
        let d = data.dim
        let xi = Array(data.features[(from * d)..<((from + 1) * d)]), xj = Array(data.features[(to * d)..<((to + 1) * d)])
        let r = try Generation.interpolate(loaded, xi: xi, xj: xj, steps: steps, fixedClass: fixedClass)
        try r.grid.image.writePNG(to: out)
        if let dir = frames {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let side = r.grid.cellWidth
            for t in 0..<steps {
                var frame = GrayImage(width: side, height: side)
                for j in 0..<(side * side) { frame.pixels[j] = ImageGrid.pixel(r.means[t * d + j]) }
                try frame.writePNG(to: "\(dir)/" + String(format: "frame-%03d.png", t))
            }
        }
        let classes = fixedClass.map { "class \($0) throughout" } ?? "classes \(r.classes.0) → \(r.classes.1) (predicted)"
        FileHandle.standardError.write(Data("wrote \(out == "-" ? "standard output" : out): \(steps) points from example \(from) to \(to) of the \(dataOptions.split.rawValue) split, \(classes)\(frames.map { "; frames in \($0)" } ?? "")\n".utf8))
    }
}
