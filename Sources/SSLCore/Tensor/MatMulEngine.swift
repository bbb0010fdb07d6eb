import CBLAS
import CDNNL
import CKernels

// MARK: - Backends and precisions

/// A backend or precision this machine or build cannot provide, naming the flag.
public struct MatMulError: Error, CustomStringConvertible {
    public let flag: String
    public let problem: String
    public var description: String { "\(flag): \(problem)" }
}

// MARK: - The engine

/// Every matrix product of ssl-dist goes through one engine: C(m×n) = α·op(A)·op(B) + β·C, row-major, with
/// leading dimensions. Layers never call a library directly.
///
/// `dnnl` creates one oneDNN matmul primitive per distinct product (shape, transposes, leading dimensions, α, β)
/// the first time it meets it and caches it, like the workspace: a training step's products are the same every
/// step, so after the first step no primitive is created and nothing is allocated. With `bf16` the inputs are
/// rounded to bf16 (nearest even) into scratch buffers that grow to the largest product and stay.
public final class MatMulEngine {
    public let backend: GemmBackend
    public let precision: Precision
    /// Attached by benchmarks to record every product's shape.
    public var recorder: GemmRecorder? = nil

    private var dnnl: DNNLState? = nil

    /// The engine for `backend` and `precision`; throws when this build or CPU cannot run them.
    public init(backend: GemmBackend = .blas, precision: Precision = .fp32) throws {
        self.backend = backend
        self.precision = precision
        switch (backend, precision) {
        case (.blas, .bf16):
            throw MatMulError(flag: "--precision", problem: "bf16 needs --gemm dnnl (OpenBLAS computes fp32 only)")
        case (.dnnl, _):
            let state = try DNNLState()
            guard state.canCreate(bf16: precision == .bf16) else {
                throw MatMulError(flag: "--precision", problem: "oneDNN has no \(precision.rawValue) matmul for this CPU; use --precision fp32")
            }
            dnnl = state
        case (.blas, .fp32):
            break
        }
    }

    /// OpenBLAS fp32: the reference engine, available everywhere.
    public static func reference() -> MatMulEngine { try! MatMulEngine(backend: .blas, precision: .fp32) }

    public convenience init(_ choice: EngineChoice) throws { try self.init(backend: choice.backend, precision: choice.precision) }

    public var choice: EngineChoice { EngineChoice(backend, precision) }

    /// "dnnl bf16 (brg:avx512_core_bf16)" and the like, for logs: the implementations oneDNN chose so far.
    public var description: String {
        var s = "\(backend.rawValue) \(precision.rawValue)"
        if let d = dnnl, !d.implementations.isEmpty { s += " (" + d.implementations.sorted().joined(separator: ", ") + ")" }
        return s
    }

    /// C = α·op(A)·op(B) + β·C. `op(A)` is m×k, `op(B)` is k×n. With bf16, `aCopy` and `bCopy` (when given) keep
    /// the rounded inputs, so an operand used by several products (a layer's input, weight and output gradient
    /// appear in two products each) is rounded once.
    @inline(__always)
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, aCopy: BF16Copy? = nil, bCopy: BF16Copy? = nil) {
        if m == 0 || n == 0 { return }
        recorder?.shapes.append(GemmShape(transA: transA, transB: transB, m: m, n: n, k: k))
        if k == 0 {
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { row.update(repeating: 0, count: n) } else if beta != 1 { for j in 0..<n { row[j] *= beta } }
            }
            return
        }
        if let d = dnnl {
            d.gemm(bf16: precision == .bf16, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                   a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, aCopy: aCopy, bCopy: bCopy)
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y(B×O) = x(B×I)·Wᵀ, W is (O×I). `beta = 1` adds into y.
    @inline(__always)
    public func matmulWT(_ x: Mat, _ w: UnsafePointer<Float>, out: Int, into y: Mat, beta: Float = 0,
                         copies: (x: BF16Copy, w: BF16Copy)? = nil) {
        gemm(transA: false, transB: true, m: x.rows, n: out, k: x.cols, a: x.p, lda: x.cols, b: w, ldb: x.cols,
             beta: beta, c: y.p, ldc: y.cols, aCopy: copies?.x, bCopy: copies?.w)
    }

    /// dW(O×I) += dyᵀ(O×B)·x(B×I).
    @inline(__always)
    public func accumulateWeightGrad(dy: Mat, x: Mat, dW: UnsafeMutablePointer<Float>, copies: (dy: BF16Copy, x: BF16Copy)? = nil) {
        gemm(transA: true, transB: false, m: dy.cols, n: x.cols, k: dy.rows, a: dy.p, lda: dy.cols, b: x.p, ldb: x.cols,
             beta: 1, c: dW, ldc: x.cols, aCopy: copies?.dy, bCopy: copies?.x)
    }

    /// dx(B×I) += dy(B×O)·W(O×I).
    @inline(__always)
    public func accumulateInputGrad(dy: Mat, w: UnsafePointer<Float>, dx: Mat, copies: (dy: BF16Copy, w: BF16Copy)? = nil) {
        gemm(transA: false, transB: false, m: dy.rows, n: dx.cols, k: dy.cols, a: dy.p, lda: dy.cols, b: w, ldb: dx.cols,
             beta: 1, c: dx.p, ldc: dx.cols, aCopy: copies?.dy, bCopy: copies?.w)
    }
}

