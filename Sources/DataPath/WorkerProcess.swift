import CLinux
import Glibc
import Stats

/// The body of a forked worker process. Never returns.
public enum WorkerProcess {
    /// Signals the worker takes from the master, read from a signalfd in its loop.
    static let signals = [SIGTERM, SIGQUIT, SIGUSR1]

    /// Runs in the child right after fork. The master's signals are still blocked here (the
    /// child inherits its mask), so the signalfd is made before anything is unblocked: a signal
    /// sent to a brand-new worker waits in the signalfd instead of killing it.
    public static func run(runtime: Runtime, position: Int, area: WorkerArea, logger: Logger, master: pid_t,
                           closing masterFDs: [Int32]) -> Never {
        _ = sl_die_with_parent()
        // The master may have died between fork and prctl: then no signal would ever come.
        if getppid() != master { exit(0) }
        _ = sl_set_process_name("sluice: worker")
        // Descriptors that belong to the master only (its epoll set, signalfd, stats sockets),
        // and the listening sockets of the other worker positions.
        for fd in masterFDs where fd >= 0 { close(fd) }
        for listener in runtime.listeners {
            for (i, fd) in listener.group.enumerated() where i != position { close(fd) }
        }
        let signalFD: Int32
        do { signalFD = try Signals.watch(signals) } catch {
            logger.error("worker \(getpid()): \(error)")
            exit(2)
        }
        // Everything else the master blocked for its own signalfd goes back to normal; SIGINT
        // (Ctrl-C reaches the whole process group) and SIGHUP are the master's to act on.
        signal(SIGHUP, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        Signals.unblockAll(except: signals)
        let counters = area.worker
        counters.pid = getpid()
        do {
            let worker = try Worker(runtime: runtime, position: position, area: area, logger: logger, signalFD: signalFD)
            exit(worker.run())
        } catch {
            logger.error("worker \(getpid()): \(error)")
            exit(2)
        }
    }
}
