import Foundation

/// Settings given as files, one per key, named like the key (`AUTH_JWT_SECRET`), holding its
/// value (a final newline is dropped): a Kubernetes Secret mounted as a volume, or compose's
/// `secrets:`. Secrets read this way stay out of the process environment, which child processes
/// inherit and `/proc/<pid>/environ` shows.
///
/// Not swift-configuration's `DirectoryFilesProvider`: it reads regular files only, and a
/// Kubernetes secret volume holds every key as a symbolic link (`KEY -> ..data/KEY`), so it would
/// read none of them. Here links are followed; hidden entries (`..data`, `.gitkeep`) and folders
/// are skipped, and a file that is not a key `emporium` reads stops start-up, since a misspelt
/// secret's file would otherwise leave its key at the default.
enum SecretFiles {
    static func read(_ folder: String, key: String, names keys: Set<String>) throws -> [String: String] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: folder) else {
            throw ConfigurationError(key: key, message: "cannot list the folder \(folder)")
        }
        var values: [String: String] = [:]
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = (folder as NSString).appendingPathComponent(name)
            var isDirectory = isDirectoryFlag()
            // fileExists follows links, so a link to a file counts as the file.
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory), !isTrue(isDirectory) else { continue }
            guard keys.contains(name) else {
                throw ConfigurationError(key: key, message: "\(path) is not named after a key emporium reads (see `emporium config keys`)")
            }
            guard let data = manager.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(key: name, message: "cannot read \(path) as UTF-8 text")
            }
            values[name] = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return values
    }

    #if canImport(Darwin)
    private static func isDirectoryFlag() -> ObjCBool { false }
    private static func isTrue(_ flag: ObjCBool) -> Bool { flag.boolValue }
    #else
    private static func isDirectoryFlag() -> Bool { false }
    private static func isTrue(_ flag: Bool) -> Bool { flag }
    #endif
}
