/// A named tensor inside the contiguous parameter buffer.
public struct ParamRef: Hashable, Codable {
    public let index: Int
    public let offset: Int
    public let count: Int
}

/// The ordered list of (name, shape) a model declares once; offsets follow from the order.
/// Parameters, gradients and Adam's moments all use this one layout, so zeroing,
/// allreduce, the optimizer step and a checkpoint are each one call over one buffer.
public struct ParameterLayout: Codable, Equatable {
    public struct Entry: Codable, Equatable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public private(set) var entries: [Entry] = []
    public private(set) var totalCount = 0

    public init() {}

    /// Declares a tensor and returns its handle. Names must be unique.
    public mutating func add(_ name: String, _ shape: [Int]) -> ParamRef {
        precondition(!entries.contains { $0.name == name }, "duplicate parameter name \(name)")
        let e = Entry(name: name, shape: shape, offset: totalCount)
        entries.append(e)
        totalCount += e.count
        return ParamRef(index: entries.count - 1, offset: e.offset, count: e.count)
    }

    /// A stable digest of names and shapes (FNV-1a), to check two layouts agree.
    public var signature: UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for e in entries {
            for b in e.name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
            for d in e.shape { h = (h ^ UInt64(truncatingIfNeeded: d)) &* 0x100_0000_01B3 }
        }
        return h
    }
}

/// Parameters and their gradients, each one contiguous buffer in layout order.
public final class ParameterStore {
    public let layout: ParameterLayout
    public let values: Buffer
    public let grads: Buffer

    /// `gradientTail` floats ride after the gradients in the same block, so the per-step scalars
    /// (loss sums, counts, β, flags) join the gradient allreduce instead of needing their own.
    public init(layout: ParameterLayout, gradientTail: Int = 0) {
        self.layout = layout
        values = Buffer(count: layout.totalCount)
        grads = Buffer(count: layout.totalCount, tail: gradientTail)
    }

    /// FNV-1a over the bit patterns of every parameter: equal exactly when the parameters are.
    public var digest: UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        let p = values.pointer
        for i in 0..<values.count { h = (h ^ UInt64(p[i].bitPattern)) &* 0x100_0000_01B3 }
        return h
    }

    @inlinable public func w(_ r: ParamRef) -> UnsafeMutablePointer<Float> { values.pointer + r.offset }
    @inlinable public func g(_ r: ParamRef) -> UnsafeMutablePointer<Float> { grads.pointer + r.offset }

    /// Zeroes the gradients and the tail that rides with them.
    public func zeroGrads() { grads.pointer.update(repeating: 0, count: grads.count + grads.tailCount) }

    /// Deterministic initialisation from the seed: weight matrices (rank 2) Glorot-uniform,
    /// vectors zero; per-tensor streams keyed by the tensor's index in the layout.
    public func initialize(seed: UInt64) {
        let noise = NoiseSource(seed: seed)
        for (i, e) in layout.entries.enumerated() {
            let p = values.pointer + e.offset
            guard e.shape.count == 2 else { p.update(repeating: 0, count: e.count); continue }
            let fanOut = e.shape[0], fanIn = e.shape[1]
            let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
            noise.uniforms(step: 0, example: i, stream: .initialization, population: .labelled, into: p, count: e.count)
            for j in 0..<e.count { p[j] = (2 * p[j] - 1) * limit }
        }
    }
}
