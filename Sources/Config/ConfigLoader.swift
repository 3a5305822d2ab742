#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum ConfigLoader {
    /// Parses and checks configuration text. `file` is used verbatim in error messages; relative
    /// paths in the configuration are resolved against `baseDirectory` when given.
    public static func parse(text: String, file: String, baseDirectory: String? = nil) -> Result<ProxyConfig, ConfigErrors> {
        var lexer = Lexer(text: text)
        let tokens = lexer.tokenize()
        var parser = Parser(tokens: tokens, reportsEndOfFile: !lexer.endedInsideQuotes)
        let directives = parser.parseFile()
        let builder = ConfigBuilder(baseDirectory: baseDirectory)
        let config = builder.build(directives)

        let diagnostics = lexer.diagnostics + parser.diagnostics + builder.diagnostics
        guard !diagnostics.isEmpty else { return .success(config) }
        // Source order, keeping the discovery order of errors at the same place.
        let sorted = diagnostics.enumerated().sorted { a, b in
            (a.element.location, a.offset) < (b.element.location, b.offset)
        }
        return .failure(ConfigErrors(errors: sorted.map {
            ConfigError(file: file, line: $0.element.location.line, column: $0.element.location.column,
                        message: $0.element.message)
        }))
    }

    /// Reads and parses the file at `path`; relative paths inside it are resolved against the
    /// file's own directory (made absolute, so they survive a later change of working directory).
    public static func load(path: String) -> Result<ProxyConfig, ConfigErrors> {
        let bytes: [UInt8]
        do {
            bytes = try readFile(path)
        } catch {
            return .failure(ConfigErrors(errors: [
                ConfigError(file: path, line: 1, column: 1, message: "cannot read file: \(error.message)"),
            ]))
        }
        // A relative `path` is taken against the current directory, as `open` did. Should that
        // directory have no name any more, relative paths inside are left as written.
        let directory = Paths.directory(of: path, workingDirectory: Paths.currentDirectory())
        return parse(text: String(decoding: bytes, as: UTF8.self), file: path, baseDirectory: directory)
    }

    private struct ReadFailure: Error {
        var message: String
    }

    private static func readFile(_ path: String) throws(ReadFailure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadFailure(message: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return bytes }
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadFailure(message: String(cString: strerror(errno)))
            }
            bytes += buffer[0..<n]
        }
    }
}
