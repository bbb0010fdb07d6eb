/// Hidden-layer nonlinearity.
public enum Activation: String, Codable, CaseIterable, Sendable {
    case relu
    case softplus

    /// h = act(pre), elementwise over n values.
    @inlinable
    public func forward(pre: UnsafePointer<Float>, out h: UnsafeMutablePointer<Float>, count n: Int) {
        switch self {
        case .relu: for i in 0..<n { let v = pre[i]; h[i] = v > 0 ? v : 0 }
        case .softplus: for i in 0..<n { h[i] = SSLCore.softplus(pre[i]) }
        }
    }

    /// dpre = dh · act'(pre), overwriting dpre (may alias dh).
    @inlinable
    public func backward(pre: UnsafePointer<Float>, dh: UnsafePointer<Float>, dpre: UnsafeMutablePointer<Float>, count n: Int) {
        switch self {
        case .relu: for i in 0..<n { dpre[i] = pre[i] > 0 ? dh[i] : 0 }
        case .softplus: for i in 0..<n { dpre[i] = dh[i] * sigmoid(pre[i]) }
        }
    }
}
