import Foundation

/// Line charts drawn straight into an RGB image (no plotting library): axes with round ticks, one coloured line per
/// series, a legend, and text in a 5×7 bitmap font. Used by `ssl-dist plot` for learning curves.
public struct LineChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) { self.name = name; self.points = points }
    }
    public var title: String
    public var xLabel: String
    /// What y is (the title says it on the chart).
    public var yLabel: String
    public var series: [Series]
    /// Show y values as percentages (accuracies in [0, 1]).
    public var percent = false

    public init(title: String, xLabel: String, yLabel: String, series: [Series], percent: Bool = false) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series; self.percent = percent
    }

    /// Draws the chart into `img` in the rectangle (x0, y0, width, height).
    public func draw(into img: inout RGBImage, x x0: Int, y y0: Int, width: Int, height: Int) {
        // The right margin holds half of the last x label (up to 6 characters, 6 pixels each).
        let left = x0 + 62, right = x0 + width - 20, top = y0 + 28, bottom = y0 + height - 40
        let all = series.flatMap(\.points)
        guard !all.isEmpty, right > left + 10, bottom > top + 10 else { return }
        let (xTicks, xLo, xHi) = LineChart.ticks(all.map(\.x).min()!, all.map(\.x).max()!)
        let (yTicks, yLo, yHi) = LineChart.ticks(all.map(\.y).min()!, all.map(\.y).max()!)
        func px(_ x: Double) -> Int { left + Int(((x - xLo) / max(xHi - xLo, 1e-12) * Double(right - left)).rounded()) }
        func py(_ y: Double) -> Int { bottom - Int(((y - yLo) / max(yHi - yLo, 1e-12) * Double(bottom - top)).rounded()) }
        LineChart.text(title, into: &img, x: left, y: y0 + 6, scale: 2)
        for t in xTicks {
            LineChart.line(&img, px(t), top, px(t), bottom, (228, 228, 228))
            let label = LineChart.format(t)
            LineChart.text(label, into: &img, x: px(t) - 3 * label.count, y: bottom + 6)
        }
        for t in yTicks {
            LineChart.line(&img, left, py(t), right, py(t), (228, 228, 228))
            let label = percent ? LineChart.format(100 * t) + "%" : LineChart.format(t)
            LineChart.text(label, into: &img, x: left - 6 * label.count - 6, y: py(t) - 3)
        }
        LineChart.line(&img, left, bottom, right, bottom, (0, 0, 0))
        LineChart.line(&img, left, top, left, bottom, (0, 0, 0))
        LineChart.text(xLabel, into: &img, x: (left + right) / 2 - 3 * xLabel.count, y: bottom + 22)
        for (i, s) in series.enumerated() {
            let c = ClassMap.color(i)
            for (a, b) in zip(s.points, s.points.dropFirst()) {
                LineChart.line(&img, px(a.x), py(a.y), px(b.x), py(b.y), c, thick: true)
            }
            if s.points.count == 1 { LineChart.line(&img, px(s.points[0].x) - 2, py(s.points[0].y), px(s.points[0].x) + 2, py(s.points[0].y), c, thick: true) }
            // Legend, top left inside the plot.
            let ly = top + 6 + 12 * i
            for dx in 0..<14 { img[left + 8 + dx, ly + 3] = c; img[left + 8 + dx, ly + 4] = c }
            LineChart.text(s.name, into: &img, x: left + 26, y: ly)
        }
    }

    /// Round tick positions covering [lo, hi] (about 5 of them), and the covered range.
    static func ticks(_ lo: Double, _ hi: Double) -> ([Double], Double, Double) {
        let span = hi > lo ? hi - lo : max(abs(hi), 1) * 0.1
        let raw = span / 5, mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        let first = floor((hi > lo ? lo : lo - span / 2) / step) * step, last = ceil((hi > lo ? hi : hi + span / 2) / step) * step
        return (stride(from: first, through: last + step / 2, by: step).map { $0 }, first, last)
    }

    static func format(_ v: Double) -> String {
        // 100·0.85 is 85.00000000000001: a tick that is an integer up to rounding prints as one.
        if abs(v - v.rounded()) < 1e-9 * max(1, abs(v)) && abs(v) < 1e6 { return String(Int(v.rounded())) }
        return abs(v) >= 10 ? String(format: "%.1f", v) : String(format: "%.3g", v)
    }

    /// A line from (x0, y0) to (x1, y1), clipped to the image; `thick` draws it two pixels wide.
    static func line(_ img: inout RGBImage, _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8), thick: Bool = false) {
        let steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for s in 0...steps {
            let x = x0 + (x1 - x0) * s / steps, y = y0 + (y1 - y0) * s / steps
            for (dx, dy) in thick ? [(0, 0), (1, 0), (0, 1)] : [(0, 0)] where x + dx >= 0 && x + dx < img.width && y + dy >= 0 && y + dy < img.height {
                img[x + dx, y + dy] = c
            }
        }
    }

    /// Text in the 5×7 font (upper case; lower case is drawn as upper case), `scale` pixels per dot.
    static func text(_ s: String, into img: inout RGBImage, x x0: Int, y y0: Int, scale: Int = 1) {
        for (i, ch) in s.uppercased().enumerated() {
            guard let rows = font[ch] else { continue }
            for (r, bits) in rows.enumerated() {
                for col in 0..<5 where bits & (16 >> col) != 0 {
                    for sy in 0..<scale { for sx in 0..<scale {
                        let x = x0 + (6 * i + col) * scale + sx, y = y0 + r * scale + sy
                        if x >= 0 && x < img.width && y >= 0 && y < img.height { img[x, y] = (20, 20, 20) }
                    } }
                }
            }
        }
    }

    /// 5×7 glyphs, one row of five bits per line (high bit on the left).
    static let font: [Character: [UInt8]] = [
        "0": [14, 17, 19, 21, 25, 17, 14], "1": [4, 12, 4, 4, 4, 4, 14], "2": [14, 17, 1, 2, 4, 8, 31], "3": [31, 2, 4, 2, 1, 17, 14],
        "4": [2, 6, 10, 18, 31, 2, 2], "5": [31, 16, 30, 1, 1, 17, 14], "6": [6, 8, 16, 30, 17, 17, 14], "7": [31, 1, 2, 4, 8, 8, 8],
        "8": [14, 17, 17, 14, 17, 17, 14], "9": [14, 17, 17, 15, 1, 2, 12],
        "A": [14, 17, 17, 31, 17, 17, 17], "B": [30, 17, 17, 30, 17, 17, 30], "C": [14, 17, 16, 16, 16, 17, 14],
        "D": [28, 18, 17, 17, 17, 18, 28], "E": [31, 16, 16, 30, 16, 16, 31], "F": [31, 16, 16, 30, 16, 16, 16],
        "G": [14, 17, 16, 23, 17, 17, 15], "H": [17, 17, 17, 31, 17, 17, 17], "I": [14, 4, 4, 4, 4, 4, 14],
        "J": [7, 2, 2, 2, 2, 18, 12], "K": [17, 18, 20, 24, 20, 18, 17], "L": [16, 16, 16, 16, 16, 16, 31],
        "M": [17, 27, 21, 21, 17, 17, 17], "N": [17, 17, 25, 21, 19, 17, 17], "O": [14, 17, 17, 17, 17, 17, 14],
        "P": [30, 17, 17, 30, 16, 16, 16], "Q": [14, 17, 17, 17, 21, 18, 13], "R": [30, 17, 17, 30, 20, 18, 17],
        "S": [15, 16, 16, 14, 1, 1, 30], "T": [31, 4, 4, 4, 4, 4, 4], "U": [17, 17, 17, 17, 17, 17, 14],
        "V": [17, 17, 17, 17, 17, 10, 4], "W": [17, 17, 17, 21, 21, 21, 10], "X": [17, 17, 10, 4, 10, 17, 17],
        "Y": [17, 17, 17, 10, 4, 4, 4], "Z": [31, 1, 2, 4, 8, 16, 31],
        ".": [0, 0, 0, 0, 0, 12, 12], ",": [0, 0, 0, 0, 12, 4, 8], "-": [0, 0, 0, 31, 0, 0, 0], "_": [0, 0, 0, 0, 0, 0, 31],
        "%": [24, 25, 2, 4, 8, 19, 3], "(": [2, 4, 8, 8, 8, 4, 2], ")": [8, 4, 2, 2, 2, 4, 8], ":": [0, 12, 12, 0, 12, 12, 0],
        "/": [0, 1, 2, 4, 8, 16, 0], "=": [0, 0, 31, 0, 31, 0, 0], "+": [0, 4, 4, 31, 4, 4, 0], " ": [0, 0, 0, 0, 0, 0, 0],
    ]
}
