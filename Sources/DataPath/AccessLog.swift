import Config
import Glibc

/// One frontend's access log in one worker. Lines are formatted straight into a buffer and
/// written in batches (when the buffer is three-quarters full, and by the worker's 100 ms
/// sweep), not one write per request. O_APPEND keeps lines of several workers whole.
final class AccessLog {
    private let format: AccessLogFormat
    private let target: LogTarget
    private var fd: Int32 = -1
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 256 * 1024
    private var used = 0
    private let logger: Logger
    private let clock: LogClock
    /// Lines that found the buffer full even after a flush (the log cannot take writes).
    private var dropped = 0

    init(target: LogTarget, format: AccessLogFormat, logger: Logger, clock: LogClock) {
        self.target = target
        self.format = format
        self.logger = logger
        self.clock = clock
        buffer = .allocate(capacity: capacity)
        open()
    }

    private func open() {
        switch target {
        case .stdout: fd = 1
        case .stderr: fd = 2
        case .file(let path):
            let newFD = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            if newFD < 0 {
                logger.error("cannot open access_log \(path): \(String(cString: strerror(errno)))")
                return
            }
            if fd > 2 { close(fd) }
            fd = newFD
        }
    }

    /// SIGUSR1: write what is buffered to the old file, then continue in a new one.
    func reopen() {
        flush()
        open()
    }

    /// Writes what the log takes; a short write or EAGAIN keeps the rest, in order, for the
    /// next flush.
    func flush() {
        var offset = 0
        while offset < used && fd >= 0 {
            let n = write(fd, buffer + offset, used - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
        if offset > 0 && offset < used { buffer.update(from: buffer + offset, count: used - offset) }
        used -= offset
        if dropped > 0 && used == 0 {
            logger.error("access log: \(dropped) line(s) dropped while the log could not be written")
            dropped = 0
        }
    }

    func append(_ e: AccessEntry) {
        let worst = e.worstLength
        if used + worst > capacity { flush() }
        guard used + worst <= capacity else {
            dropped += 1
            return
        }
        var line = LineFormatter(buffer: buffer, used: used, clock: clock)
        switch format {
        case .combined: line.combined(e)
        case .json: line.json(e)
        }
        used = line.used
        if used > capacity * 3 / 4 { flush() }
    }
}
