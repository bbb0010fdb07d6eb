import SSLCore

/// The worst disagreement between an analytic gradient and central finite differences.
public struct GradientReport: CustomStringConvertible {
    public var checked = 0
    public var worstIndex = -1
    public var worstAnalytic: Double = 0
    public var worstNumeric: Double = 0
    public var worstExcess: Double = 0  // |a − n| − (atol + rtol·max(|a|, |n|)); ≤ 0 passes
    public var maxAbsError: Double = 0
    public var passed: Bool { worstExcess <= 0 }
    public var description: String {
        "checked \(checked), max |error| \(maxAbsError); worst at \(worstIndex): analytic \(worstAnalytic), numeric \(worstNumeric)"
    }
}

/// Compares `analytic[i]` with (f(θ + ε e_i) − f(θ − ε e_i)) / 2ε for each `i` in `indices`
/// (default: all), perturbing `values[i]` in place and restoring it.
/// A component passes when |a − n| ≤ atol + rtol·max(|a|, |n|). One that does not is measured again with 2ε, and the
/// closer of the two differences counts: f is computed in Float, so its rounding noise, divided by 2ε, can exceed the
/// tolerance where a matrix library rounds less kindly (OpenBLAS's generic kernel on a CPU it does not know); twice
/// the step halves that noise, while a wrong gradient stays wrong at both.
public func checkGradient(values: UnsafeMutablePointer<Float>, analytic: [Float], indices: [Int]? = nil,
                          eps: Float = 1e-2, atol: Double = 1e-3, rtol: Double = 2e-2,
                          _ f: () -> Double) -> GradientReport {
    var report = GradientReport()
    func numeric(_ i: Int, _ eps: Float) -> Double {
        let saved = values[i]
        values[i] = saved + eps
        let fp = f()
        values[i] = saved - eps
        let fm = f()
        values[i] = saved
        // The step actually taken in float.
        return (fp - fm) / (Double(saved + eps) - Double(saved - eps))
    }
    for i in indices ?? Array(analytic.indices) {
        let a = Double(analytic[i])
        let excess = { (n: Double) in abs(a - n) - (atol + rtol * max(abs(a), abs(n))) }
        var n = numeric(i, eps)
        if excess(n) > 0 {
            let wider = numeric(i, 2 * eps)
            if excess(wider) < excess(n) { n = wider }
        }
        let err = abs(a - n)
        report.checked += 1
        report.maxAbsError = max(report.maxAbsError, err)
        if report.worstIndex < 0 || excess(n) > report.worstExcess {
            report.worstIndex = i; report.worstAnalytic = a; report.worstNumeric = n; report.worstExcess = excess(n)
        }
    }
    return report
}

/// Deterministic pseudo-random values in [lo, hi) for test inputs.
public func fillUniform(_ p: UnsafeMutablePointer<Float>, _ n: Int, seed: UInt64, lo: Float = -1, hi: Float = 1) {
    NoiseSource(seed: seed).uniforms(step: 0, example: 0, stream: .initialization, population: .evaluation, into: p, count: n)
    for i in 0..<n { p[i] = lo + (hi - lo) * p[i] }
}

/// Σ_i g_i·y_i in Double: a scalar objective whose gradient w.r.t. y is g.
public func dot(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Double {
    var s = 0.0
    for i in 0..<n { s += Double(g[i]) * Double(y[i]) }
    return s
}

/// The fp32 matrix-product engines every finite-difference check runs on: OpenBLAS and oneDNN.
public func fp32Engines() -> [MatMulEngine] {
    [MatMulEngine.reference(), try! MatMulEngine(backend: .dnnl, precision: .fp32)]
}
