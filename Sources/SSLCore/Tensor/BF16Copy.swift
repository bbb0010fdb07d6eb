import CBLAS
import CDNNL
import CKernels

/// A bf16 copy of a matrix, kept while its source is unchanged: rounded on first use, reused by later products
/// until `invalidate()` (the owner calls it whenever the source may have changed). A use with another source or
/// shape rounds again. The buffer grows to the largest matrix and stays.
public final class BF16Copy {
    private var pointer: UnsafeMutablePointer<UInt16>? = nil
    private var capacity = 0
    private var source: (p: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int)? = nil

    public init() {}
    deinit { pointer?.deallocate() }

    /// The source may have changed: the next use rounds again.
    public func invalidate() { source = nil }

    /// The generation of the values the copy was rounded from (`ParameterStore.valuesGeneration`).
    private var generation: Int? = nil

    /// Invalidates the copy unless it was made in the same holding of the values (`generation` not nil and the
    /// copy's own): a weight matrix rounded once in a training step serves every later pass of that step.
    public func invalidate(unlessHeldAt generation: Int?) {
        if generation == nil || generation != self.generation { source = nil }
        self.generation = generation
    }

    /// The dense bf16 copy of the rows×cols matrix at `src` (leading dimension `ld`), and its leading dimension.
    func rounded(_ src: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int) -> (UnsafeRawPointer, Int) {
        if let s = source, s.p == src, s.rows == rows, s.cols == cols, s.ld == ld, let p = pointer {
            return (UnsafeRawPointer(p), cols)
        }
        let n = rows * cols
        if n > capacity {
            pointer?.deallocate()
            let raw = UnsafeMutableRawPointer.allocate(byteCount: n * 2, alignment: 64)
            pointer = raw.bindMemory(to: UInt16.self, capacity: n)
            capacity = n
        }
        let p = pointer!
        if ld == cols {
            convertToBF16(src, p, count: n)
        } else {
            for r in 0..<rows { convertToBF16(src + r * ld, p + r * cols, count: cols) }
        }
        source = (src, rows, cols, ld)
        return (UnsafeRawPointer(p), cols)
    }
}
