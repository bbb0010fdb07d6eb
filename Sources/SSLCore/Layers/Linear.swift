// O out, I in, B rows.

/// Fully connected layer: y = x·Wᵀ + b, with W of shape (O, I); without b when batch normalisation follows (its
/// shift β takes the bias's place).
public struct Linear {
    public let w: ParamRef
    public let b: ParamRef?
    public let inputs: Int
    public let outputs: Int
    /// bf16 copies of x, W and dy, each rounded once per pass and used by both of its products (W once per training
    /// step: see `ParameterStore.holdingValues`).
    let copies = (x: BF16Copy(), w: BF16Copy(), dy: BF16Copy())

    public init(_ layout: inout ParameterLayout, _ name: String, inputs: Int, outputs: Int, bias: Bool = true) {
        self.inputs = inputs
        self.outputs = outputs
        w = layout.add("\(name).W", [outputs, inputs])
        b = bias ? layout.add("\(name).b", [outputs]) : nil
    }

    /// y(B×O) = x(B×I)·Wᵀ + b. `xCopy`: x's bf16 copy kept by the caller and shared by the layers that read the same x
    /// (the caller invalidates it whenever x changes); without it the layer keeps its own.
    public func forward(_ e: MatMulEngine, _ s: ParameterStore, x: Mat, y: Mat, xCopy: BF16Copy? = nil) {
        if xCopy == nil { copies.x.invalidate() }
        copies.w.invalidate(unlessHeldAt: s.valuesGeneration)
        e.matmulWT(x, s.w(w), out: outputs, into: y, copies: (xCopy ?? copies.x, copies.w))
        if let b { addBias(s.w(b), y) }
    }

    /// dW += dyᵀ·x, db += Σ_rows dy, and dx += dy·W when `dx` is given. x, W and `xCopy` must be those of the last
    /// `forward`.
    public func backward(_ e: MatMulEngine, _ s: ParameterStore, x: Mat, dy: Mat, dx: Mat?, xCopy: BF16Copy? = nil) {
        copies.dy.invalidate()
        e.accumulateWeightGrad(dy: dy, x: x, dW: s.g(w), copies: (copies.dy, xCopy ?? copies.x))
        if let b { accumulateColumnSums(dy, into: s.g(b)) }
        if let dx { e.accumulateInputGrad(dy: dy, w: s.w(w), dx: dx, copies: (copies.dy, copies.w)) }
        s.gradientsSettled()
    }
}

/// y[r, :] += b for every row.
@inlinable
public func addBias(_ b: UnsafePointer<Float>, _ y: Mat) {
    let c = y.cols
    for r in 0..<y.rows {
        let yr = y.p + r * c
        for j in 0..<c { yr[j] += b[j] }
    }
}

/// out[j] += Σ_r m[r, j].
@inlinable
public func accumulateColumnSums(_ m: Mat, into out: UnsafeMutablePointer<Float>) {
    let c = m.cols
    for r in 0..<m.rows {
        let mr = m.p + r * c
        for j in 0..<c { out[j] += mr[j] }
    }
}
