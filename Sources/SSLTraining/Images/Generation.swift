import Foundation
import SSLCore
import SSLData

/// Drawing from a trained model's generative side, as image grids.
public enum Generation {
    /// z ~ N(0, I) for samples first..<first+count, each keyed by (seed, sample index).
    public static func latents(seed: UInt64, normals: NormalDraw = .float, first: Int = 0, count: Int, dim: Int) -> [Float] {
        var z = [Float](repeating: 0, count: count * dim)
        let noise = NoiseSource(seed: seed, normals: normals)
        z.withUnsafeMutableBufferPointer { p in
            for i in 0..<count {
                noise.normals(step: 0, example: first + i, stream: .generation, population: .evaluation,
                              into: p.baseAddress! + i * dim, count: dim)
            }
        }
        return z
    }

    static func generative(_ loaded: LoadedModel) throws -> GenerativeModel {
        guard let g = loaded.model as? GenerativeModel else {
            throw TrainingError(message: "the \(loaded.model.config.kind.rawValue) model has no generative side: "
                                + "sample and interpolate need an \(ModelKind.names { $0.semiSupervised }) checkpoint")
        }
        return g
    }

    static func imageSide(_ loaded: LoadedModel) throws -> Int {
        guard let side = squareImageSide(loaded.modelConfig.inputDim) else {
            throw TrainingError(message: "this model's data are vectors of \(loaded.modelConfig.inputDim) features, "
                                + "not square images; images can only be drawn for square inputs")
        }
        return side
    }

    /// Decodes rows (z_r, y_r) in chunks the model's workspace holds; returns the Bernoulli means (n×D).
    public static func decode(_ loaded: LoadedModel, z: [Float], labels: [Int32]) throws -> [Float] {
        let g = try generative(loaded)
        let zd = loaded.modelConfig.latent, d = loaded.modelConfig.inputDim
        let chunk = max(1, loaded.model.capacity.labelled)
        var means = [Float](repeating: 0, count: labels.count * d)
        var zc = z
        try zc.withUnsafeMutableBufferPointer { zp in
            try means.withUnsafeMutableBufferPointer { mp in
                var start = 0
                while start < labels.count {
                    let n = min(chunk, labels.count - start)
                    g.decode(z: Mat(zp.baseAddress! + start * zd, n, zd), labels: Array(labels[start..<(start + n)]),
                             store: loaded.store, into: Mat(mp.baseAddress! + start * d, n, d))
                    start += n
                }
                if mp.contains(where: { !$0.isFinite }) { throw TrainingError(message: "the decoder produced non-finite values") }
            }
        }
        return means
    }

    /// A grid of samples: one row per class in `classes`, `perRow` samples each; or, for one class, `count`
    /// samples in a near-square grid. Sample i of the grid uses z keyed by (seed, i).
    public static func sampleGrid(_ loaded: LoadedModel, classes: [Int], count: Int, seed: UInt64) throws -> (ImageGrid, [Float]) {
        let side = try imageSide(loaded)
        let cols = classes.count > 1 ? count : Int(Double(count).squareRoot().rounded(.up))
        let rows = classes.count > 1 ? classes.count : (count + cols - 1) / cols
        let n = classes.count > 1 ? classes.count * count : count
        let labels = (0..<n).map { Int32(classes.count > 1 ? classes[$0 / count] : classes[0]) }
        let z = latents(seed: seed, normals: loaded.modelConfig.normals, count: n, dim: loaded.modelConfig.latent)
        let means = try decode(loaded, z: z, labels: labels)
        var grid = ImageGrid(rows: rows, cols: cols, cellHeight: side, cellWidth: side)
        means.withUnsafeBufferPointer { m in
            for i in 0..<n { grid.draw(m.baseAddress! + i * side * side, row: i / cols, col: i % cols) }
        }
        return (grid, means)
    }

    /// Encodes examples `xi` and `xj` (real-valued features), walks linearly between their posterior means
    /// in `steps` points, and decodes each. The label is each endpoint's predicted class q(y|x) (the first
    /// half of the walk uses the start's, the second half the end's) unless `fixedClass` is given.
    public static func interpolate(_ loaded: LoadedModel, xi: [Float], xj: [Float], steps: Int, fixedClass: Int?)
        throws -> (grid: ImageGrid, means: [Float], classes: (Int, Int)) {
        let g = try generative(loaded)
        let side = try imageSide(loaded)
        let d = loaded.modelConfig.inputDim, zd = loaded.modelConfig.latent, k = loaded.modelConfig.classes
        var x = xi + xj
        var probs = [Float](repeating: 0, count: 2 * k)
        var endpoints = [Float](repeating: 0, count: 2 * zd)
        var predicted = (0, 0)
        x.withUnsafeMutableBufferPointer { xp in
            probs.withUnsafeMutableBufferPointer { pp in
                let ids = [0, 1]
                ids.withUnsafeBufferPointer {
                    g.classify(Mat(xp.baseAddress!, 2, d), ids: $0, store: loaded.store,
                                          noise: loaded.noise, probs: Mat(pp.baseAddress!, 2, k))
                }
                let pm = Mat(pp.baseAddress!, 2, k)
                predicted = (argmaxRow(pm, 0), argmaxRow(pm, 1))
            }
        }
        let ends = fixedClass.map { ($0, $0) } ?? predicted
        x.withUnsafeMutableBufferPointer { xp in
            endpoints.withUnsafeMutableBufferPointer { ep in
                g.encodeMean(x: Mat(xp.baseAddress!, 2, d), labels: [Int32(ends.0), Int32(ends.1)], store: loaded.store,
                             into: Mat(ep.baseAddress!, 2, zd))
            }
        }
        var z = [Float](repeating: 0, count: steps * zd)
        var labels = [Int32]()
        for t in 0..<steps {
            let a = steps > 1 ? Float(t) / Float(steps - 1) : 0
            for j in 0..<zd { z[t * zd + j] = (1 - a) * endpoints[j] + a * endpoints[zd + j] }
            labels.append(Int32(2 * t < steps ? ends.0 : ends.1))
        }
        let means = try decode(loaded, z: z, labels: labels)
        var grid = ImageGrid(rows: 1, cols: steps, cellHeight: side, cellWidth: side)
        means.withUnsafeBufferPointer { m in for t in 0..<steps { grid.draw(m.baseAddress! + t * d, row: 0, col: t) } }
        return (grid, means, ends)
    }
}
