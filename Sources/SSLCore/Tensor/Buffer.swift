/// An owned, 64-byte aligned block of `Float`s, zero-initialised. Freed with the object.
///
/// Everything numeric in ssl-dist lives in a few of these: the parameter store's
/// four buffers and each model's workspace. Views (`Mat`) point into them.
public final class Buffer {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// Floats allocated right after the first `count`, part of the same block (see `ParameterStore`).
    public let tailCount: Int

    public init(count: Int, tail: Int = 0) {
        self.count = count
        tailCount = tail
        let n = max(count + tail, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: n * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: n)
        pointer.initialize(repeating: 0, count: n)
    }

    /// The `tailCount` floats after the first `count`.
    public var tail: UnsafeMutablePointer<Float> { pointer + count }
    /// The whole block, values and tail, for one fused collective.
    public var whole: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count + tailCount) }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    public func zero() { pointer.update(repeating: 0, count: count) }

    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// A non-owning row-major matrix view: `rows × cols`, rows contiguous.
public struct Mat {
    public var p: UnsafeMutablePointer<Float>
    public var rows: Int
    public var cols: Int

    @inlinable public init(_ p: UnsafeMutablePointer<Float>, _ rows: Int, _ cols: Int) {
        self.p = p; self.rows = rows; self.cols = cols
    }

    @inlinable public var count: Int { rows * cols }
    @inlinable public func row(_ r: Int) -> UnsafeMutablePointer<Float> { p + r * cols }
    /// The first `n` rows (same storage).
    @inlinable public func prefix(rows n: Int) -> Mat { Mat(p, n, cols) }
    /// Rows `start ..< start + n` (same storage).
    @inlinable public func rows(_ start: Int, _ n: Int) -> Mat { Mat(p + start * cols, n, cols) }
    @inlinable public subscript(r: Int, c: Int) -> Float {
        get { p[r * cols + c] }
        nonmutating set { p[r * cols + c] = newValue }
    }
    @inlinable public func zero() { p.update(repeating: 0, count: rows * cols) }
    @inlinable public func copy(from other: Mat) {
        precondition(other.rows == rows && other.cols == cols, "Mat.copy: shape mismatch")
        p.update(from: other.p, count: count)
    }
}
