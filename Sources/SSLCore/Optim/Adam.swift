import CKernels
import Foundation

/// Adam (Kingma & Ba 2015) with bias correction, over the contiguous parameters of a store:
///   g ← min(1, c/‖g‖₂)·g          (optional: the global norm clipped at c)
///   g ← clamp(g, −v, v)            (optional: each element clipped at v; after the norm, as in Maaløe's code)
///   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − lr·m̂/(√v̂ + ε),  m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)
///   a ← dₜ·a + (1−dₜ)·θ            (optional: the store's exponential moving average, state included), with
///                                  dₜ = min(d, (1+t)/(10+t)): the average forgets the initial parameters quickly, so
///                                  a short run's average is of its recent steps, not of its start (d = 0.999 alone
///                                  would still give the initialisation 22% of the weight after 1,500 steps)
/// With `trustRatio` (LAMB, You et al. 2020) each parameter tensor W takes the step lr·(‖W‖/‖u_W‖)·u_W instead of lr·u_W,
/// u = m̂/(√v̂ + ε) Adam's direction: every tensor moves by the same fraction lr of its norm whatever the gradient's
/// scale (a tensor whose norm or direction is 0, e.g. a bias at its start, takes the plain Adam step), which is what
/// lets large batches take fewer, larger steps.
/// Identical on every rank given identical g. `learningRate` is set by the caller each step (the schedule).
public final class Adam {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    public var clipNorm: Float?
    public var clipValue: Float?
    /// The decay d of the store's moving average, when it keeps one.
    public var averageDecay: Float?
    /// LAMB's layer-wise trust ratio; `direction` holds Adam's direction u for it.
    public let trustRatio: Bool
    private let direction: Buffer?
    public let m: Buffer
    public let v: Buffer
    /// Steps taken (for bias correction); restored from a checkpoint on resume.
    public var t = 0

    public init(count: Int, learningRate: Float = 3e-4, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, clipNorm: Float? = nil, clipValue: Float? = nil, averageDecay: Float? = nil,
                trustRatio: Bool = false) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.clipNorm = clipNorm; self.clipValue = clipValue; self.averageDecay = averageDecay
        m = Buffer(count: count); v = Buffer(count: count)
        self.trustRatio = trustRatio
        direction = trustRatio ? Buffer(count: count) : nil
    }

    /// The moving average's decay at step `t` (1-based): `averageDecay`, ramped up from 2/11 over the first steps.
    public static func averageDecay(_ d: Float, atStep t: Int) -> Float { min(d, Float(1 + t) / Float(10 + t)) }

    /// Global L2 norm of the gradient (accumulated in Double), from element `start` on. Eight partial sums in a
    /// fixed order: vectorised, and the same on every rank and every run.
    public static func norm(_ g: Buffer, from start: Int = 0) -> Double { squaredNorm(g, start..<g.count).squareRoot() }

    /// Σ g² over `range` of `g`, in `norm`'s order.
    public static func squaredNorm(_ g: Buffer, _ range: Range<Int>) -> Double {
        let p = g.pointer, n = range.upperBound
        var acc = SIMD8<Double>()
        var i = range.lowerBound
        while i + 8 <= n {
            var v = SIMD8<Double>()
            for j in 0..<8 { v[j] = Double(p[i + j]) }
            acc.addProduct(v, v)
            i += 8
        }
        var s = acc.sum()
        while i < n { let x = Double(p[i]); s += x * x; i += 1 }
        return s
    }

    /// ‖W‖/‖u‖ over one tensor (norms in Double), or 1 when either is 0.
    func trustRatio(weights w: UnsafePointer<Float>, direction u: UnsafePointer<Float>, count: Int) -> Float {
        var ww = 0.0, uu = 0.0
        for i in 0..<count { ww += Double(w[i]) * Double(w[i]); uu += Double(u[i]) * Double(u[i]) }
        return ww > 0 && uu > 0 ? Float((ww / uu).squareRoot()) : 1
    }

    /// One update of the parameters from `start` on (those before are frozen). `gradientNorm` is ‖g‖₂ if the caller
    /// has it already (it is needed for clipping).
    public func step(_ store: ParameterStore, gradientNorm: Double? = nil, from start: Int = 0) {
        step(store, gradientNorm: gradientNorm, range: start..<store.layout.parameterCount)
    }

    /// One update of the parameters in `range` only (with LAMB whole tensors; `OptimizerShards`: the part a rank owns),
    /// and of their moments and moving average; the state's average (after the parameters) is updated in full.
    /// `gradientNorm` is ‖g‖₂ over all trained parameters, needed for clipping (nil: over `range`).
    public func step(_ store: ParameterStore, gradientNorm: Double? = nil, range: Range<Int>) {
        t += 1
        let g = store.grads.pointer, p = store.values.pointer, mp = m.pointer, vp = v.pointer
        let n = store.layout.parameterCount, start = range.lowerBound, count = Int64(range.count)
        let gnorm = clipNorm == nil ? 0 : (gradientNorm ?? Adam.squaredNorm(store.grads, range).squareRoot())
        var scale: Float = 1
        if let c = clipNorm, gnorm > Double(c) { scale = Float(Double(c) / gnorm) }
        let b1 = beta1, b2 = beta2
        let c1 = 1 / Float(1 - pow(Double(b1), Double(t)))
        let c2 = 1 / Float(1 - pow(Double(b2), Double(t)))
        let average = averageDecay == nil ? nil : store.average
        let decay = averageDecay.map { Adam.averageDecay($0, atStep: t) }
        if let u = direction?.pointer {
            ssl_adam_direction(g + start, mp + start, vp + start, count, scale, clipValue ?? 0, b1, b2, c1, c2, epsilon, u + start)
            for e in store.layout.entries where !e.isState && range.contains(e.offset) {
                precondition(e.offset + e.count <= range.upperBound, "LAMB updates whole tensors")
                let step = learningRate * trustRatio(weights: p + e.offset, direction: u + e.offset, count: e.count)
                let tensor = e.offset..<(e.offset + e.count)
                for i in tensor { p[i] -= step * u[i] }
                if let a = average, let d = decay { for i in tensor { a[i] = d * a[i] + (1 - d) * p[i] } }
            }
        } else {
            ssl_adam_update(g + start, p + start, mp + start, vp + start, count, scale, clipValue ?? 0, learningRate,
                            b1, b2, c1, c2, epsilon, average.map { $0.pointer + start }, decay ?? 0)
        }
        // The state (running statistics) is averaged with the same decay, so an averaged store is consistent.
        if let a = average, let d = decay {
            for i in n..<store.values.count { a[i] = d * a[i] + (1 - d) * p[i] }
        }
    }
}
