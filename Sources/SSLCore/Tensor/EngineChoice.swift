import CBLAS
import CDNNL
import CKernels

/// Which library computes the matrix products.
public enum GemmBackend: String, Codable, CaseIterable, Sendable {
    /// OpenBLAS through CBLAS: the portable reference.
    case blas
    /// oneDNN matmul primitives (AVX-512, AVX512-BF16 and AMX kernels where the CPU has them).
    case dnnl
}

/// The precision of the products' inputs. Outputs, accumulation, parameters, gradients, optimizer state,
/// losses and checkpoints are fp32 (losses accumulate in Double) in both.
public enum Precision: String, Codable, CaseIterable, Sendable {
    case fp32
    /// bf16 copies of both inputs, fp32 accumulation and output (mixed precision); `dnnl` only.
    case bf16
}

/// A backend and a precision: what a run computes with, recorded in its checkpoints.
public struct EngineChoice: Codable, Equatable, Sendable, CustomStringConvertible {
    public var backend: GemmBackend
    public var precision: Precision
    public init(_ backend: GemmBackend, _ precision: Precision) { self.backend = backend; self.precision = precision }
    public var description: String { "\(backend.rawValue) \(precision.rawValue)" }

    /// The fastest correct configuration of this machine: oneDNN, with bf16 inputs where the CPU multiplies bf16
    /// faster than fp32 (AMX; AVX512-BF16 on AMD Zen 4/5), fp32 otherwise (also on Intel cores with AVX512-BF16 but
    /// no AMX, where bf16 products ran at half the fp32 rate). Decided from the CPU alone, so every rank and every
    /// run of the same command choose alike; `ssl-dist bench` measures both.
    public static var fastest: EngineChoice { EngineChoice(.dnnl, DNNLState.bf16IsFaster ? .bf16 : .fp32) }

    /// What was asked for (flags), completed by `saved` (a checkpoint's choice, so a resume stays exact), then by
    /// the fastest configuration. A saved precision carries over only to the same backend.
    public static func resolve(backend: GemmBackend?, precision: Precision?, saved: EngineChoice?) -> EngineChoice {
        let b = backend ?? saved?.backend ?? fastest.backend
        let p = precision ?? (saved?.backend == b ? saved?.precision : nil) ?? (b == .blas ? .fp32 : fastest.precision)
        return EngineChoice(b, p)
    }
}
