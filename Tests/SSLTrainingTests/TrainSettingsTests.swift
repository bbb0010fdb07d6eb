import Foundation
import SSLCore
import SSLTraining
import XCTest

/// The settings table's own parser (`TrainSettings`): every form a flag takes, every error naming the flag, each
/// setting's range checked by its declaration, and the resume rule.
final class TrainSettingsTests: XCTestCase {
    func config(_ args: [String]) throws -> TrainConfig {
        let given = try TrainSettings.parse(arguments: args)
        return try TrainSettings.apply(given, to: try TrainSettings.newRunBase(given))
    }

    func problem(_ args: [String]) -> String {
        do { _ = try config(args); return "accepted" } catch { return "\(error)" }
    }

    func testEveryFormOfAFlag() throws {
        let c = try config(["--model", "m2", "--epochs=7", "--hidden", "300, 200", "--no-binarize", "--standardize",
                            "--lr", "2e-3", "--label-column", "species", "--class-prior", "uniform"])
        XCTAssertEqual(c.model, .m2); XCTAssertEqual(c.epochs, 7); XCTAssertEqual(c.hidden, [300, 200])
        XCTAssertFalse(c.binarize); XCTAssertEqual(c.standardize, true); XCTAssertEqual(c.learningRate, 2e-3)
        XCTAssertEqual(c.labelColumn, .name("species")); XCTAssertEqual(c.classPrior, .uniform)
        // The model's recipe is the base; a later flag overrides it, 0 turns an optional setting off.
        XCTAssertEqual(try config(["--model", "m2"]).classPrior, .estimated)
        XCTAssertNil(try config(["--model", "adgm", "--clip-grad-norm", "0"]).clipGradNorm)
        XCTAssertEqual(try config(["--model", "adgm"]).clipGradNorm, 5)
        // The last of two exclusive ways to say the labels wins within one kind; both kinds at once are refused.
        XCTAssertEqual(try config(["--labels-per-class", "3", "--labels-per-class", "4"]).labelsPerClass, 4)
    }

    /// Each registered model's recipe is `train` flags, read by this parser: every flag in it must parse, and it must
    /// name the model's network sizes (`resolvedHidden` takes them from it).
    func testEveryModelsRecipeIsReadByTheCommandLineParser() throws {
        for kind in ModelKind.allCases {
            let given = try TrainSettings.parse(arguments: kind.recipe.split(separator: " ").map(String.init))
            XCTAssertTrue(given.contains { $0.name == "hidden" }, "\(kind)'s recipe names its hidden sizes")
            let c = TrainConfig.recipe(for: kind)
            XCTAssertEqual(c.model, kind)
            XCTAssertEqual(c.hidden, try TrainSettings.apply(given, to: TrainConfig()).hidden)
        }
        XCTAssertEqual(TrainConfig.recipe(for: .adgm).learningRate, 1e-3)
        XCTAssertEqual(TrainConfig.recipe(for: .m1).warmupEpochs, 15)
        XCTAssertEqual(TrainConfig.recipe(for: .m2).binarize, false)
    }

