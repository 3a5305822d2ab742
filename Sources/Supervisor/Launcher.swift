import CLinux
import Config
import DataPath
import EventLoop
import Glibc

/// Runs sluice in the foreground with one configuration: the entry point of `sluice -c FILE`.
public enum Launcher {
    /// Serves until stopped: the master process, which forks the workers. Start-up errors are
    /// printed as one line and give exit status 1.
    public static func run(configPath: String, config: ProxyConfig) -> Int32 {
        let logger = Logger(target: config.errorLog, level: config.logLevel)
        do {
            try logger.open()
        } catch {
            printError(error.description)
            return 1
        }
        signal(SIGPIPE, SIG_IGN)
        raiseDescriptorLimit()
        do {
            let master = try Master(configPath: configPath, config: config, logger: logger)
            if let path = config.pidFile { try writePidFile(path) }
            defer { if let path = config.pidFile { unlink(path) } }
            return master.run()
        } catch {
            logger.error(error.description)
            if case .file = config.errorLog { printError(error.description) }
            return 1
        }
    }

    static func printError(_ message: String) {
        var line = "sluice: " + message + "\n"
        line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// Like nginx's worker_rlimit_nofile: use every descriptor the hard limit allows.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = min(limit.rlim_max, 1 << 20)
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    static func writePidFile(_ path: String) throws(ProxyError) {
        let text = "\(getpid())\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw ProxyError("cannot write pid_file \(path): \(String(cString: strerror(errno)))") }
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }
}

public enum Version {
    public static let string = "0.1.0"
}
