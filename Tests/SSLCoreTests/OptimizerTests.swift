import Foundation
import SSLCore
import XCTest

/// Adam against its textbook update, clipping, and the warm-up schedule.
final class OptimizerTests: XCTestCase {
    func store(values: [Float], grads: [Float]) -> ParameterStore {
        var layout = ParameterLayout()
        _ = layout.add("p", [values.count])
        let s = ParameterStore(layout: layout)
        for i in values.indices { s.values[i] = values[i]; s.grads[i] = grads[i] }
        return s
    }

    /// Three steps with changing gradients, compared with the bias-corrected update computed in Double.
    func testAdamMatchesTheBiasCorrectedUpdate() {
        let s = store(values: [0.5, -1, 2], grads: [0, 0, 0])
        let adam = Adam(count: 3, learningRate: 0.01)
        var p: [Double] = [0.5, -1, 2], m = [0.0, 0, 0], v = [0.0, 0, 0]
        let gradients: [[Float]] = [[0.3, -2, 1e-3], [0.1, 1, -5e-4], [-0.2, 0.5, 2e-3]]
        for (t, g) in gradients.enumerated() {
            for i in 0..<3 { s.grads[i] = g[i] }
            adam.step(s)
            for i in 0..<3 {
                m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
                v[i] = 0.999 * v[i] + 0.001 * Double(g[i]) * Double(g[i])
                let mh = m[i] / (1 - pow(0.9, Double(t + 1))), vh = v[i] / (1 - pow(0.999, Double(t + 1)))
                p[i] -= 0.01 * mh / (vh.squareRoot() + 1e-8)
                XCTAssertEqual(Double(s.values[i]), p[i], accuracy: 1e-6, "step \(t + 1), parameter \(i)")
            }
        }
        // With bias correction the first step moves every parameter by ≈ lr, whatever |g| is.
        let fresh = store(values: [0, 0], grads: [1e-3, -50])
        Adam(count: 2, learningRate: 0.01).step(fresh)
        XCTAssertEqual(fresh.values[0], -0.01, accuracy: 1e-5)
        XCTAssertEqual(fresh.values[1], 0.01, accuracy: 1e-5)
    }

    func testGradientClippingScalesToTheNorm() {
        // ‖g‖ = 5; clipped to 1, the first Adam step is unchanged in direction and ≈ lr in size,
        // but the moments see g/5.
        let s = store(values: [0, 0], grads: [3, 4])
        let adam = Adam(count: 2, learningRate: 0.1, clipNorm: 1)
        XCTAssertEqual(Adam.norm(s.grads), 5, accuracy: 1e-9)
        adam.step(s)
        XCTAssertEqual(adam.m[0], 0.1 * 0.6, accuracy: 1e-6)
        XCTAssertEqual(adam.m[1], 0.1 * 0.8, accuracy: 1e-6)
    }

    func testWarmupIsLinearAndAPureFunctionOfTheStep() {
        let w = Warmup(steps: 100)
        XCTAssertEqual(w.beta(atStep: 0), 0)
        XCTAssertEqual(w.beta(atStep: 25), 0.25)
        XCTAssertEqual(w.beta(atStep: 100), 1)
        XCTAssertEqual(w.beta(atStep: 10_000), 1)
        XCTAssertEqual(Warmup(steps: 0).beta(atStep: 0), 1)
    }
}
