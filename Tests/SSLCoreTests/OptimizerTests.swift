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

    /// Element-wise clipping after the norm clipping (Maaløe's order): the moments see clamp(scale·g, −v, v).
    func testElementWiseClippingFollowsTheNormClipping() {
        let s = store(values: [0, 0, 0], grads: [30, -40, 0.5])
        let adam = Adam(count: 3, learningRate: 0.1, clipNorm: 5, clipValue: 1)
        adam.step(s)
        // ‖g‖ ≈ 50.0025 → scaled by 5/‖g‖: (3.0, −4.0, 0.05) → clipped: (1, −1, 0.05).
        let squares: Double = 30.0 * 30.0 + 40.0 * 40.0 + 0.25
        let scale: Double = 5 / squares.squareRoot()
        XCTAssertEqual(adam.m[0], 0.1 * 1, accuracy: 1e-6)
        XCTAssertEqual(adam.m[1], -0.1 * 1, accuracy: 1e-6)
        XCTAssertEqual(Double(adam.m[2]), 0.1 * 0.5 * scale, accuracy: 1e-7)
        XCTAssertEqual(Double(adam.v[2]), 0.001 * (0.5 * scale) * (0.5 * scale), accuracy: 1e-9)
    }

    /// The vectorised kernel (8 lanes) and its scalar tail give the same bits: a 19-element update equals nineteen
    /// one-element updates.
    /// LAMB: each tensor moves by lr·‖W‖ along Adam's direction (so by exactly lr·‖W‖ in norm), whatever the gradient's
    /// scale; a tensor at zero takes Adam's own step.
    func testTrustRatioScalesEachTensorsStepToItsNorm() {
        var layout = ParameterLayout()
        let w = layout.add("l.W", [2, 3]), b = layout.add("l.b", [2])
        let s = ParameterStore(layout: layout)
        for i in 0..<6 { s.values[w.offset + i] = Float(i) - 2.5 }   // b stays 0
        for i in 0..<8 { s.grads[i] = Float(i % 3) * 1e-3 + 1e-4 }
        let before = (0..<8).map { s.values[$0] }
        let adam = Adam(count: 8, learningRate: 0.01, trustRatio: true)
        adam.step(s)
        func norm(_ xs: [Float]) -> Double { xs.map { Double($0) * Double($0) }.reduce(0, +).squareRoot() }
        let moved = norm((0..<6).map { s.values[$0] - before[$0] }), weights = norm(Array(before[0..<6]))
        XCTAssertEqual(moved, 0.01 * weights, accuracy: 1e-5 * weights, "W moves by lr·‖W‖")
        // The bias starts at 0: Adam's first step, lr·m̂/(√v̂ + ε) = lr·sign(g) for each element.
        for i in 0..<2 { XCTAssertEqual(s.values[b.offset + i], -0.01, accuracy: 1e-6) }
        // The same gradients ten times smaller give the same step (Adam's direction does not see their scale).
        let t = ParameterStore(layout: layout)
        for i in 0..<8 { t.values[i] = before[i]; t.grads[i] = s.grads[i] * 0.1 }
        Adam(count: 8, learningRate: 0.01, trustRatio: true).step(t)
        for i in 0..<6 { XCTAssertEqual(t.values[i], s.values[i], accuracy: 1e-5) }
    }

    func testTheVectorKernelAndTheScalarTailAgreeBitForBit() {
        let n = 19
        let values = (0..<n).map { Float($0) * 0.1 - 0.7 }, grads = (0..<n).map { Float(($0 * 37) % 11) - 5 }
        let whole = store(values: values, grads: grads)
        let adam = Adam(count: n, learningRate: 0.01, clipValue: 3)
        adam.step(whole)
        for i in 0..<n {
            let one = store(values: [values[i]], grads: [grads[i]])
            Adam(count: 1, learningRate: 0.01, clipValue: 3).step(one)
            XCTAssertEqual(one.values[0].bitPattern, whole.values[i].bitPattern, "element \(i)")
        }
    }

    /// The moving average: a ← dₜ·a + (1−dₜ)·θ after each update, parameters and state alike, with dₜ = min(d, (1+t)/(10+t)).
    func testTheMovingAverageFollowsTheParameters() {
        var layout = ParameterLayout()
        _ = layout.add("w", [2])
        _ = layout.addState("running", [1], fill: 4)
        let s = ParameterStore(layout: layout)
        s.initialize(seed: 1)
        s.keepAverage()
        s.values[0] = 1; s.values[1] = -1
        s.average![0] = 1; s.average![1] = -1
        let adam = Adam(count: 2, learningRate: 0.1, averageDecay: 0.9)
        s.grads[0] = 1; s.grads[1] = -1
        adam.step(s)
        // Step 1: d₁ = 2/11, not 0.9: the start is forgotten quickly.
        let d1: Float = 2.0 / 11.0
        XCTAssertEqual(s.values[0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(s.average![0], d1 * 1 + (1 - d1) * s.values[0], accuracy: 1e-6)
        XCTAssertEqual(s.average![1], d1 * -1 + (1 - d1) * s.values[1], accuracy: 1e-6)
        s.values[2] = 10  // the state moves (a running statistic); the average follows it too
        let before = s.average![2]
        adam.step(s)
        let d2: Float = 3.0 / 12.0
        XCTAssertEqual(s.average![2], d2 * before + (1 - d2) * 10, accuracy: 1e-5)
        // Later the decay is the one asked for.
        XCTAssertEqual(Adam.averageDecay(0.9, atStep: 100), 0.9)
        XCTAssertEqual(Adam.averageDecay(0.999, atStep: 1000), 1001.0 / 1010.0)
        let averaged = s.averaged()!
        XCTAssertEqual(averaged.values.array, s.average!.array)
    }

    /// Learning-rate schedules are pure functions of the step.
    func testLearningRateSchedules() {
        XCTAssertEqual(LearningRateSchedule.constant.rate(base: 1e-3, step: 12345), 1e-3)
        let step = LearningRateSchedule.step(every: 100, factor: 0.5, floor: 2e-4)
        XCTAssertEqual(step.rate(base: 1e-3, step: 99), 1e-3)
        XCTAssertEqual(step.rate(base: 1e-3, step: 100), 5e-4, accuracy: 1e-9)
        XCTAssertEqual(step.rate(base: 1e-3, step: 250), 2.5e-4, accuracy: 1e-9)
        XCTAssertEqual(step.rate(base: 1e-3, step: 10_000), 2e-4, accuracy: 1e-9, "never below the floor")
        let cosine = LearningRateSchedule.cosine(total: 1000, floor: 1e-5)
        XCTAssertEqual(cosine.rate(base: 1e-3, step: 0), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(cosine.rate(base: 1e-3, step: 500), Float(1e-5 + 0.5 * (1e-3 - 1e-5)), accuracy: 1e-9)
        XCTAssertEqual(cosine.rate(base: 1e-3, step: 1000), 1e-5, accuracy: 1e-9)
        XCTAssertEqual(cosine.rate(base: 1e-3, step: 5000), 1e-5, accuracy: 1e-9)
        // The cooldown holds the rate to its start, then follows a cosine of its remaining steps to the floor.
        let cooldown = LearningRateSchedule.cooldown(start: 800, total: 1000, floor: 1e-5)
        XCTAssertEqual(cooldown.rate(base: 1e-3, step: 0), 1e-3)
        XCTAssertEqual(cooldown.rate(base: 1e-3, step: 800), 1e-3)
        XCTAssertEqual(cooldown.rate(base: 1e-3, step: 900), Float(1e-5 + 0.5 * (1e-3 - 1e-5)), accuracy: 1e-9)
        XCTAssertLessThan(cooldown.rate(base: 1e-3, step: 801), 1e-3)
        XCTAssertEqual(cooldown.rate(base: 1e-3, step: 1000), 1e-5, accuracy: 1e-9)
        XCTAssertEqual(cooldown.rate(base: 1e-3, step: 1200), 1e-5, accuracy: 1e-9)
        // A warm-up of 4 steps rises linearly to the schedule's rate, then follows it.
        XCTAssertEqual(cosine.rate(base: 1e-3, step: 0, warmupSteps: 4), cosine.rate(base: 1e-3, step: 0) / 4)
        XCTAssertEqual(cosine.rate(base: 1e-3, step: 2, warmupSteps: 4), cosine.rate(base: 1e-3, step: 2) * 3 / 4)
        XCTAssertEqual(cosine.rate(base: 1e-3, step: 4, warmupSteps: 4), cosine.rate(base: 1e-3, step: 4))
        XCTAssertEqual(step.rate(base: 1e-3, step: 7, warmupSteps: 0), step.rate(base: 1e-3, step: 7))
    }

    /// The weight prior N(0, 1)/N adds W/N to the gradient of every weight matrix, and nothing to vectors or state;
    /// it is the gradient of the ½·Σ W²/N it returns (central differences).
    func testWeightPriorIsWeightDecayOnMatricesOnly() {
        var layout = ParameterLayout()
        let w = layout.add("l.W", [2, 3]), b = layout.add("l.b", [2])
        _ = layout.addState("bn.running_mean", [2], fill: 5)
        let s = ParameterStore(layout: layout)
        s.initialize(seed: 3)
        s.zeroGrads()
        let prior = WeightPrior(examples: 4)
        let penalty = prior.addGradient(s)
        for i in 0..<6 { XCTAssertEqual(s.g(w)[i], s.w(w)[i] / 4, accuracy: 1e-7) }
        for i in 0..<2 { XCTAssertEqual(s.g(b)[i], 0) }
        var expected = 0.0
        for i in 0..<6 { expected += Double(s.w(w)[i] * s.w(w)[i]) }
        XCTAssertEqual(penalty, expected / 8, accuracy: 1e-6)
        // From the second parameter on: the prior skips what is frozen (M1+M2's M1).
        s.zeroGrads()
        prior.addGradient(s, from: 6)
        XCTAssertEqual(s.g(w)[0], 0)
    }
}
