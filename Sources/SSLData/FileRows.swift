/// The rows of a features file, read on demand: a rank opens the file for its labels and reads the features of only
/// the examples it keeps. `ArrayRows` reads NPY and IDX arrays, `CSVRows` spreadsheets' text.
public protocol FileRows: AnyObject {
    var path: String { get }
    /// Values per row.
    var rowLength: Int { get }
    /// How many rows (examples) the file holds.
    var rowCount: Int { get }
    /// Bytes read from the file so far (a gzip file counts whole each time it is read through).
    var bytesRead: Int { get }
    /// The file's size on disk.
    var fileBytes: Int { get }
    /// The rows at `positions` (counted from 0), in that order, one after another; each checked (finite numbers).
    func read(_ positions: [Int]) throws -> [Float]
}
