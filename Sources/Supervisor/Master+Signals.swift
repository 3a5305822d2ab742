import CLinux
import DataPath
import EventLoop
import Glibc

/// Signals to the master: reload, stop, reopen logs, reap children.
extension Master {
    func readSignals() {
        var info = signalfd_siginfo()
        while read(signalFD, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            switch Int32(info.ssi_signo) {
            case SIGCHLD:
                reapChildren()
            case SIGHUP:
                if !stopping { reload() }
            case SIGTERM, SIGINT:
                if stopping {
                    logger.info("second stop signal: stopping now")
                    stopNow()
                } else {
                    logger.info("stop signal: draining for up to \(config.drainTimeoutMs) ms")
                    stopping = true
                    stopDeadline = Clock.nowMs() + Int64(config.drainTimeoutMs) + 1000
                    respawns.removeAll()
                    // Workers draining after a reload are already on their way out.
                    for w in workers where !w.draining { kill(w.pid, SIGTERM) }
                }
            case SIGQUIT:
                logger.info("SIGQUIT: stopping now")
                stopNow()
            case SIGUSR1:
                logger.reopen()
                logger.info("reopening log files")
                for w in workers { kill(w.pid, SIGUSR1) }
            default:
                break
            }
        }
    }

    private func stopNow() {
        stopping = true
        respawns.removeAll()
        for w in workers { kill(w.pid, SIGQUIT) }
        stopDeadline = Clock.nowMs() + 1000
    }
}