// MARK: - Threads

/// Threads per process for both libraries: OpenBLAS's pool and the OpenMP runtime oneDNN runs on. MPI ranks that
/// fill the cores each take one, so the libraries never oversubscribe.
public func setComputeThreads(_ n: Int) {
    ssl_flush_denormals()  // before either library starts its threads, which inherit it
    openblas_set_num_threads(Int32(n))
    omp_set_num_threads(Int32(n))
}

/// The threads per process both libraries use.
public func computeThreads() -> Int { Int(openblas_get_num_threads()) }

// MARK: - bf16

/// Rounds `n` floats to bf16, nearest even (the upper 16 bits after rounding the lower 16), vectorised in C
/// (`ssl_round_bf16`, integer arithmetic: the same bits on every instruction set).
@inlinable
public func convertToBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count n: Int) {
    ssl_round_bf16(src, dst, Int64(n))
}

/// The float a bf16 value stands for.
@inlinable
public func floatFromBF16(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

// MARK: - oneDNN

/// The oneDNN engine, stream, cached primitives and bf16 scratch of one `MatMulEngine`.
final class DNNLState {
    struct Key: Hashable {
        let bf16: Bool, transA: Bool, transB: Bool
        let m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int
        let alpha: Float, beta: Float
    }

    private var engine: dnnl_engine_t? = nil
    private var stream: dnnl_stream_t? = nil
    private var cache: [Key: UnsafeMutablePointer<ssl_dnnl_matmul>] = [:]
    private let scratchA = BF16Copy(), scratchB = BF16Copy()
    private(set) var implementations = Set<String>()

    static var bf16IsFaster: Bool { ssl_dnnl_bf16_is_faster() != 0 }

    init() throws {
        guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success,
              dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success else {
            throw MatMulError(flag: "--gemm", problem: "oneDNN could not create a CPU engine (libdnnl: make deps installs libdnnl-dev)")
        }
    }

    deinit {
        for (_, mm) in cache { ssl_dnnl_matmul_destroy(mm); mm.deallocate() }
        if let stream { dnnl_stream_destroy(stream) }
        if let engine { dnnl_engine_destroy(engine) }
    }

    func gemm(bf16: Bool, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, aCopy: BF16Copy?, bCopy: BF16Copy?) {
        var pa = UnsafeRawPointer(a), pb = UnsafeRawPointer(b), lda = lda, ldb = ldb
        if bf16 {
            // Dense bf16 copies of A and B as stored (rows × cols with their leading dimensions): the caller's kept
            // copies when given (rounded on first use), else this engine's scratch.
            if aCopy == nil { scratchA.invalidate() }
            if bCopy == nil { scratchB.invalidate() }
            (pa, lda) = (aCopy ?? scratchA).rounded(a, rows: transA ? k : m, cols: transA ? m : k, ld: lda)
            (pb, ldb) = (bCopy ?? scratchB).rounded(b, rows: transB ? n : k, cols: transB ? k : n, ld: ldb)
        }
        let key = Key(bf16: bf16, transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc,
                      alpha: alpha, beta: beta)
        let mm = cache[key] ?? create(key)
        let st = ssl_dnnl_matmul_run(mm, stream, pa, pb, c)
        precondition(st == dnnl_success, "oneDNN matmul \(m)×\(n)×\(k) failed to run (status \(st.rawValue))")
    }

    /// Whether a small matmul of this precision can be created (bf16 needs AVX-512 on x86; oneDNN emulates it
    /// on AVX-512 cores without AVX512-BF16).
    func canCreate(bf16: Bool) -> Bool {
        var mm = ssl_dnnl_matmul()
        let st = ssl_dnnl_matmul_create(engine, 0, 1, 4, 4, 4, 4, 4, 4, 1, 0, bf16 ? dnnl_bf16 : dnnl_f32, &mm)
        ssl_dnnl_matmul_destroy(&mm)
        return st == dnnl_success
    }

    private func create(_ key: Key) -> UnsafeMutablePointer<ssl_dnnl_matmul> {
        let mm = UnsafeMutablePointer<ssl_dnnl_matmul>.allocate(capacity: 1)
        mm.initialize(to: ssl_dnnl_matmul())
        let st = ssl_dnnl_matmul_create(engine, key.transA ? 1 : 0, key.transB ? 1 : 0, Int64(key.m), Int64(key.n), Int64(key.k),
                                        Int64(key.lda), Int64(key.ldb), Int64(key.ldc), key.alpha, key.beta,
                                        key.bf16 ? dnnl_bf16 : dnnl_f32, mm)
        precondition(st == dnnl_success, "oneDNN cannot create a matmul \(key) (status \(st.rawValue))")
        if let name = mm.pointee.impl { implementations.insert(String(cString: name)) }
        cache[key] = mm
        return mm
    }
}
