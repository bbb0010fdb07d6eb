/// A problem with input data, naming the file (or spec) and what was expected.
public struct DataError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let problem: String
    public init(_ file: String, _ problem: String) { self.file = file; self.problem = problem }
    public var description: String { "\(file): \(problem)" }
}
