import CLinux
import Glibc

/// Signals are read from a signalfd in the event loop rather than handled asynchronously.
public enum Signals {
    /// Blocks `signals` for this process and returns a non-blocking signalfd reporting them.
    public static func watch(_ signals: [Int32]) throws(ProxyError) -> Int32 {
        var mask = set(signals)
        sigprocmask(SIG_BLOCK, &mask, nil)
        let fd = signalfd(-1, &mask, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        if fd < 0 { throw ProxyError("signalfd: \(String(cString: strerror(errno)))") }
        return fd
    }

    /// Unblocks every signal but `signals` (which stay blocked for a signalfd).
    static func unblockAll(except signals: [Int32]) {
        var mask = set(signals)
        sigprocmask(SIG_SETMASK, &mask, nil)
    }

    private static func set(_ signals: [Int32]) -> sigset_t {
        var mask = sigset_t()
        sigemptyset(&mask)
        for s in signals { sigaddset(&mask, s) }
        return mask
    }
}
