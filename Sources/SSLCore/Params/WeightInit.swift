/// How weight matrices start (vectors start at zero or at their layer's constant either way).
public enum WeightInit: String, Codable, CaseIterable, Sendable {
    /// Glorot-uniform: U(±√(6/(fan_in + fan_out))) per tensor.
    case glorot
    /// U(±1/√fan_in), fan_in the whole layer's inputs (all parts of a joint first layer: x, y, a or z together), as
    /// PyTorch's default for its linear layers: smaller than Glorot's for wide layers and for the label embeddings.
    case fanIn = "fan-in"
}
