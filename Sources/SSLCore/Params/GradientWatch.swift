/// Observes one step's gradient writes, so that each group of gradients can be summed across ranks as soon as
/// backward has finished with it (while backward goes on with the layers below). Two kinds of events:
///
/// - a **touch**: every gradient write goes through `ParameterStore.g(_:)`, which reports the tensor;
/// - a **settle**: each layer's backward ends with `ParameterStore.gradientsSettled()`: every write through a
///   pointer handed out so far is complete.
///
/// A tensor whose last touch of the step came before a settle may be sent at that settle.
public protocol GradientWatch: AnyObject {
    func touched(_ r: ParamRef)
    func settled()
}
