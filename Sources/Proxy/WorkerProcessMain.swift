import CLinux
import Glibc
import Stats

/// The body of a forked worker process. Never returns.
enum WorkerProcessMain {
    static func run(runtime: Runtime, logger: Logger, counters: WorkerCounters, closing masterFDs: [Int32]) -> Never {
        _ = sl_die_with_parent()
        _ = sl_set_process_name("sluice: worker")
        // Descriptors that belong to the master only (its epoll set, signalfd, stats sockets).
        for fd in masterFDs where fd >= 0 { close(fd) }
        // The master blocked these for its signalfd; the worker takes its own view of them.
        var all = sigset_t()
        sigfillset(&all)
        sigprocmask(SIG_UNBLOCK, &all, nil)
        // The master turns SIGINT (Ctrl-C reaches the whole process group) and SIGHUP into
        // SIGTERM for the workers it concerns.
        signal(SIGHUP, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        do {
            let worker = try Worker(runtime: runtime, logger: logger, counters: counters)
            try worker.watchSignals(try Signals.blockAndWatch([SIGTERM, SIGQUIT, SIGUSR1]))
            exit(worker.run())
        } catch {
            logger.error("worker \(getpid()): \(error)")
            exit(2)
        }
    }
}
