/// Parameters, state and gradients, each one contiguous buffer in layout order.
public final class ParameterStore {
    public let layout: ParameterLayout
    /// Parameters, then state (`layout.totalCount` floats).
    public let values: Buffer
    /// The parameters' gradients (`layout.parameterCount` floats) and the per-step tail that rides with them.
    public let grads: Buffer
    /// An exponential moving average of `values` (parameters and state), when the run keeps one.
    public private(set) var average: Buffer? = nil
    /// Told of every gradient write and every finished layer while a distributed step overlaps its allreduce with
    /// backward (nil otherwise).
    public var watch: GradientWatch? = nil
    /// Told of every read of a trained parameter while parameters are still arriving from other ranks (nil otherwise).
    public var readWatch: ParameterReadWatch? = nil

    /// `gradientTail` floats ride after the gradients in the same block, so the per-step scalars
    /// (loss sums, counts, β, flags) join the gradient allreduce instead of needing their own.
    public init(layout: ParameterLayout, gradientTail: Int = 0) {
        self.layout = layout
        values = Buffer(count: layout.totalCount)
        grads = Buffer(count: layout.parameterCount, tail: gradientTail)
    }

    /// Starts keeping an average of the values, from their current values.
    public func keepAverage() {
        let a = Buffer(count: values.count)
        a.pointer.update(from: values.pointer, count: values.count)
        average = a
    }

    /// FNV-1a over the bit patterns of every value (parameters and state): equal exactly when they are.
    public var digest: UInt64 {
        var h = FNV1a()
        h.add(UnsafeBufferPointer(start: values.pointer, count: values.count))
        return h.value
    }

    @inlinable public func w(_ r: ParamRef) -> UnsafeMutablePointer<Float> {
        if let readWatch, !r.isState { readWatch.reading(r) }
        return values.pointer + (r.isState ? layout.parameterCount : 0) + r.offset
    }
    /// The gradient of a parameter (state has none).
    @inlinable public func g(_ r: ParamRef) -> UnsafeMutablePointer<Float> {
        if let discard { return discard.pointer }
        watch?.touched(r)
        return grads.pointer + r.offset
    }

    /// While set, `g(_:)` hands out this scratch area (as large as the largest tensor) instead of the gradients, and
    /// reports nothing to the watch (see `discardingGradients`).
    @usableFromInline var discard: Buffer? = nil
    private lazy var discardArea = Buffer(count: layout.entries.map(\.count).max() ?? 1)

    /// Runs `body` with every gradient write going to a scratch area: a backward pass run only for its input gradients
    /// (the power iteration of virtual adversarial training) leaves the step's gradients, and the allreduce that
    /// watches them, alone.
    public func discardingGradients<T>(_ body: () throws -> T) rethrows -> T {
        discard = discardArea
        defer { discard = nil }
        return try body()
    }

    /// Every gradient write through a pointer from `g(_:)` so far is complete (each layer's backward ends with it).
    @inlinable public func gradientsSettled() { watch?.settled() }

    /// Set while `holdingValues` runs: which holding it is. Layers keep their bf16 copies of weights from one pass to
    /// the next while it stays the same; nil: the values may change at any time, and every forward rounds them anew.
    public private(set) var valuesGeneration: Int? = nil
    private var generations = 0

    /// Runs `body` (a training step's passes, before its update) promising that the trained values do not change
    /// in it, so each weight matrix is rounded to bf16 once for all of the step's forward and backward passes
    /// instead of once per pass. Values arriving from other ranks (the sharded update's gather) are waited for by
    /// `w(_:)` before the first rounding.
    public func holdingValues<T>(_ body: () throws -> T) rethrows -> T {
        generations += 1
        valuesGeneration = generations
        defer { valuesGeneration = nil }
        return try body()
    }

    /// Zeroes the gradients and the tail that rides with them.
    public func zeroGrads() { grads.pointer.update(repeating: 0, count: grads.count + grads.tailCount) }

    /// Deterministic initialisation from the seed: a tensor with a `fill` starts at it; otherwise weight matrices
    /// (rank 2) are drawn uniform by `scheme` (see `WeightInit`) and vectors are zero; per-tensor streams keyed by the
    /// tensor's index in the layout.
    public func initialize(seed: UInt64, scheme: WeightInit = .glorot) {
        let noise = NoiseSource(seed: seed)
        let fanIns = scheme == .fanIn ? layerFanIns(layout) : [:]
        for (i, e) in layout.entries.enumerated() {
            let p = values.pointer + layout.start(of: e)
            if let f = e.fill { p.update(repeating: f, count: e.count); continue }
            guard e.shape.count == 2 else { p.update(repeating: 0, count: e.count); continue }
            let limit: Float
            switch scheme {
            case .glorot:
                let fanOut = e.shape[0], fanIn = e.shape[1]
                limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
            case .fanIn:
                limit = Float(1 / Double(fanIns[splitName(e.name).layer] ?? e.shape[1]).squareRoot())
            }
            noise.uniforms(step: 0, example: i, stream: .initialization, population: .labelled, into: p, count: e.count)
            for j in 0..<e.count { p[j] = (2 * p[j] - 1) * limit }
        }
        if let a = average { a.pointer.update(from: values.pointer, count: values.count) }
    }

    /// A store holding the averaged values (parameters and state) of this one, for evaluation.
    public func averaged() -> ParameterStore? {
        guard let a = average else { return nil }
        let s = ParameterStore(layout: layout)
        s.values.pointer.update(from: a.pointer, count: values.count)
        return s
    }
}

/// A tensor's name as its layer (up to the last dot) and its own part: "qz.l0.W_x" → ("qz.l0", "W_x").
func splitName(_ tensor: String) -> (layer: Substring, leaf: Substring) {
    guard let dot = tensor.lastIndex(of: ".") else { return (Substring(tensor), Substring(tensor)) }
    return (tensor[..<dot], tensor[tensor.index(after: dot)...])
}

/// Each layer's fan-in: the inputs of its weight matrices together ("L.W" and "L.W_part" of shape (out, in) count
/// `in`; a label embedding "L.E_part" of shape (K, out) counts K).
func layerFanIns(_ layout: ParameterLayout) -> [Substring: Int] {
    var fanIns: [Substring: Int] = [:]
    for e in layout.entries where e.shape.count == 2 && e.fill == nil {
        let (layer, leaf) = splitName(e.name)
        fanIns[layer, default: 0] += leaf.hasPrefix("E_") ? e.shape[0] : e.shape[1]
    }
    return fanIns
}
