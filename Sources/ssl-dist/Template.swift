import ArgumentParser
import Foundation
import SSLCore
import SSLTemplate
import SSLData
import SSLDistributed
import SSLTraining

struct Template: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recover a face hidden at unknown horizontal shifts over a shared background, by EM (distributed over images).",
        discussion: """
        The images are one .npy array: H×W×K (--layout hwk, the default, as in the exercise) or K×H×W (--layout khw), \
        uint8 or float. Each image is the background B (H×W) with the face F (H×w) over columns d…d+w−1 at an unknown \
        shift d (prior a), plus Gaussian noise of standard deviation s. EM runs from --restarts starts and keeps the one \
        with the highest bound; each stops when the bound rises by less than --tolerance of itself, or after \
        --iterations; the bound never falls (a fall stops the run with an error). \
        Writes F.npy, B.npy, a.npy (float64), results.json (with s), metrics.jsonl (the bound per iteration), \
        face.png, background.png and posterior.png (q(d) of the first images, one row each) into --run-dir. \
        Under mpirun each rank takes a share of the images; the M-step's sums are one allreduce.
        """)

    @Option(help: "The images: npy:X.npy (or a path to the .npy).") var data: String
    @Option(help: "Array layout: hwk (H×W×K, default) or khw (K×H×W).") var layout: String = "hwk"
    @Option(help: "The face's width w in pixels (its height is the images').") var faceWidth: Int
    @Option(help: "At most this many EM iterations.") var iterations = 100
    @Option(help: "Stop when the bound rises by less than this fraction of itself.") var tolerance = 1e-9
    @Option(help: "Seed of the first start's face (a random image's columns at a random shift).") var seed: UInt64 = 1
    @Option(help: "EM from this many starts (seeds seed, seed+1, …), keeping the highest bound: EM finds a local maximum.")
    var restarts = 5
    @Option(name: .customLong("init"), help: "Start from a previous run's F, B, a and s (its run directory).") var initFrom: String?
    @Option(help: "Run directory (default runs/template-seedS); one that holds another run is refused unless --overwrite.") var runDir: String?
    @Flag(help: "Move a run already in --run-dir aside (to DIR.replaced-TIME) instead of refusing.") var overwrite = false
    @OptionGroup var communicatorOptions: CommunicatorOptions

    var path: String { data.hasPrefix("npy:") ? String(data.dropFirst(4)) : data }

    func validate() throws {
        guard TemplateOptions.Layout(rawValue: layout) != nil else { throw ValidationError("--layout \(layout): expected hwk or khw") }
        guard faceWidth >= 1 else { throw ValidationError("--face-width \(faceWidth) must be at least 1") }
        guard restarts >= 1 else { throw ValidationError("--restarts \(restarts) must be at least 1") }
        guard iterations >= 1 else { throw ValidationError("--iterations \(iterations) must be at least 1") }
        guard tolerance >= 0 else { throw ValidationError("--tolerance \(tolerance) must be 0 or more") }
    }

    func run() throws {
        let comm = try communicatorOptions.make()
        do {
            var o = TemplateOptions(data: path, faceWidth: faceWidth, runDir: runDir ?? "runs/template-seed\(seed)")
            o.layout = TemplateOptions.Layout(rawValue: layout)!
            o.iterations = iterations; o.tolerance = tolerance; o.seed = seed; o.initFrom = initFrom; o.restarts = restarts
            var metrics: MetricsLog? = nil
            var claim: RunDirectoryClaim? = nil  // held (rank 0) until the process ends
            if comm.isRoot {
                let (c, moved) = try RunDirectoryClaim.claim(o.runDir, ownRun: false, overwrite: overwrite)
                claim = c
                if let moved { print("the run that was in \(o.runDir) is now in \(moved)") }
                metrics = try MetricsLog(path: "\(o.runDir)/metrics.jsonl")
            }
            _ = claim
            let start = Date()
            let r = try TemplateEM.run(o, comm: comm) { restart, t, bound, m in
                try metrics?.append(["restart": restart, "iteration": t, "bound": bound, "sigma": m.sigma,
                                     "seconds": Date().timeIntervalSince(start)])
            }
            if comm.isRoot { try write(r, o, seconds: Date().timeIntervalSince(start), world: comm.size) }
            comm.finalize()
        } catch {
            failOnAllRanks(error, comm)
        }
    }

    func write(_ r: TemplateResult, _ o: TemplateOptions, seconds: Double, world: Int) throws {
        let m = r.model, dir = o.runDir
        try NPYWriter.write("\(dir)/F.npy", float64: m.face, shape: [m.height, m.faceWidth])
        try NPYWriter.write("\(dir)/B.npy", float64: m.background, shape: [m.height, m.width])
        try NPYWriter.write("\(dir)/a.npy", float64: m.prior, shape: [m.shifts])
        let results: [String: Any] = ["sigma": m.sigma, "bound": r.bounds.last!, "iterations": r.bounds.count - 1,
                                      "converged": r.converged, "height": m.height, "width": m.width, "face_width": m.faceWidth,
                                      "seed": Int(o.seed), "restart": r.restart, "start_seed": Int(o.seed) + r.restart,
                                      "final_bounds": r.finalBounds, "world_size": world, "seconds": seconds, "data": o.data]
        try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: "\(dir)/results.json"))
        try image(m.face, m.height, m.faceWidth, scale: 8).writePNG(to: "\(dir)/face.png")
        try image(m.background, m.height, m.width, scale: 8).writePNG(to: "\(dir)/background.png")
        let shown = min(r.posteriors.count / max(m.shifts, 1), 40)
        try image(Array(r.posteriors.prefix(shown * m.shifts)), shown, m.shifts, scale: 8, unit: true).writePNG(to: "\(dir)/posterior.png")
        if r.finalBounds.count > 1 {
            print("template: final bound of each start (seed \(o.seed)…): " + r.finalBounds.map { String(format: "%.6g", $0) }.joined(separator: ", ")
                  + "; keeping start \(r.restart + 1)")
        }
        print(String(format: "template: %d iteration(s)%@, bound %.6g, s %.6g, %.1f s on %d rank(s) → %@",
                     r.bounds.count - 1, r.converged ? " (converged)" : "", r.bounds.last!, m.sigma, seconds, world, dir))
    }

    /// Values as a grey image (min→black, max→white; `unit`: 0→black, 1→white), each value `scale`×`scale` pixels.
    func image(_ v: [Double], _ rows: Int, _ cols: Int, scale: Int, unit: Bool = false) -> GrayImage {
        let lo = unit ? 0 : (v.min() ?? 0), hi = unit ? 1 : (v.max() ?? 1)
        var img = GrayImage(width: max(cols * scale, 1), height: max(rows * scale, 1))
        for y in 0..<(rows * scale) {
            for x in 0..<(cols * scale) {
                img.pixels[y * cols * scale + x] = UInt8((255 * (v[(y / scale) * cols + x / scale] - lo) / max(hi - lo, 1e-12)).rounded())
            }
        }
        return img
    }
}
