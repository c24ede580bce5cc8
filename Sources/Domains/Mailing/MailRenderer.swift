import Foundation
import Mustache

/// Renders a mail from ``MailTemplates``: subject, text and HTML, from one set of values.
struct MailRenderer: Sendable {
    struct Rendered: Sendable, Hashable {
        var subject: String
        var text: String
        var html: String
    }

    private let library: MustacheLibrary

    init() throws {
        var library = MustacheLibrary()
        for (name, source) in MailTemplates.sources {
            try library.register(source.subject, named: "\(name).subject")
            try library.register(source.text, named: "\(name).text")
            try library.register(source.html, named: "\(name).html")
        }
        self.library = library
    }

    var templates: Set<String> { Set(MailTemplates.sources.keys) }

    /// `nil` for a template this worker does not have.
    func render(_ template: String, values: [String: String]) -> Rendered? {
        guard let subject = library.render(values, withTemplate: "\(template).subject"),
              let text = library.render(values, withTemplate: "\(template).text"),
              let html = library.render(values, withTemplate: "\(template).html")
        else { return nil }
        let oneLine = subject.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        return Rendered(subject: oneLine, text: text, html: html)
    }
}
