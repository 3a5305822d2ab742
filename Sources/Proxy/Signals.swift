import CLinux
import Glibc

/// Signals are read from a signalfd in the event loop rather than handled asynchronously.
enum Signals {
    /// Blocks `signals` for this process and returns a non-blocking signalfd reporting them.
    static func blockAndWatch(_ signals: [Int32]) throws(ProxyError) -> Int32 {
        var mask = sigset_t()
        sigemptyset(&mask)
        for s in signals { sigaddset(&mask, s) }
        sigprocmask(SIG_BLOCK, &mask, nil)
        let fd = signalfd(-1, &mask, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        if fd < 0 { throw ProxyError("signalfd: \(String(cString: strerror(errno)))") }
        return fd
    }
}
