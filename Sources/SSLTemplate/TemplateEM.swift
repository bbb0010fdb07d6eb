import Foundation
import SSLCore
import SSLData
import SSLDistributed

/// `ssl-dist template`: EM for a face at unknown horizontal shifts over a shared background (`ShiftedTemplate`),
/// distributed over images: each rank runs the E-step on its own contiguous share of the images and the M-step's
/// sums are one allreduce, so every rank holds the same parameters and the result does not depend on the number of
/// ranks beyond summation order.
public struct TemplateOptions {
    public enum Layout: String, CaseIterable { case hwk, khw }
    public var data: String
    public var layout: Layout = .hwk
    public var faceWidth: Int
    public var iterations = 100
    /// Stop when the bound rises by less than this fraction of its size.
    public var tolerance = 1e-9
    public var seed: UInt64 = 1
    /// EM runs from this many starts (seeds seed, seed+1, …); the one with the highest final bound wins. EM finds a
    /// local maximum, and a face started half over the background can settle on one far from the truth.
    public var restarts = 1
    /// A previous run's directory to start from (F.npy, B.npy, a.npy and its σ), e.g. to grow K in stages.
    public var initFrom: String? = nil
    public var runDir: String
    public init(data: String, faceWidth: Int, runDir: String) { self.data = data; self.faceWidth = faceWidth; self.runDir = runDir }
}

public struct TemplateResult {
    public var model: ShiftedTemplate
    /// The bound after every E-step (the first is at the starting parameters).
    public var bounds: [Double]
    public var converged: Bool
    /// Which start this was (0-based; its seed is the options' seed plus this) and every start's final bound.
    public var restart = 0
    public var finalBounds: [Double] = []
    /// This rank's images' posteriors q(d) (S per image) after the last E-step, and its first image's index.
    public var posteriors: [Double]
    public var firstImage: Int
}

public enum TemplateEM {
    /// The images of `path` as K×H×W (row-major per image), in Double.
    public static func load(_ path: String, layout: TemplateOptions.Layout) throws -> (images: [Double], k: Int, h: Int, w: Int) {
        let x = try NPYReader.read(path)
        guard x.shape.count == 3 else {
            throw DataError(path, "has shape \(x.shape): expected a 3-dimensional array, H×W×K (--layout hwk, the default) or K×H×W (--layout khw)")
        }
        guard [.float32, .float64, .uint8].contains(x.dtype) else {
            throw DataError(path, "images of dtype \(x.dtype) are not supported; expected float32, float64 or uint8")
        }
        if let i = x.values.firstIndex(where: { !$0.isFinite }) { throw DataError(path, "value \(i) is \(x.values[i]); the images must be finite") }
        let (h, w, k) = layout == .hwk ? (x.shape[0], x.shape[1], x.shape[2]) : (x.shape[1], x.shape[2], x.shape[0])
        guard k > 0 && h > 0 && w > 0 else { throw DataError(path, "has shape \(x.shape): no images") }
        var images = [Double](repeating: 0, count: k * h * w)
        for n in 0..<k {
            for p in 0..<(h * w) { images[n * h * w + p] = Double(layout == .hwk ? x.values[p * k + n] : x.values[n * h * w + p]) }
        }
        return (images, k, h, w)
    }

    /// The starting parameters: from `initFrom`, or from the seed: B the mean image, F the columns of a random image
    /// at a random shift, σ the pixels' standard deviation, a uniform (global statistics, summed over ranks).
    static func start(_ o: TemplateOptions, mine: ArraySlice<Double>, first: Int, count: Int, k: Int, h: Int, w: Int,
                      comm: Communicator) throws -> ShiftedTemplate {
        let fw = o.faceWidth, s = w - fw + 1
        if let dir = o.initFrom { return try previous(dir, h: h, w: w, faceWidth: fw) }
        var g = NoiseSource(seed: o.seed).generator(stream: .initialization, 1)
        let pick = g.nextInt(k), shift = g.nextInt(s)
        var sums = [Double](repeating: 0, count: h * w + h * fw + 2)  // Σ images | the picked face | ΣX, ΣX²
        for n in 0..<count {
            let x = mine[mine.startIndex + n * h * w ..< mine.startIndex + (n + 1) * h * w]
            for (p, v) in x.enumerated() { sums[p] += v; sums[h * w + h * fw] += v; sums[h * w + h * fw + 1] += v * v }
            if first + n == pick { for i in 0..<h { for m in 0..<fw { sums[h * w + i * fw + m] = x[x.startIndex + i * w + shift + m] } } }
        }
        try comm.allreduce(&sums, .sum)
        let n = Double(k * h * w), mean = sums[h * w + h * fw] / n
        let sd = max((sums[h * w + h * fw + 1] / n - mean * mean).squareRoot(), 1e-6)
        return ShiftedTemplate(face: Array(sums[(h * w)..<(h * w + h * fw)]), background: sums[0..<(h * w)].map { $0 / Double(k) },
                               prior: [Double](repeating: 1 / Double(s), count: s), sigma: sd, height: h, width: w, faceWidth: fw)
    }

