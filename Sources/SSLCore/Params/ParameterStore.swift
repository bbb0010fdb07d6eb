/// Parameters, state and gradients, each one contiguous buffer in layout order.
public final class ParameterStore {
    public let layout: ParameterLayout
    /// Parameters, then state (`layout.totalCount` floats).
    public let values: Buffer
    /// The parameters' gradients (`layout.parameterCount` floats) and the per-step tail that rides with them.
    public let grads: Buffer
    /// An exponential moving average of `values` (parameters and state), when the run keeps one.
    public private(set) var average: Buffer? = nil

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
        values.pointer + (r.isState ? layout.parameterCount : 0) + r.offset
    }
    /// The gradient of a parameter (state has none).
    @inlinable public func g(_ r: ParamRef) -> UnsafeMutablePointer<Float> { grads.pointer + r.offset }

    /// Zeroes the gradients and the tail that rides with them.
    public func zeroGrads() { grads.pointer.update(repeating: 0, count: grads.count + grads.tailCount) }

    /// Deterministic initialisation from the seed: a tensor with a `fill` starts at it; otherwise weight matrices
    /// (rank 2) are Glorot-uniform and vectors zero; per-tensor streams keyed by the tensor's index in the layout.
    public func initialize(seed: UInt64) {
        let noise = NoiseSource(seed: seed)
        for (i, e) in layout.entries.enumerated() {
            let p = values.pointer + layout.start(of: e)
            if let f = e.fill { p.update(repeating: f, count: e.count); continue }
            guard e.shape.count == 2 else { p.update(repeating: 0, count: e.count); continue }
            let fanOut = e.shape[0], fanIn = e.shape[1]
            let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
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
