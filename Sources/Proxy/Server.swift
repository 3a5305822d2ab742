import CLinux
import Config
import EventLoop
import Glibc

/// Runs sluice in the foreground with one configuration.
public enum Server {
    /// Serves until stopped. Start-up errors are printed as one line and give exit status 1.
    public static func run(config: ProxyConfig) -> Int32 {
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
            let runtime = try Runtime(config: config)
            try runtime.openListeners()
            if let path = config.pidFile { try writePidFile(path) }
            defer { if let path = config.pidFile { unlink(path) } }
            let worker = try Worker(runtime: runtime, logger: logger)
            try worker.watchSignals(try blockedSignalFD())
            logger.info("sluice \(Version.string) serving \(runtime.listeners.map { $0.address.description }.joined(separator: ", ")) (pid \(getpid()))")
            let status = worker.run()
            logger.info("stopped")
            return status
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

    /// Blocks the control signals and returns a signalfd that reports them to the loop.
    static func blockedSignalFD() throws(ProxyError) -> Int32 {
        var mask = sigset_t()
        sigemptyset(&mask)
        for s in [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1] { sigaddset(&mask, s) }
        sigprocmask(SIG_BLOCK, &mask, nil)
        let fd = signalfd(-1, &mask, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        if fd < 0 { throw ProxyError("signalfd: \(String(cString: strerror(errno)))") }
        return fd
    }
}

public enum Version {
    public static let string = "0.1.0"
}
