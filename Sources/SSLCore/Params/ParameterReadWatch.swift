/// Observes the reads of trained parameters (`ParameterStore.w(_:)`) while some of them may still be arriving from
/// other ranks: the sharded update's gather overlaps the next forward pass, and a tensor is waited for only when a
/// layer first reads it.
public protocol ParameterReadWatch: AnyObject {
    func reading(_ r: ParamRef)
}
