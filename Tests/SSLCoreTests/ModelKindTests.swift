import Foundation
import SSLCore
import XCTest

/// The registry of model kinds: names are unique and round-trip through checkpoints' JSON; a name this build does not
/// know is an error that lists the ones it does; every kind builds the model its traits describe.
final class ModelKindTests: XCTestCase {
    func testNamesAreUniqueAndRoundTripThroughJSON() throws {
        XCTAssertEqual(Set(ModelKind.allCases.map(\.rawValue)).count, ModelKind.allCases.count)
        for kind in ModelKind.allCases {
            let json = try JSONEncoder().encode([kind])
            XCTAssertEqual(String(decoding: json, as: UTF8.self), "[\"\(kind.rawValue)\"]", "stored as its name, as before the registry")
            XCTAssertEqual(try JSONDecoder().decode([ModelKind].self, from: json), [kind])
            XCTAssertEqual(ModelKind(rawValue: kind.rawValue), kind)
        }
        XCTAssertThrowsError(try JSONDecoder().decode([ModelKind].self, from: Data("[\"m3\"]".utf8))) {
            XCTAssertTrue("\($0)".contains("unknown model 'm3'") && "\($0)".contains("m1sdgm"), "\($0)")
        }
    }

    func testEveryKindBuildsTheModelItsTraitsDescribe() {
        for kind in ModelKind.allCases {
            var config = ModelConfig(kind: kind, inputDim: 6, classes: 3, hidden: [4], latent: 2, auxiliary: 2,
                                     activation: .relu, alpha: 1, evalSamples: 2, likelihood: kind.stacked ? .gaussian : .bernoulli)
            if kind.stacked { config.stack = StackedM1(hidden: [4], latent: 3, activation: .relu, likelihood: .bernoulli, kept: [0, 2]) }
            let model = makeModel(config, capacity: Capacity(labelled: 2, unlabelled: 2, evaluation: 4))
            XCTAssertEqual(model.config.kind, kind)
            XCTAssertEqual(model is Classifier, kind.classifies, "\(kind): a classifier exactly when it classifies")
            XCTAssertEqual(model is BoundModel, kind.hasBound, "\(kind): a bound exactly when it has one")
            XCTAssertEqual(model.layout.entries.contains { $0.name.hasPrefix("qa.") },
                           kind.hasAuxiliary, "\(kind): q(a|x) exactly when it has an a")
            XCTAssertEqual(model.layout.entries.contains { $0.name.hasPrefix("m1.") }, kind.stacked, "\(kind): an M1 under it exactly when stacked")
        }
    }
}
