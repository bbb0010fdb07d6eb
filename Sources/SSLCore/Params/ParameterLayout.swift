/// A named tensor inside the parameter store.
public struct ParamRef: Hashable, Codable {
    public let index: Int
    /// Offset within its region: the parameters, or (for state) the state after them.
    public let offset: Int
    public let count: Int
    public let isState: Bool
}

/// The ordered list of (name, shape) a model declares once; offsets follow from the order.
///
/// Two regions, each contiguous: the **parameters** (trained: gradients, the allreduce, Adam and the averaged copy
/// cover exactly them) and after them the **state** (values a layer keeps that no gradient reaches, such as batch
/// normalisation's running statistics). Both live in the store's one value buffer and go into every checkpoint,
/// so zeroing, the allreduce, the optimizer step and a checkpoint are each one call over one buffer.
public struct ParameterLayout: Codable, Equatable {
    public enum Role: String, Codable, Sendable { case parameter, state }

    public struct Entry: Codable, Equatable {
        public let name: String
        public let shape: [Int]
        /// Offset within the entry's region (for parameters, the offset in the value buffer).
        public let offset: Int
        /// nil (checkpoints written before state existed) means a parameter.
        public let role: Role?
        /// A constant the tensor starts at (e.g. batch normalisation's scale 1); nil: Glorot-uniform for a matrix, 0 else.
        public let fill: Float?
        public var count: Int { shape.reduce(1, *) }
        public var isState: Bool { role == .state }
    }

    public private(set) var entries: [Entry] = []
    /// Floats in the parameter region and in the state region.
    public private(set) var parameterCount = 0
    public private(set) var stateCount = 0
    /// Both regions: the length of the store's value buffer.
    public var totalCount: Int { parameterCount + stateCount }

    public init() {}

    /// Declares a trained tensor and returns its handle. Names must be unique.
    public mutating func add(_ name: String, _ shape: [Int], fill: Float? = nil) -> ParamRef {
        declare(name, shape, role: .parameter, fill: fill)
    }

    /// Declares a state tensor (no gradient; updated by its layer while training) starting at `fill`.
    public mutating func addState(_ name: String, _ shape: [Int], fill: Float) -> ParamRef {
        declare(name, shape, role: .state, fill: fill)
    }

    private mutating func declare(_ name: String, _ shape: [Int], role: Role, fill: Float?) -> ParamRef {
        precondition(!entries.contains { $0.name == name }, "duplicate parameter name \(name)")
        let isState = role == .state
        let e = Entry(name: name, shape: shape, offset: isState ? stateCount : parameterCount, role: isState ? .state : nil, fill: fill)
        entries.append(e)
        if isState { stateCount += e.count } else { parameterCount += e.count }
        return ParamRef(index: entries.count - 1, offset: e.offset, count: e.count, isState: isState)
    }

    /// Where `e` starts in the value buffer.
    public func start(of e: Entry) -> Int { e.isState ? parameterCount + e.offset : e.offset }

    // Checkpoints written before the state region existed carry only `entries` and `totalCount`.
    enum CodingKeys: String, CodingKey { case entries, totalCount, parameterCount, stateCount }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        entries = try c.decode([Entry].self, forKey: .entries)
        parameterCount = try c.decodeIfPresent(Int.self, forKey: .parameterCount) ?? c.decode(Int.self, forKey: .totalCount)
        stateCount = try c.decodeIfPresent(Int.self, forKey: .stateCount) ?? 0
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(entries, forKey: .entries)
        try c.encode(totalCount, forKey: .totalCount)
        try c.encode(parameterCount, forKey: .parameterCount)
        try c.encode(stateCount, forKey: .stateCount)
    }
}
