import Foundation

/// A self-contained HTML report: one file with its styles, charts (inline
/// SVG) and images (PNG as data URLs) inside, so it opens offline, on a
/// laptop or from a cluster's file system, and can be mailed as is.
public struct HTMLReport {
    public let title: String
    private var body: [String] = []

    public init(title: String) { self.title = title }

    public mutating func heading(_ text: String, level: Int = 2) {
        let level = min(max(level, 1), 4)
        body.append("<h\(level)>\(escape(text))</h\(level)>")
    }

    public mutating func paragraph(_ text: String) {
        body.append("<p>\(escape(text))</p>")
    }

    /// A table; cells are text (escaped). `numeric` columns align right.
    public mutating func table(_ header: [String], _ rows: [[String]], caption: String? = nil,
                               numeric: Set<Int> = []) {
        var html = "<table>"
        if let caption { html += "<caption>\(escape(caption))</caption>" }
        html += "<thead><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in rows {
            html += "<tr>" + row.enumerated().map { index, cell in
                numeric.contains(index) ? "<td class=\"num\">\(escape(cell))</td>" : "<td>\(escape(cell))</td>"
            }.joined() + "</tr>"
        }
        body.append(html + "</tbody></table>")
    }

    public mutating func chart(_ chart: SVGChart) {
        body.append("<figure>\(chart.svg)<figcaption>\(escape(chart.title))</figcaption></figure>")
    }

    /// A PNG image (its bytes) embedded as a data URL.
    public mutating func image(png: [UInt8], caption: String, width: Int? = nil) {
        let style = width.map { " style=\"width:\($0)px\"" } ?? ""
        body.append("<figure><img alt=\"\(escape(caption))\"\(style) src=\"data:image/png;base64,"
            + Data(png).base64EncodedString() + "\"><figcaption>\(escape(caption))</figcaption></figure>")
    }

    /// Raw, already safe HTML (for blocks built by other helpers).
    public mutating func html(_ fragment: String) { body.append(fragment) }

    /// The body's blocks alone, to embed in another report.
    public var bodyHTML: String { body.joined(separator: "\n") }

    public var html: String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
        h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
        table { border-collapse: collapse; margin: 1em 0; } caption { text-align: left; font-weight: 600; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; } th { background: #f3f3f3; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        figure { display: inline-block; margin: 0.5em 1em 1em 0; vertical-align: top; }
        figcaption { font-size: 0.9em; color: #555; } svg text { font: 11px system-ui, sans-serif; }
        </style></head><body>
        <h1>\(escape(title))</h1>
        \(body.joined(separator: "\n"))
        </body></html>

        """
    }

    public func write(to path: String) throws {
        try html.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// Text made safe for HTML and SVG.
func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}
