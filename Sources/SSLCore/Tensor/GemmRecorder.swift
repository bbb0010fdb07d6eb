import CBLAS
import CDNNL
import CKernels

/// The shape of one product, as recorded for benchmarks.
public struct GemmShape: Hashable {
    public let transA: Bool, transB: Bool
    public let m: Int, n: Int, k: Int
    public init(transA: Bool, transB: Bool, m: Int, n: Int, k: Int) {
        self.transA = transA; self.transB = transB; self.m = m; self.n = n; self.k = k
    }
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// Records the shape of every product while attached to an engine (benchmarks only: it measures the FLOPs of a
/// training step and replays the same shapes to find this machine's rate at those shapes).
public final class GemmRecorder {
    public var shapes: [GemmShape] = []
    public init() {}
    public var flops: Double { shapes.reduce(0) { $0 + $1.flops } }
}
