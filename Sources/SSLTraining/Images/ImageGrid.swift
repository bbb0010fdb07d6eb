import CPNG
import Foundation

/// Cells of `cellHeight × cellWidth` in a grid, separated and framed by `pad` gray pixels.
public struct ImageGrid {
    public let rows: Int, cols: Int, cellHeight: Int, cellWidth: Int, pad: Int
    public var image: GrayImage

    public init(rows: Int, cols: Int, cellHeight: Int, cellWidth: Int, pad: Int = 2) {
        self.rows = rows; self.cols = cols; self.cellHeight = cellHeight; self.cellWidth = cellWidth; self.pad = pad
        image = GrayImage(width: cols * (cellWidth + pad) + pad, height: rows * (cellHeight + pad) + pad, fill: 96)
    }

    /// The pixel value for a Bernoulli mean in [0, 1].
    public static func pixel(_ p: Float) -> UInt8 { UInt8((max(0, min(1, p)) * 255).rounded()) }

    /// Draws values in [0, 1] (row-major cellHeight × cellWidth) into cell (r, c).
    public mutating func draw(_ values: UnsafePointer<Float>, row r: Int, col c: Int) {
        let x0 = pad + c * (cellWidth + pad), y0 = pad + r * (cellHeight + pad)
        for y in 0..<cellHeight {
            for x in 0..<cellWidth {
                image.pixels[(y0 + y) * image.width + x0 + x] = Self.pixel(values[y * cellWidth + x])
            }
        }
    }

    /// The pixel at (x, y) of cell (r, c).
    public func pixel(row r: Int, col c: Int, x: Int, y: Int) -> UInt8 {
        image.pixels[(pad + r * (cellHeight + pad) + y) * image.width + pad + c * (cellWidth + pad) + x]
    }
}
