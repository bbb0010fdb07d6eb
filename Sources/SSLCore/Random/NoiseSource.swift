import CKernels
import Foundation

/// What a block of noise is for. Each stream has its own counter space, so
/// noise for different purposes never overlaps.
public enum NoiseStream: UInt32 {
    case binarize = 1
    case latentZ = 2
    case auxiliaryA = 3
    case evalAuxiliaryA = 4
    case shuffle = 5
    case labelSplit = 6
    case initialization = 7
    case dataSplit = 8
    /// z ~ N(0, I) drawn to generate samples (`ssl-dist sample`).
    case generation = 9
    /// z₁ ~ q(z₁|x) of a frozen M1, drawn every step for M1+M2, M1+ADGM, M1+SDGM.
    case m1Features = 10
    /// The random direction d ~ N(0, I) of virtual adversarial training's power iteration, per example.
    case adversarial = 11
}

/// Which set an example was drawn from in a step: the same training example may be
/// drawn as labelled and as unlabelled in one step and must get independent noise.
public enum Population: UInt32 {
    case labelled = 0
    case unlabelled = 1
    case evaluation = 2
}

/// How N(0, 1) draws are computed from the Philox words. Recorded in every model's config (`ModelConfig.normals`), so
/// that a checkpoint resumes, and is evaluated, with the draws it was trained with.
public enum NormalDraw: Int, Codable, Sendable {
    /// Box–Muller in Double with the C library's log, sin and cos, rounded to Float: every checkpoint written before
    /// `float` existed (a model config without the field).
    case double = 1
    /// Box–Muller in Float with polynomial log, sin and cos, vectorised in C (`ssl_philox_normals`): the same bits on
    /// every x86 instruction set, within a few units in the last place of `double`, and 8× cheaper. New runs use it.
    case float = 2
}

/// Counter-based noise keyed by (seed, step, global example index, stream, population).
/// A value never depends on the rank or on batch composition.
public struct NoiseSource {
    public let seed: UInt64
    public let normalDraw: NormalDraw
    @usableFromInline let philox: Philox

    /// `normals`: a run's or a checkpoint's `ModelConfig.normals`; uniforms, shuffles and splits do not depend on it.
    public init(seed: UInt64, normals: NormalDraw = .float) {
        self.seed = seed
        normalDraw = normals
        philox = Philox(seed: seed)
    }

    /// The Philox counter words (all but the block index) for one example's draws: example, step, and
    /// stream | population | sub-stream (e.g. the label of an enumerated row) | high bits of the step.
    @inlinable
    func counter(step: Int, example: Int, stream: NoiseStream, population: Population, sub: Int) -> (UInt32, UInt32, UInt32) {
        let c3 = (stream.rawValue << 24) | (population.rawValue << 20) | (UInt32(truncatingIfNeeded: sub) & 0xFFFF)
            ^ (UInt32(truncatingIfNeeded: step >> 32) << 16)
        return (UInt32(truncatingIfNeeded: example), UInt32(truncatingIfNeeded: step), c3)
    }

    /// Fills `out[0..<n]` four values per Philox block, each block's words mapped by `transform`.
    /// `replica` (a Monte Carlo or importance sample of the same draw) selects the high 16 bits of the block
    /// index, so replica 0 is the plain draw and each replica has 2^16 blocks (2^18 values) of its own (`normals`,
    /// the only caller with replicas, checks the bound).
    @inlinable
    func fill(_ counter: (UInt32, UInt32, UInt32), replica: Int = 0, into out: UnsafeMutablePointer<Float>, count n: Int,
              _ transform: (UInt32, UInt32, UInt32, UInt32) -> (Float, Float, Float, Float)) {
        let (c1, c2, c3) = counter
        var i = 0
        var block: UInt32 = UInt32(truncatingIfNeeded: replica) << 16
        while i < n {
            let (a, b, c, d) = philox.block(block, c1, c2, c3)
            let v = transform(a, b, c, d)
            out[i] = v.0
            if i + 1 < n { out[i + 1] = v.1 }
            if i + 2 < n { out[i + 2] = v.2 }
            if i + 3 < n { out[i + 3] = v.3 }
            i += 4
            block &+= 1
        }
    }

    /// Fills `out[0..<n]` with U(0,1) draws for one example.
    @inlinable
    public func uniforms(step: Int, example: Int, stream: NoiseStream, population: Population, sub: Int = 0,
                         into out: UnsafeMutablePointer<Float>, count n: Int) {
        fill(counter(step: step, example: example, stream: stream, population: population, sub: sub), into: out, count: n) {
            (unitFloat($0), unitFloat($1), unitFloat($2), unitFloat($3))
        }
    }

    /// Fills `out[0..<n]` with N(0,1) draws for one example (Box–Muller, two normals per pair of uniforms), computed as
    /// `normalDraw` says.
    @inlinable
    public func normals(step: Int, example: Int, stream: NoiseStream, population: Population, sub: Int = 0, replica: Int = 0,
                        into out: UnsafeMutablePointer<Float>, count n: Int) {
        precondition(replica == 0 || (n + 3) / 4 <= 1 << 16, "a replicated draw holds at most 2^18 values")
        let c = counter(step: step, example: example, stream: stream, population: population, sub: sub)
        switch normalDraw {
        case .float:
            ssl_philox_normals(philox.key.0, philox.key.1, UInt32(truncatingIfNeeded: replica) << 16, c.0, c.1, c.2, out, Int64(n), -1)
        case .double:
            fill(c, replica: replica, into: out, count: n) {
                let r1 = (-2 * Foundation.log(Double(unitFloat($0)))).squareRoot(), t1 = 2 * Double.pi * Double(unitFloat($1))
                let r2 = (-2 * Foundation.log(Double(unitFloat($2)))).squareRoot(), t2 = 2 * Double.pi * Double(unitFloat($3))
                return (Float(r1 * cos(t1)), Float(r1 * sin(t1)), Float(r2 * cos(t2)), Float(r2 * sin(t2)))
            }
        }
    }

    /// A stream of uniform doubles for shuffles and splits, keyed by (purpose, a, b).
    public func generator(stream: NoiseStream, _ a: Int, _ b: Int = 0) -> CounterGenerator {
        CounterGenerator(philox: philox, c1: UInt32(truncatingIfNeeded: a), c2: UInt32(truncatingIfNeeded: b),
                         c3: stream.rawValue << 24 | UInt32(truncatingIfNeeded: a >> 32) & 0xFFFF)
    }
}
