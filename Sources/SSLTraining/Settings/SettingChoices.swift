import Foundation

// The closed sets of values of training settings that are not types of a model's own (those live beside their code:
// `ModelKind`, `Activation`, `Likelihood`, `WeightInit`, `LabelSplit.Sampling`).

/// p(y) of the generative models.
public enum ClassPrior: String, SettingChoice, Sendable {
    /// 1/K, as in Kingma's and Maaløe's models.
    case uniform
    /// The labelled examples' class proportions, add-one smoothed: for data where one class dominates.
    case labelled
    /// p(y) uniform; the class-balance term's target is the unlabelled data's class mix, estimated early in training
    /// by EM from the classifier's predictions (`ClassMixEstimate`). The semi-supervised recipes' default.
    case estimated
}

/// The update rule.
public enum OptimizerKind: String, SettingChoice, Sendable {
    case adam
    /// Adam's direction, each tensor's step scaled to lr·‖W‖ (LAMB): measured to keep m2's accuracy per epoch at a
    /// global batch of 800 (docs/distributed.md).
    case lamb
}

/// Whether the ranks shard the update (`OptimizerShards`).
public enum OptimizerSharding: String, SettingChoice, Sendable {
    /// On when every rank of the job shares one node (where it was measured to pay: adgm and m2 on 2 ranks, 6–9%
    /// faster), off across nodes (4 emulated hosts: m2 27% slower, its short forward cannot hide the gather);
    /// decided each time a run starts (or resumes).
    case auto
    case on
    /// Every rank updates all parameters (runs written before the setting, which lack it, resume so).
    case off

    /// Whether to shard, given whether every rank of the job shares one node.
    func shards(oneNode: Bool) -> Bool { self == .on || (self == .auto && oneNode) }
}

/// Which batch statistics batch normalisation uses in virtual adversarial training's perturbed passes.
public enum VATStatistics: String, SettingChoice, Sendable {
    /// Each perturbed batch its own (the behaviour before the setting).
    case perturbed
    /// The clean pass's, held as constants: the classifier is then the same function of x for p and for q.
    case clean
}

/// How the learning rate changes with the step.
public enum LRScheduleKind: String, SettingChoice, Sendable {
    case constant
    /// ×--lr-decay every --lr-decay-epochs epochs, never below --lr-min (Maaløe's: 0.75 every 200, floor 3e-5).
    case step
    /// Cosine from --lr down to --lr-min over the run.
    case cosine
    /// --lr held, then a cosine down to --lr-min over the run's last --lr-cooldown.
    case cooldown
}

/// How the classification term weighs the classes.
public enum ClassWeighting: String, SettingChoice, Sendable {
    case none
    /// c_k = N_l / (K·n_k) over the labelled set: every class carries the same total weight.
    case balanced
}

