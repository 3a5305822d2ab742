import Config
import Glibc

/// The error log: one line per event, `2026-11-24T20:30:00.123Z [level] message`.
/// Written with one write(2) per line; used for events, never per request.
public final class Logger {
    public private(set) var level: LogLevel
    private var target: LogTarget
    private var fd: Int32 = 2

    public init(target: LogTarget = .stderr, level: LogLevel = .info) {
        self.target = target
        self.level = level
    }

    /// Opens the log file (append). Throws a message on failure.
    public func open() throws(ProxyError) {
        switch target {
        case .stderr: fd = 2
        case .stdout: fd = 1
        case .file(let path):
            let newFD = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            if newFD < 0 { throw ProxyError("cannot open error_log \(path): \(String(cString: strerror(errno)))") }
            if fd > 2 { Glibc.close(fd) }
            fd = newFD
        }
    }

    /// Applies a reloaded configuration's `error_log`.
    public func reconfigure(target newTarget: LogTarget, level newLevel: LogLevel) {
        level = newLevel
        guard newTarget != target else { return }
        target = newTarget
        do { try open() } catch { log(.error, error.description) }
    }

    /// Reopens a file target (SIGUSR1, for logrotate).
    public func reopen() {
        if case .file = target { try? open() }
    }

    public func log(_ messageLevel: LogLevel, _ message: @autoclosure () -> String) {
        guard messageLevel >= level else { return }
        let line = "\(Logger.timestamp()) [\(messageLevel.name)] \(message())\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }

    public func debug(_ m: @autoclosure () -> String) { log(.debug, m()) }
    public func info(_ m: @autoclosure () -> String) { log(.info, m()) }
    public func warn(_ m: @autoclosure () -> String) { log(.warn, m()) }
    public func error(_ m: @autoclosure () -> String) { log(.error, m()) }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var parts = tm()
        gmtime_r(&t, &parts)
        var buf = [CChar](repeating: 0, count: 32)
        let n = strftime(&buf, 32, "%Y-%m-%dT%H:%M:%S", &parts)
        let base = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let ms = Int(ts.tv_nsec / 1_000_000)
        return base + "." + String(ms + 1000).dropFirst() + "Z"
    }
}

/// A set-up or start-up failure, reported to the operator as one line.
public struct ProxyError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
