
/// What a model computes with, and the memory it computes in: the engine of every matrix product, the reducer of
/// batch statistics, and `Mat`s handed out from buffers owned here. A model asks for all its scratch once, sized
/// for the largest batch, so a training step allocates nothing.
public final class Workspace {
    private var buffers: [Buffer] = []
    public private(set) var floats = 0
    /// The engine that computes the matrix products of every network allocated here.
    public let engine: MatMulEngine
    /// Sums batch statistics over the ranks (batch normalisation while training).
    public let reducer: BatchReducer

    public init(engine: MatMulEngine = .reference(), reducer: BatchReducer = LocalReducer()) {
        self.engine = engine
        self.reducer = reducer
    }

    private var doubleBlocks: [UnsafeMutablePointer<Double>] = []

    deinit { for d in doubleBlocks { d.deallocate() } }

    /// `n` zeroed doubles (loss accumulators per row), owned by the workspace.
    public func doubles(_ n: Int) -> UnsafeMutablePointer<Double> {
        let d = UnsafeMutablePointer<Double>.allocate(capacity: max(n, 1))
        d.initialize(repeating: 0, count: max(n, 1))
        doubleBlocks.append(d)
        return d
    }

    /// `n` zeroed floats owned by the workspace.
    public func floats(_ n: Int) -> UnsafeMutablePointer<Float> { mat(1, n).p }

    public func mat(_ rows: Int, _ cols: Int) -> Mat {
        let b = Buffer(count: rows * cols)
        buffers.append(b)
        floats += rows * cols
        return Mat(b.pointer, rows, cols)
    }
}