    /// `--vat ε --vat-dimensions N` keeps the perturbation's size per feature: ε·√(D/N) for D-dimensional data; the
    /// VAT flags without `--vat` are refused by name.
    func testVirtualAdversarialSizeFollowsTheInputDimension() throws {
        var c = try config(["--model", "adgm", "--epochs", "1", "--vat", "2", "--vat-dimensions", "784", "--vat-weight", "0.5"])
        let m = c.modelConfig(inputDim: 64, classes: 10, trainingExamples: 1000, labels: [0, 1], stack: nil)
        XCTAssertEqual(Double(m.vat?.epsilon ?? 0), 2 * (64.0 / 784).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(m.vat?.weight, 0.5); XCTAssertEqual(m.vat?.xi, 10)
        c.vatDimensions = nil
        XCTAssertEqual(c.modelConfig(inputDim: 64, classes: 10, trainingExamples: 1000, labels: [0, 1], stack: nil).vat?.epsilon, 2)
        c.vat = nil
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--vat-weight: sets virtual adversarial training, which is off"), "\($0)") }
        XCTAssertNil(TrainConfig.recipe(for: .supervised).modelConfig(inputDim: 4, classes: 2, trainingExamples: 10, labels: [0], stack: nil).vat)
        // On by default for m2, adgm and sdgm (ε 2 per 784 dimensions); `--vat 0` alone turns it off.
        let adgm = try config(["--model", "adgm", "--epochs", "1"])
        XCTAssertEqual(adgm.modelConfig(inputDim: 784, classes: 10, trainingExamples: 100, labels: [0], stack: nil).vat?.epsilon, 2)
        let off = try config(["--model", "adgm", "--epochs", "1", "--vat", "0"])
        XCTAssertNoThrow(try off.validate())
        XCTAssertNil(off.modelConfig(inputDim: 784, classes: 10, trainingExamples: 100, labels: [0], stack: nil).vat)
        XCTAssertThrowsError(try config(["--model", "supervised", "--epochs", "1", "--vat", "2"]).validate()) {
            XCTAssertTrue("\($0)".contains("--vat: is for --model m2, adgm, sdgm"), "\($0)")
        }
    }

    func testErrorsNameTheFlagAndWhatWouldWork() {
        XCTAssertTrue(problem(["--epochs", "ten"]).contains("--epochs: 'ten' should be"), problem(["--epochs", "ten"]))
        XCTAssertTrue(problem(["--bogus", "1"]).contains("--bogus: unknown option"))
        XCTAssertTrue(problem(["--lr"]).contains("--lr: needs a value"))
        XCTAssertTrue(problem(["m2"]).contains("unexpected argument"))
        XCTAssertTrue(problem(["--epochs", "3", "--steps", "5"]).contains("give either epochs or steps"))
        XCTAssertTrue(problem(["--model", "nope"]).contains("should be one of"))
        XCTAssertTrue(problem(["--label-column", "0"]).contains("a column number from 1"))
        // Ranges live in the declarations (TrainSettings), not in a second list of checks.
        for (args, words) in [(["--ema", "1.5"], "--ema: 1.5 must be in (0, 1)"), (["--lr-decay", "2"], "--lr-decay: 2.0 must be in (0, 1]"),
                              (["--clip-grad-norm", "-1"], "--clip-grad-norm: -1.0 must be positive"),
                              (["--alpha", "-3"], "--alpha: -3.0 must be 0 or more"), (["--class-balance", "-1"], "--class-balance: -1.0 must be 0 or more"),
                              (["--lr-min", "-1"], "--lr-min: -1.0 must be 0 or more"),
                              (["--aux-logvar-min", "-50"], "--aux-logvar-min: -50.0 must be in [-40, 10]")] {
            XCTAssertTrue(problem(args).contains(words), "\(args): \(problem(args))")
        }
    }

    func testRangesAreCheckedAgainOnAConfigFromElsewhere() throws {
        var c = TrainConfig.recipe(for: .m2)
        c.epochs = 1
        XCTAssertNoThrow(try c.validate())
        c.ema = 2
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--ema: 2.0 must be in (0, 1)"), "\($0)") }
        // A rule between settings: p(a|·)'s floor is for the models that have an a.
        c.ema = nil; c.auxLogVarianceMin = -4
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--aux-logvar-min: is for the models with an auxiliary a"), "\($0)") }
        c.model = .sdgm
        XCTAssertNoThrow(try c.validate())
    }

    /// `--lr-reference-batch N` (adgm's recipe: 100): at a global batch B above N the rate is lr·min(B/N, 8), reached after a
    /// warm-up of `--scaled-lr-warmup-epochs` (adgm: 2; one epoch when not given) unless `--lr-warmup-epochs` is given;
    /// at or below N, and without the setting, `--lr` as given and no warm-up.
    func testTheLearningRateScalesWithTheGlobalBatchAfterAWarmUp() throws {
        let big = try config(["--model", "adgm", "--batch-size", "800", "--labelled-batch-size", "800"])
        XCTAssertEqual(big.lrReferenceBatch, 100)
        XCTAssertEqual(big.batchScaledLearningRate, big.learningRate * 8, accuracy: 1e-9)
        XCTAssertEqual(big.lrWarmupSteps(stepsPerEpoch: 63), 126)
        let huge = try config(["--model", "adgm", "--batch-size", "1600", "--lr-warmup-epochs", "0.5"])
        XCTAssertEqual(huge.lrWarmupSteps(stepsPerEpoch: 32), 16)
        XCTAssertEqual(huge.batchScaledLearningRate, huge.learningRate * TrainConfig.maxBatchScale, accuracy: 1e-9, "at most × 8")
        let small = try config(["--model", "adgm"])
        XCTAssertEqual(small.batchScaledLearningRate, small.learningRate)
        XCTAssertEqual(small.lrWarmupSteps(stepsPerEpoch: 500), 0)
        let off = try config(["--model", "adgm", "--batch-size", "800", "--lr-reference-batch", "800"])
        XCTAssertEqual(off.batchScaledLearningRate, off.learningRate)
        var old = TrainConfig()  // a config without the key (written before the setting)
        old.batchSize = 800
        XCTAssertEqual(old.batchScaledLearningRate, old.learningRate)
        // At a scaled rate adgm's recipe warms up over two epochs and cools down over the run's last third; at batch
        // 100 its cosine with no warm-up; a run started before `--scaled-lr-schedule` and `--scaled-lr-warmup-epochs`
        // keeps the cosine and one epoch.
        XCTAssertEqual(big.resolvedSchedule, .cooldown)
        XCTAssertEqual(big.schedule(stepsPerEpoch: 62, totalSteps: 744), .cooldown(start: 498, total: 744, floor: Double(Float(1e-5))))
        XCTAssertEqual(big.lrWarmupSteps(stepsPerEpoch: 62), 124)
        XCTAssertEqual(small.resolvedSchedule, .cosine)
        XCTAssertEqual(small.schedule(stepsPerEpoch: 500, totalSteps: 5000), .cosine(total: 5000, floor: Double(Float(1e-5))))
        var before = big; before.scaledLRSchedule = nil; before.scaledLRWarmupEpochs = nil
        XCTAssertEqual(before.resolvedSchedule, .cosine)
        XCTAssertEqual(before.lrWarmupSteps(stepsPerEpoch: 62), 62)
        XCTAssertEqual(try config(["--model", "sdgm", "--batch-size", "800"]).resolvedSchedule, .cosine, "sdgm does not scale its rate")
    }

    /// m2's recipe switches to LAMB at 0.01 above a global batch of 100 (`--lamb-above`), with no warm-up, its rate
    /// × √(B/800) above 800 (`--lamb-reference-batch`); at 100, for a model without the setting, and when --optimizer is given, the optimizer and
    /// rate as given.
    func testM2SwitchesToLAMBAboveItsBatch() throws {
        let big = try config(["--model", "m2", "--batch-size", "800", "--labelled-batch-size", "800"])
        XCTAssertEqual(big.resolvedOptimizer, .lamb)
        XCTAssertEqual(big.batchScaledLearningRate, 0.01)
        XCTAssertEqual(big.lrWarmupSteps(stepsPerEpoch: 63), 0)
        XCTAssertEqual(try config(["--model", "m2", "--batch-size", "800", "--lamb-lr", "0.02"]).batchScaledLearningRate, 0.02)
        // Above 800 (`--lamb-reference-batch`) the rate grows as √(B/800); a run without the setting keeps 0.01.
        let huge = try config(["--model", "m2", "--batch-size", "1600", "--labelled-batch-size", "1600"])
        XCTAssertEqual(huge.batchScaledLearningRate, 0.01 * Float(2).squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(try config(["--model", "m2", "--batch-size", "3200", "--lamb-lr", "0.02"]).batchScaledLearningRate, 0.04, accuracy: 1e-9)
        var old = huge; old.lambReferenceBatch = nil  // a checkpoint of a run started before the setting
        XCTAssertEqual(old.batchScaledLearningRate, 0.01)
        // LAMB holds its rate for two thirds of the run and cools down over the last third; a run started before
        // `--lamb-schedule` and m2 at batch 100 keep their constant rate.
        XCTAssertEqual(big.resolvedSchedule, .cooldown)
        XCTAssertEqual(big.schedule(stepsPerEpoch: 62, totalSteps: 744), .cooldown(start: 498, total: 744, floor: 0))
        var fifth = big; fifth.lrCooldown = nil
        XCTAssertEqual(fifth.schedule(stepsPerEpoch: 62, totalSteps: 744), .cooldown(start: 595, total: 744, floor: 0),
                       "the cooldown's default: the last fifth")
        old.lambSchedule = nil
        XCTAssertEqual(old.resolvedSchedule, .constant)
        let small = try config(["--model", "m2"])
        XCTAssertEqual(small.resolvedOptimizer, .adam)
        XCTAssertEqual(small.resolvedSchedule, .constant)
        XCTAssertEqual(small.batchScaledLearningRate, small.learningRate)
        let adgm = try config(["--model", "adgm", "--batch-size", "800"])
        XCTAssertEqual(adgm.resolvedOptimizer, .adam)
        let asked = try config(["--model", "m2", "--batch-size", "800", "--optimizer", "adam"])
        XCTAssertEqual(asked.resolvedOptimizer, .adam, "an optimizer given is kept")
        XCTAssertEqual(asked.batchScaledLearningRate, asked.learningRate)
    }

    func testResumeConflictsNameTheFlagsThatContradictTheCheckpoint() throws {
        var saved = TrainConfig.recipe(for: .m2)
        saved.epochs = 10
        let given = try TrainSettings.parse(arguments: ["--epochs", "20", "--lr", "0.5", "--model", "m2"])
        XCTAssertEqual(TrainSettings.conflicts(given, with: saved), ["--lr"], "--epochs may grow on resume, --lr may not change")
    }

    /// Every declared setting, set to a value other than its default, is read back from a checkpoint's JSON (snake_case
    /// keys, as `CheckpointDirectory` writes them) and from config.json (the Swift names): one declaration gives the
    /// key, so no setting can be left out of either. (allreduceBucketMB was lost this way before the declarations
    /// carried the keys: snake_case turned it into allreduceBucketMb.)
    func testEverySettingSurvivesTheJSONOfACheckpointAndOfConfigJSON() throws {
        let candidates: [SettingValue] = [.int(7), .int(3), .double(0.5), .double(0.25), .bool(false), .bool(true), .ints([7, 5]),
                                          .string("m2"), .string("softplus"), .string("gaussian"), .string("proportional"),
                                          .string("balanced"), .string("labelled"), .string("lamb"), .string("cosine"),
                                          .string("first"), .string("fan-in"), .string("clean"), .string("off"), .string("some/file")]
        var c = TrainConfig()
        for s in TrainSettings.all {
            let before = c
            for v in candidates where TrainSettings.fits(v, s.kind) {
                var trial = c
                if (try? s.set(&trial, v)) != nil, s.get(trial) != s.get(before) { c = trial; break }
            }
            XCTAssertNotEqual(s.get(c), s.get(before), "no candidate value changes \(s.name)")
        }
        let snake = JSONEncoder(); snake.keyEncodingStrategy = .convertToSnakeCase
        let fromSnake = JSONDecoder(); fromSnake.keyDecodingStrategy = .convertFromSnakeCase
        let back = try fromSnake.decode(TrainConfig.self, from: snake.encode(c))
        let plain = try JSONDecoder().decode(TrainConfig.self, from: JSONEncoder().encode(c))
        for s in TrainSettings.all {
            XCTAssertEqual(s.get(back), s.get(c), "\(s.name) through a checkpoint's JSON")
            XCTAssertEqual(s.get(plain), s.get(c), "\(s.name) through config.json")
        }
        XCTAssertEqual(back, c); XCTAssertEqual(plain, c)
        // A config written before a setting existed lacks its key: it reads as the declaration's default.
        XCTAssertEqual(try JSONDecoder().decode(TrainConfig.self, from: Data("{\"model\": \"m2\"}".utf8)).batchSize, 100)
    }

    /// `--classifier-hidden` shapes q(y|·) alone: its layers take those sizes in every model with a classifier, the
    /// other networks keep --hidden, and configs without it build the classifier they were trained with.
    func testClassifierSizesShapeOnlyTheClassifier() throws {
        for model in ["m2", "adgm", "sdgm", "supervised"] {
            let c = try config(["--model", model, "--epochs", "1", "--hidden", "40", "--classifier-hidden", "30,20"])
            let m = c.modelConfig(inputDim: 64, classes: 10, trainingExamples: 100, labels: [0, 1], stack: nil)
            let layout = makeModel(m, capacity: Capacity(labelled: 4, unlabelled: 4, evaluation: 4)).layout
            let weights = layout.entries.filter { $0.shape.count == 2 && !$0.isState }
            let classifier = weights.filter { $0.name.hasPrefix("qy") }.map(\.shape)
            XCTAssertTrue(classifier.contains([30, 64]) && classifier.contains([20, 30]) && classifier.contains([10, 20]),
                          "\(model): \(classifier)")
            XCTAssertTrue(weights.filter { !$0.name.hasPrefix("qy") }.allSatisfy { !$0.shape.contains(30) && !$0.shape.contains(20) },
                          "\(model): only q(y|·) takes the classifier's sizes")
            var old = m; old.classifierHidden = nil
            let decoded = try JSONDecoder().decode(ModelConfig.self, from: JSONEncoder().encode(old))
            XCTAssertEqual(decoded.classifierSizes, [40], "\(model): a config without the field keeps --hidden")
        }
    }
}
