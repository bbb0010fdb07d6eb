// B examples, R rows (see RowMap), O outputs, K classes.

/// The first layer of a network whose input is a concatenation such as [x, y], [a, x, y]
/// or [x, y, z]: pre = Σ_p W_p·input_p + b, computed part by part so that
///  - per-example parts (x, a) are multiplied once per example and then gathered to rows,
///  - the one-hot label part is a row lookup E[y] (E = W_yᵀ, stored (K, O)),
///  - per-row parts (z) are one gemm over all rows.
/// With only per-row parts it is an ordinary Linear over concatenated inputs.
public struct JointLinear {
    public enum Part: Equatable {
        case perExample(Int)
        case perRow(Int)
        case label(Int)
    }

    public let parts: [Part]
    public let weights: [ParamRef]  // one per part; label part: (K, O)
    /// nil when batch normalisation follows (its shift β takes the bias's place).
    public let bias: ParamRef?
    public let outputs: Int
    let hasPerExample: Bool
    let hasPerRow: Bool
    /// bf16 copies, rounded once per pass: each part's input and the two output gradients, and each part's weight
    /// (once per training step: see `ParameterStore.holdingValues`).
    let inputCopies: [BF16Copy], weightCopies: [BF16Copy]
    let dOutCopy = BF16Copy(), dPerExampleCopy = BF16Copy()

    public init(_ layout: inout ParameterLayout, _ name: String, parts: [(String, Part)], outputs: Int, bias hasBias: Bool = true) {
        self.parts = parts.map(\.1)
        self.outputs = outputs
        weights = parts.map { name2, part in
            switch part {
            case .perExample(let n), .perRow(let n): return layout.add("\(name).W_\(name2)", [outputs, n])
            case .label(let k): return layout.add("\(name).E_\(name2)", [k, outputs])
            }
        }
        bias = hasBias ? layout.add("\(name).b", [outputs]) : nil
        hasPerExample = self.parts.contains { if case .perExample = $0 { return true } else { return false } }
        hasPerRow = self.parts.contains { if case .perRow = $0 { return true } else { return false } }
        inputCopies = parts.map { _ in BF16Copy() }
        weightCopies = parts.map { _ in BF16Copy() }
    }

    /// out(R×O) = Σ_p part_p + b. `inputs[p]` is the matrix for dense part p (ignored for the label part):
    /// B rows for per-example parts, R rows for per-row parts. `scratch` is at least B×O.
    public func forward(_ e: MatMulEngine, _ s: ParameterStore, inputs: [Mat], map: RowMap, out: Mat, scratch: Mat) {
        let o = outputs
        let perEx = Mat(scratch.p, map.examples, o)
        var firstEx = true, firstRow = true
        for c in inputCopies { c.invalidate() }
        for c in weightCopies { c.invalidate(unlessHeldAt: s.valuesGeneration) }
        for (i, part) in parts.enumerated() {
            let copies = (inputCopies[i], weightCopies[i])
            switch part {
            case .perExample:
                e.matmulWT(inputs[i], s.w(weights[i]), out: o, into: perEx, beta: firstEx ? 0 : 1, copies: copies); firstEx = false
            case .perRow:
                e.matmulWT(inputs[i], s.w(weights[i]), out: o, into: out, beta: firstRow ? 0 : 1, copies: copies); firstRow = false
            case .label: break
            }
        }
        let labelIndex = parts.firstIndex { if case .label = $0 { return true } else { return false } }
        let b = bias.map { s.w($0) }
        let table = labelIndex.map { s.w(weights[$0]) }
        map.example.withUnsafeBufferPointer { ex in
            map.label.withUnsafeBufferPointer { lab in
                for r in 0..<out.rows {
                    addRow(into: out.p + r * o, count: o, keep: hasPerRow,
                           hasPerExample ? UnsafePointer(perEx.p + Int(ex[r]) * o) : nil,
                           table.map { UnsafePointer($0 + Int(lab[r]) * o) }, b.map { UnsafePointer($0) })
                }
            }
        }
    }

    /// d = ((d or 0) + t₁) + t₂) + t₃ over the terms given, in one pass (the order of the separate passes it replaced,
    /// so the bits are theirs).
    @inline(__always)
    func addRow(into d: UnsafeMutablePointer<Float>, count o: Int, keep: Bool,
                _ t1: UnsafePointer<Float>?, _ t2: UnsafePointer<Float>?, _ t3: UnsafePointer<Float>?) {
        var given = (t1, t2, t3)  // the given terms first, in order
        if given.1 == nil { given = (given.0, given.2, nil) }
        if given.0 == nil { given = (given.1, given.2, nil) }
        if given.1 == nil { given = (given.0, given.2, nil) }
        let n = given.2 != nil ? 3 : given.1 != nil ? 2 : given.0 != nil ? 1 : 0
        switch (n, keep) {
        case (0, false): d.update(repeating: 0, count: o)
        case (0, true): break
        case (1, false): let a = given.0!; for j in 0..<o { d[j] = 0 + a[j] }
        case (1, true): let a = given.0!; for j in 0..<o { d[j] += a[j] }
        case (2, false): let a = given.0!, b = given.1!; for j in 0..<o { d[j] = (0 + a[j]) + b[j] }
        case (2, true): let a = given.0!, b = given.1!; for j in 0..<o { d[j] = (d[j] + a[j]) + b[j] }
        case (_, false): let a = given.0!, b = given.1!, c = given.2!; for j in 0..<o { d[j] = ((0 + a[j]) + b[j]) + c[j] }
        case (_, true): let a = given.0!, b = given.1!, c = given.2!; for j in 0..<o { d[j] = ((d[j] + a[j]) + b[j]) + c[j] }
        }
    }

    /// Accumulates parameter gradients from dOut(R×O), and input gradients into `dInputs[p]` where given.
    /// `scratch` (B×O) is overwritten. The inputs and weights must be those of the last `forward`.
    public func backward(_ e: MatMulEngine, _ s: ParameterStore, inputs: [Mat], map: RowMap, dOut: Mat, dInputs: [Mat?], scratch: Mat) {
        let o = outputs
        dOutCopy.invalidate(); dPerExampleCopy.invalidate()
        if let bias { accumulateColumnSums(dOut, into: s.g(bias)) }
        var dPerEx: Mat? = nil
        if hasPerExample {
            let m = Mat(scratch.p, map.examples, o)
            m.zero()
            scatterAddRows(dOut, map, into: m)
            dPerEx = m
        }
        for (i, part) in parts.enumerated() {
            switch part {
            case .perExample:
                e.accumulateWeightGrad(dy: dPerEx!, x: inputs[i], dW: s.g(weights[i]), copies: (dPerExampleCopy, inputCopies[i]))
                if let dx = dInputs[i] {
                    e.accumulateInputGrad(dy: dPerEx!, w: s.w(weights[i]), dx: dx, copies: (dPerExampleCopy, weightCopies[i]))
                }
            case .perRow:
                e.accumulateWeightGrad(dy: dOut, x: inputs[i], dW: s.g(weights[i]), copies: (dOutCopy, inputCopies[i]))
                if let dx = dInputs[i] { e.accumulateInputGrad(dy: dOut, w: s.w(weights[i]), dx: dx, copies: (dOutCopy, weightCopies[i])) }
            case .label:
                let dE = s.g(weights[i])
                map.label.withUnsafeBufferPointer { lab in
                    for r in 0..<dOut.rows {
                        let e = dE + Int(lab[r]) * o, g = dOut.p + r * o
                        for j in 0..<o { e[j] += g[j] }
                    }
                }
            }
        }
        s.gradientsSettled()
    }
}
