import CBLAS

// MARK: - sgemm wrappers (row-major)

/// C(m×n) = alpha·op(A)·op(B) + beta·C, all row-major and contiguous.
/// `op(A)` is m×k, `op(B)` is k×n.
@inline(__always)
public func gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    if let rec = GemmRecorder.active { rec.shapes.append(GemmShape(transA: transA, transB: transB, m: m, n: n, k: k)) }
    if k == 0 {
        if beta == 0 { c.update(repeating: 0, count: m * ldc) } else if beta != 1 {
            for i in 0..<(m * ldc) { c[i] *= beta }
        }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// y(B×O) = x(B×I)·Wᵀ, W is (O×I). `beta = 1` adds into y.
@inline(__always)
public func matmulWT(_ x: Mat, _ w: UnsafePointer<Float>, out: Int, into y: Mat, beta: Float = 0) {
    gemm(transA: false, transB: true, m: x.rows, n: out, k: x.cols, a: x.p, lda: x.cols, b: w, ldb: x.cols,
         beta: beta, c: y.p, ldc: y.cols)
}

/// dW(O×I) += dyᵀ(O×B)·x(B×I).
@inline(__always)
public func accumulateWeightGrad(dy: Mat, x: Mat, dW: UnsafeMutablePointer<Float>) {
    gemm(transA: true, transB: false, m: dy.cols, n: x.cols, k: dy.rows, a: dy.p, lda: dy.cols, b: x.p, ldb: x.cols,
         beta: 1, c: dW, ldc: x.cols)
}

/// dx(B×I) += dy(B×O)·W(O×I).
@inline(__always)
public func accumulateInputGrad(dy: Mat, w: UnsafePointer<Float>, dx: Mat) {
    gemm(transA: false, transB: false, m: dy.rows, n: dx.cols, k: dy.cols, a: dy.p, lda: dy.cols, b: w, ldb: dx.cols,
         beta: 1, c: dx.p, ldc: dx.cols)
}

/// Sets the OpenBLAS thread count (process-wide, as OpenBLAS has no other kind).
public func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
public func blasThreads() -> Int { Int(openblas_get_num_threads()) }

// MARK: - Benchmark instrumentation

public struct GemmShape: Hashable {
    public let transA: Bool, transB: Bool
    public let m: Int, n: Int, k: Int
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// Records the shape of every gemm while active (benchmarks only: it measures the FLOPs of a
/// training step and replays the same shapes to find this machine's sgemm rate at those shapes).
public final class GemmRecorder {
    nonisolated(unsafe) public static var active: GemmRecorder? = nil
    public var shapes: [GemmShape] = []
    public init() {}
    public var flops: Double { shapes.reduce(0) { $0 + $1.flops } }
}
