#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File path arithmetic on text, without touching the file system (no symbolic link is followed).
enum Paths {
    /// The absolute directory holding the file at `path`, with `.` and `..` resolved lexically and
    /// no trailing `/` except for the root itself. A relative `path` is taken against
    /// `workingDirectory`, which is only consulted then; nil when it is needed and unknown.
    static func directory(of path: String, workingDirectory: @autoclosure () -> String?) -> String? {
        var absolute = path
        if !path.hasPrefix("/") {
            guard let base = workingDirectory() else { return nil }
            absolute = base + "/" + path
        }
        return "/" + normalized(absolute).dropLast().joined(separator: "/")
    }

    /// The components of an absolute path, `.` and empty ones dropped and each `..` taking the one
    /// before it away (at the root, `..` is the root, as the kernel has it).
    private static func normalized(_ absolute: String) -> [Substring] {
        var components: [Substring] = []
        for component in absolute.split(separator: "/") where component != "." {
            if component == ".." {
                _ = components.popLast()
            } else {
                components.append(component)
            }
        }
        return components
    }

    /// The current working directory; nil when it cannot be named (removed, or too long).
    static func currentDirectory() -> String? {
        // With a null buffer, getcwd allocates one of the size needed.
        guard let buffer = getcwd(nil, 0) else { return nil }
        defer { free(buffer) }
        return String(cString: buffer)
    }
}