    /// A previous run's parameters, checked against these images.
    static func previous(_ dir: String, h: Int, w: Int, faceWidth fw: Int) throws -> ShiftedTemplate {
        let f = try NPYReader.read("\(dir)/F.npy"), b = try NPYReader.read("\(dir)/B.npy"), a = try NPYReader.read("\(dir)/a.npy")
        guard f.shape == [h, fw], b.shape == [h, w], a.shape == [w - fw + 1] else {
            throw DataError("--init", "\(dir) holds F \(f.shape), B \(b.shape), a \(a.shape); these images need F [\(h), \(fw)], "
                            + "B [\(h), \(w)], a [\(w - fw + 1)]")
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/results.json"))) as? [String: Any],
              let sigma = json["sigma"] as? Double else {
            throw DataError("--init", "\(dir)/results.json has no sigma")
        }
        return ShiftedTemplate(face: f.values.map(Double.init), background: b.values.map(Double.init),
                               prior: a.values.map { max(Double($0), 1e-300) }, sigma: sigma, height: h, width: w, faceWidth: fw)
    }

    /// EM from `o.restarts` starts (one with `initFrom`), each until the bound stops rising (relative `tolerance`) or
    /// `iterations`; returns the start with the highest final bound. `report(restart, t, bound, model)` after each
    /// E-step (on every rank). Throws if the bound ever falls (beyond rounding), naming the iteration.
    public static func run(_ o: TemplateOptions, comm: Communicator,
                           report: (Int, Int, Double, ShiftedTemplate) throws -> Void) throws -> TemplateResult {
        let (images, k, h, w) = try load(o.data, layout: o.layout)
        guard o.faceWidth >= 1 && o.faceWidth <= w else {
            throw DataError("--face-width", "\(o.faceWidth) must be between 1 and the images' width \(w)")
        }
        let mineRange = slice(total: k, rank: comm.rank, world: comm.size)
        let mine = images[(mineRange.lowerBound * h * w)..<(mineRange.upperBound * h * w)]
        var best: TemplateResult? = nil, finals: [Double] = []
        for r in 0..<(o.initFrom == nil ? max(o.restarts, 1) : 1) {
            var started = o
            started.seed = o.seed &+ UInt64(r)
            let model = try start(started, mine: mine, first: mineRange.lowerBound, count: mineRange.count, k: k, h: h, w: w, comm: comm)
            var result = try em(from: model, o, mine: mine, images: mineRange, comm: comm) { try report(r, $0, $1, $2) }
            result.restart = r
            finals.append(result.bounds.last!)
            // Every rank holds the same bounds (they are allreduced), so every rank keeps the same start.
            if best == nil || result.bounds.last! > best!.bounds.last! { best = result }
        }
        best!.finalBounds = finals
        return best!
    }

    /// EM from `model` on this rank's images `mine` (global indices `images`).
    static func em(from start: ShiftedTemplate, _ o: TemplateOptions, mine: ArraySlice<Double>, images mineRange: Range<Int>,
                   comm: Communicator, report: (Int, Double, ShiftedTemplate) throws -> Void) throws -> TemplateResult {
        var model = start
        let s = model.shifts, h = model.height, w = model.width
        var bounds: [Double] = [], q = [Double](repeating: 0, count: mineRange.count * s), converged = false
        for t in 0...o.iterations {
            // E-step on this rank's images, with the statistics of the M-step and the bound; one allreduce.
            var st = ShiftedTemplate.Statistics(shifts: s, height: h, width: w, faceWidth: o.faceWidth)
            var lp = [Double](repeating: 0, count: s)
            for n in 0..<mineRange.count {
                mine.withUnsafeBufferPointer { x in
                    let image = x.baseAddress! + n * h * w
                    lp.withUnsafeMutableBufferPointer { model.logLikelihoods(image, into: $0.baseAddress!) }
                    q.withUnsafeMutableBufferPointer { qp in
                        st.bound += lp.withUnsafeBufferPointer { model.posterior(logLikelihoods: $0.baseAddress!, into: qp.baseAddress! + n * s) }
                        model.accumulate(image, q: qp.baseAddress! + n * s, into: &st)
                    }
                }
            }
            try st.values.withUnsafeMutableBufferPointer { try comm.allreduce($0, .sum) }
            if let last = bounds.last, st.bound < last - 1e-9 * abs(last) {
                throw TemplateError(message: "iteration \(t): the bound fell from \(last) to \(st.bound); EM must not decrease it "
                                    + "(non-finite data, or a σ collapsed to 0?)")
            }
            bounds.append(st.bound)
            try report(t, st.bound, model)
            if bounds.count >= 2 && bounds[bounds.count - 1] - bounds[bounds.count - 2] <= o.tolerance * abs(st.bound) {
                converged = true
                break
            }
            if t == o.iterations { break }
            model.maximize(st)
        }
        return TemplateResult(model: model, bounds: bounds, converged: converged, posteriors: q, firstImage: mineRange.lowerBound)
    }
}

/// EM went wrong (a bound that fell): the iteration and what to check.
public struct TemplateError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
