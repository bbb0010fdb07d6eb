// R rows, H hidden sizes, heads: output sizes.

/// A network: a JointLinear input layer, hidden Linear layers, each followed by the activation (with batch
/// normalisation between them when `normalize` is set), and one or more linear heads on the last hidden layer
/// (e.g. μ and log σ²). It owns its cached forward values (linear outputs, pre-activations, activations) and
/// their gradients, allocated once for `maxRows`.
public final class MLP {
    public let first: JointLinear
    public let hidden: [Linear]
    public let heads: [Linear]
    public let activation: Activation
    /// Batch normalisation of each hidden layer's linear output (nil without).
    public let norms: [BatchNorm]?
    /// Forward outputs per head, valid for the rows of the last forward call.
    public private(set) var out: [Mat]
    /// Gradients w.r.t. each head's output: the caller fills them before `backward`.
    public private(set) var dOut: [Mat]
    /// Pre-activations (after batch normalisation when there is one; not written when normalisation and ReLU run as
    /// one pass) and the linear outputs it normalises.
    public private(set) var pre: [Mat]
    var linear: [Mat]
    var act: [Mat]
    var dAct: [Mat]
    let scratch: Mat
    /// bf16 copies of each hidden layer's activations, rounded once per forward by the first product that reads them
    /// and shared with the others (every head reads the last layer's).
    let actCopies: [BF16Copy]
    /// Computes every matrix product of the network (the workspace's engine).
    let engine: MatMulEngine
    /// Owns the buffers the views above point into, and sums batch statistics over ranks.
    let workspace: Workspace
    public private(set) var rows = 0
    /// The kind of the last forward pass (backward follows a training or perturbed one).
    private var lastPass: Pass = .training

    public init(_ layout: inout ParameterLayout, _ name: String, parts: [(String, JointLinear.Part)],
                hidden sizes: [Int], heads headSpecs: [(String, Int)], activation: Activation, normalize: Bool = false,
                maxRows: Int, maxExamples: Int, workspace ws: Workspace) {
        precondition(!sizes.isEmpty, "an MLP needs at least one hidden layer")
        first = JointLinear(&layout, "\(name).l0", parts: parts, outputs: sizes[0], bias: !normalize)
        var h: [Linear] = []
        for i in 1..<sizes.count {
            h.append(Linear(&layout, "\(name).l\(i)", inputs: sizes[i - 1], outputs: sizes[i], bias: !normalize))
        }
        hidden = h
        norms = normalize ? sizes.enumerated().map { BatchNorm(&layout, "\(name).bn\($0.offset)", features: $0.element,
                                                               maxRows: maxRows, workspace: ws) } : nil
        heads = headSpecs.map { Linear(&layout, "\(name).\($0.0)", inputs: sizes.last!, outputs: $0.1) }
        self.activation = activation
        pre = sizes.map { ws.mat(maxRows, $0) }
        linear = normalize ? sizes.map { ws.mat(maxRows, $0) } : pre
        act = sizes.map { ws.mat(maxRows, $0) }
        dAct = sizes.map { ws.mat(maxRows, $0) }
        out = headSpecs.map { ws.mat(maxRows, $0.1) }
        dOut = headSpecs.map { ws.mat(maxRows, $0.1) }
        scratch = ws.mat(maxExamples, sizes.max()!)
        actCopies = sizes.map { _ in BF16Copy() }
        engine = ws.engine
        workspace = ws
        // Views start at full size; forward() narrows them to the rows in use.
    }

    /// Runs the network on `map.rows` rows. `inputs` follow the first layer's parts. With batch normalisation,
    /// `.training` normalises with the batch's statistics (over every rank: all ranks must call it together) and
    /// updates the running ones; `.inference` uses the running ones; `.perturbed` normalises like training and leaves the
    /// running ones alone; `.heldStatistics` normalises with the last training pass's statistics.
    public func forward(_ s: ParameterStore, inputs: [Mat], map: RowMap, pass: Pass = .training) {
        rows = map.rows
        lastPass = pass
        for i in 0..<pre.count { pre[i].rows = rows; linear[i].rows = rows; act[i].rows = rows; dAct[i].rows = rows }
        for i in 0..<out.count { out[i].rows = rows; dOut[i].rows = rows }
        first.forward(engine, s, inputs: inputs, map: map, out: linear[0], scratch: scratch)
        finishHidden(0, s, pass)
        for (i, layer) in hidden.enumerated() {
            layer.forward(engine, s, x: act[i], y: linear[i + 1], xCopy: actCopies[i])
            finishHidden(i + 1, s, pass)
        }
        let last = act.count - 1
        for (i, head) in heads.enumerated() { head.forward(engine, s, x: act[last], y: out[i], xCopy: actCopies[last]) }
    }

    /// Normalisation (if any) and activation of hidden layer `i`'s linear output; batch normalisation of a training
    /// pass and ReLU run as one pass (`fusesNormAndReLU`).
    private func finishHidden(_ i: Int, _ s: ParameterStore, _ pass: Pass) {
        actCopies[i].invalidate()
        if let norm = norms?[i], fusesNormAndReLU(pass) {
            norm.forwardReLU(s, x: linear[i], act: act[i], pass: pass, reducer: workspace.reducer)
            return
        }
        norms?[i].forward(s, x: linear[i], y: pre[i], pass: pass, reducer: workspace.reducer)
        activation.forward(pre: pre[i].p, out: act[i].p, count: pre[i].count)
    }

    /// Whether a pass of this kind normalises and activates in one pass (and backward gates and sums in one).
    private func fusesNormAndReLU(_ pass: Pass) -> Bool { norms != nil && activation == .relu && pass != .inference }

    /// Backpropagates `dOut` (filled by the caller) through the last training forward; adds parameter gradients
    /// into the store and input gradients into `dInputs[p]` where given.
    public func backward(_ s: ParameterStore, inputs: [Mat], map: RowMap, dInputs: [Mat?]) {
        let last = act.count - 1
        dAct[last].zero()
        for (i, head) in heads.enumerated() {
            head.backward(engine, s, x: act[last], dy: dOut[i], dx: dAct[last], xCopy: actCopies[last])
        }
        var i = last
        while true {
            if let norm = norms?[i], fusesNormAndReLU(lastPass) {
                norm.backwardReLU(s, dAct: dAct[i], act: act[i], reducer: workspace.reducer)
            } else {
                activation.backward(pre: pre[i].p, dh: dAct[i].p, dpre: dAct[i].p, count: dAct[i].count)
                norms?[i].backward(s, dy: dAct[i], dx: dAct[i], reducer: workspace.reducer)
            }
            if i == 0 { break }
            dAct[i - 1].zero()
            hidden[i - 1].backward(engine, s, x: act[i - 1], dy: dAct[i], dx: dAct[i - 1], xCopy: actCopies[i - 1])
            i -= 1
        }
        first.backward(engine, s, inputs: inputs, map: map, dOut: dAct[0], dInputs: dInputs, scratch: scratch)
    }
}
