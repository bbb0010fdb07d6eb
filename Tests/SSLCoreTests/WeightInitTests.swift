import SSLCore
import XCTest

/// How `ParameterStore.initialize` draws weight matrices: each scheme's range, taken over the whole layer for
/// `fanIn` (a joint first layer's parts together), vectors at zero or their constant, the same draw for the same seed.
final class WeightInitTests: XCTestCase {
    /// M2's encoder shape: a joint first layer over x (784) and a one-hot y (10), a hidden layer, and a head.
    func makeNetwork() -> ParameterLayout {
        var layout = ParameterLayout()
        _ = MLP(&layout, "qz", parts: [("x", .perExample(784)), ("y", .label(10))], hidden: [500, 300],
                      heads: [("mu", 50)], activation: .relu, normalize: false, maxRows: 4, maxExamples: 4, workspace: Workspace())
        return layout
    }

    func tensor(_ s: ParameterStore, _ name: String) -> [Float] {
        let e = s.layout.entries.first { $0.name == name }!
        return Array(UnsafeBufferPointer(start: s.values.pointer + s.layout.start(of: e), count: e.count))
    }

    /// Every element within ±limit, and the largest within 1% of it (the draw uses the range: not a smaller scale).
    func assertUniform(_ v: [Float], limit: Double, _ name: String) {
        let largest = Double(v.map(abs).max()!)
        XCTAssertLessThanOrEqual(largest, limit * (1 + 1e-6), name)
        XCTAssertGreaterThan(largest, 0.99 * limit, name)
    }

    func testFanInDrawsEachLayerWithinOneOverRootOfItsWholeFanIn() {
        let layout = makeNetwork()
        let s = ParameterStore(layout: layout)
        s.initialize(seed: 5, scheme: .fanIn)
        // The joint first layer: x and y parts share fan-in 784 + 10.
        assertUniform(tensor(s, "qz.l0.W_x"), limit: 1 / (794.0).squareRoot(), "W_x")
        assertUniform(tensor(s, "qz.l0.E_y"), limit: 1 / (794.0).squareRoot(), "E_y")
        assertUniform(tensor(s, "qz.l1.W"), limit: 1 / (500.0).squareRoot(), "l1")
        assertUniform(tensor(s, "qz.mu.W"), limit: 1 / (300.0).squareRoot(), "mu")
        for e in layout.entries where e.shape.count == 1 {
            XCTAssertTrue(tensor(s, e.name).allSatisfy { $0 == 0 }, "\(e.name) starts at zero")
        }
    }

    func testGlorotDrawsEachTensorWithinItsOwnLimit() {
        let layout = makeNetwork()
        let s = ParameterStore(layout: layout)
        s.initialize(seed: 5)
        assertUniform(tensor(s, "qz.l0.W_x"), limit: (6.0 / (784 + 500)).squareRoot(), "W_x")
        assertUniform(tensor(s, "qz.l0.E_y"), limit: (6.0 / (10 + 500)).squareRoot(), "E_y")
        assertUniform(tensor(s, "qz.mu.W"), limit: (6.0 / (300 + 50)).squareRoot(), "mu")
    }

    /// The same seed gives the same values; the schemes share the draw and differ only in its scale.
    func testSameSeedSameValuesAndTheSchemesDifferOnlyInScale() {
        let layout = makeNetwork()
        let a = ParameterStore(layout: layout), b = ParameterStore(layout: layout), g = ParameterStore(layout: layout)
        a.initialize(seed: 7, scheme: .fanIn); b.initialize(seed: 7, scheme: .fanIn); g.initialize(seed: 7, scheme: .glorot)
        XCTAssertEqual(a.values.array, b.values.array)
        let fan = tensor(a, "qz.l1.W"), glo = tensor(g, "qz.l1.W")
        let ratio = Float((1 / 500.0).squareRoot() / (6.0 / 800).squareRoot())
        for i in stride(from: 0, to: fan.count, by: 997) { XCTAssertEqual(fan[i], glo[i] * ratio, accuracy: 1e-6) }
    }
}
