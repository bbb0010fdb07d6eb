import ArgumentParser
import Foundation
import SSLDistributed
import SSLTraining

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
