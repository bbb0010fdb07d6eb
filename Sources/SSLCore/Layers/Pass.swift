import CKernels
import Foundation

/// Whether a forward pass trains (batch statistics, running statistics updated) or infers (running statistics).
public enum Pass: Sendable {
    case training
    case inference
    /// Batch statistics as in training, the running ones left alone: a second look at a training batch whose input
    /// was moved (the perturbed passes of virtual adversarial training), which must not count as more data.
    case perturbed
    /// The last training pass's batch statistics, held as constants (no gradient through them), the running ones left
    /// alone: the perturbed passes of virtual adversarial training seen by the same function as the clean batch
    /// (`VATSettings.cleanStatistics`). Needs no collective.
    case heldStatistics
}
