import Foundation
import SSLCore
import SSLData

/// A synthetic hyperspectral cube: `height` × `width` pixels of `bands`-band spectra. Class 0 covers the scene
/// (about 90%); classes 1…3 are discs placed by the seed. Class k's spectrum has a bump at band position
/// 0.3 + 0.17k, times a per-pixel brightness, plus noise. A `labelled` fraction of the pixels (a keyed draw) keep
/// their class in the ground truth (written as class + 1), the rest are 0. Writes `X.npy` (float32 H×W×B) and
/// `GT.npy` (int64 H×W) into `dir`; returns every pixel's true class, row-major.
@discardableResult
public func makeSyntheticCube(_ dir: String, height: Int, width: Int, bands: Int, labelled: Float, seed: UInt64 = 7,
                              groundTruthClasses: Int? = nil) throws -> [Int32] {
    let noise = NoiseSource(seed: seed)
    var discs: [(y: Float, x: Float, r: Float)] = []
    var u = [Float](repeating: 0, count: 3)
    for k in 0..<6 {
        u.withUnsafeMutableBufferPointer { noise.uniforms(step: 0, example: k, stream: .dataSplit, population: .labelled, into: $0.baseAddress!, count: 3) }
        discs.append((u[0] * Float(height), u[1] * Float(width), (0.06 + 0.04 * u[2]) * Float(min(height, width))))
    }
    var x = [Float](repeating: 0, count: height * width * bands), gt = [Int64](repeating: 0, count: height * width)
    var truth = [Int32](repeating: 0, count: height * width)
    var eps = [Float](repeating: 0, count: bands)
    for i in 0..<(height * width) {
        let py = Float(i / width), px = Float(i % width)
        var k = 0
        for (j, d) in discs.enumerated() where (py - d.y) * (py - d.y) + (px - d.x) * (px - d.x) < d.r * d.r { k = 1 + j % 3 }
        truth[i] = Int32(k)
        u.withUnsafeMutableBufferPointer { noise.uniforms(step: 1, example: i, stream: .dataSplit, population: .labelled, into: $0.baseAddress!, count: 3) }
        eps.withUnsafeMutableBufferPointer { noise.normals(step: 2, example: i, stream: .dataSplit, population: .labelled, into: $0.baseAddress!, count: bands) }
        let brightness = 0.8 + 0.4 * u[0], centre = 0.3 + 0.17 * Float(k)
        for b in 0..<bands {
            let lam = Float(b) / Float(max(bands - 1, 1))
            let curve = 1 + 0.6 * Foundation.exp(-(lam - centre) * (lam - centre) / (2 * 0.06 * 0.06))
            x[i * bands + b] = curve * brightness + 0.15 * eps[b]
        }
        if u[1] < labelled { gt[i] = Int64(k + 1) }
    }
    if let c = groundTruthClasses { gt[0] = Int64(c) }  // a label the model cannot know (tests)
    try NPYWriter.write("\(dir)/X.npy", float32: x, shape: [height, width, bands])
    try NPYWriter.write("\(dir)/GT.npy", int64: gt, shape: [height, width])
    return truth
}
