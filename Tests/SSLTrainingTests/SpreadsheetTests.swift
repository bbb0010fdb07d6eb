import Foundation
import SSLData
import TestSupport
import XCTest

/// A CSV exported from a spreadsheet (CRLF, `;`, a header, class names in a middle column, empty cells for examples
/// without a label) trains, evaluates and predicts with no preparation, and the predictions carry the names.
final class SpreadsheetTests: XCTestCase {
    func testSpreadsheetCSVTrainsEvaluatesAndPredictsWithClassNames() throws {
        guard let digits = digitsPath() else {
            throw XCTSkip("sklearn's digits.csv.gz not found: run `make deps` (installs python3-sklearn) or set SSL_DIST_DIGITS")
        }
        let dir = try makeTemporaryDirectory("ssl-spreadsheet")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try CSVReader.read(digits, labelColumn: .last)
        let names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
        var text = (0..<d.dim).map { $0 == 5 ? "pixel5;digit" : "pixel\($0)" }.joined(separator: ";") + "\r\n"
        for i in 0..<d.count {
            let x = d.features[(i * d.dim)..<((i + 1) * d.dim)].map { String(Int($0)) }
            let label = i % 3 == 2 ? "" : names[Int(d.labels[i])]  // a third without a label
            text += (x[..<6] + [label] + x[6...]).joined(separator: ";") + "\r\n"
        }
        try text.write(toFile: "\(dir)/sheet.csv", atomically: true, encoding: .utf8)

        let run = "\(dir)/run"
        let t = try runProcess(sslDistBinary(), ["train", "--model", "m2", "--data", "csv:\(dir)/sheet.csv", "--label-column", "digit",
                                                 "--labels-per-class", "3", "--hidden", "64", "--latent", "8", "--steps", "200",
                                                 "--quiet", "--blas-threads", "1", "--run-dir", run])
        XCTAssertEqual(t.status, 0, t.output)
        XCTAssertTrue(t.stdout.contains("64 features, 10 classes"), t.stdout)

        let e = try runProcess(sslDistBinary(), ["evaluate", "--checkpoint", run, "--blas-threads", "1"])
        XCTAssertEqual(e.status, 0, e.output)
        for name in names { XCTAssertTrue(e.stdout.contains("  \(name)  "), "evaluate's table names '\(name)': \(e.stdout)") }

        let p = try runProcess(sslDistBinary(), ["predict", "--checkpoint", run, "--out", "\(dir)/pred.csv", "--blas-threads", "1"])
        XCTAssertEqual(p.status, 0, p.output)
        let lines = try String(contentsOfFile: "\(dir)/pred.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(lines[0].hasPrefix("index,class,class_name,p0"), String(lines[0]))
        XCTAssertEqual(lines.count, d.count + 1)
        // Sorted names number the classes: class 9 is "zero"; each row's name is its class's.
        let sorted = names.sorted()
        var correct = 0
        for (i, line) in lines.dropFirst().enumerated() {
            let cells = line.split(separator: ",")
            let k = try XCTUnwrap(Int(cells[1]))
            XCTAssertEqual(String(cells[2]), sorted[k])
            if sorted[k] == names[Int(d.labels[i])] { correct += 1 }
        }
        XCTAssertGreaterThan(Double(correct) / Double(d.count), 0.5, "the names are the right ones for most digits")
    }
}
