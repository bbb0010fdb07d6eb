import Foundation
import SSLData

/// Data prepared for a trained model exactly as its training prepared them: the same split options and seed, features
/// scaled by what training divided them by, standardised with the training split's statistics.
public enum PredictionData {
    /// The examples of `split` of `specText` (see `DataSplit`). Errors name --data or the file.
    public static func load(_ specText: String, split: DataSplit, for loaded: LoadedModel) throws -> (Dataset, String) {
        let c = loaded.state.config
        let spec = try DataSpec(parsing: specText)
        var d: Dataset
        switch split {
        case .all, .unlabelled:
            d = try spec.load(labelColumn: c.labelColumn).train
            if spec.needsScaling { d.scale(by: try loaded.state.dataScale ?? DataSplits.make(spec, try c.splitOptions).scale) }
            if split == .unlabelled { d = d.subset(d.unlabelledOnly) }
        case .train, .validation, .test:
            var splits = try DataSplits.make(spec, try c.splitOptions)
            if let cap = c.maxPerClass { splits.train = splits.train.capped(perClass: cap, seed: c.seed) }
            d = split == .train ? splits.train : split == .validation ? splits.validation : splits.test
        }
        // The model's own standardisation (from its training split), whatever data are used.
        if let st = loaded.state.standardization, st.mean.count == d.dim { d.standardize(st) }
        guard d.dim == loaded.modelConfig.inputDim else {
            throw DataError("--data", "\(specText) has \(d.dim) features per example; the model takes \(loaded.modelConfig.inputDim)")
        }
        if let i = d.labels.firstIndex(where: { Int($0) >= loaded.modelConfig.classes }) {
            throw DataError(specText, "example \(d.position(i)) has label \(d.labels[i]) but the model knows \(loaded.modelConfig.classes) "
                            + "classes (0…\(loaded.modelConfig.classes - 1)\(d.grid == nil ? "" : "; in the map, 1…\(loaded.modelConfig.classes)"))")
        }
        return (d, specText)
    }
}
