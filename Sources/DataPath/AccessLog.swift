import Config
import Glibc

/// One frontend's access log in one worker. Lines are formatted straight into a buffer and
/// written in batches (when a quarter megabyte has gathered, and by the worker's 100 ms sweep),
/// not one write per request. O_APPEND keeps lines of several workers whole.
///
/// A log that takes less than it is offered (a full pipe, a short write) keeps the rest for
/// the next flush; while it lags, the buffer grows up to `maxCapacity` rather than lose lines,
/// and only a log that stays stuck beyond that loses lines, counted in the error log.
final class AccessLog {
    private let format: AccessLogFormat
    private let target: LogTarget
    private var fd: Int32 = -1
    private var buffer: UnsafeMutablePointer<UInt8>
    private static let batch = 256 * 1024
    private static let maxCapacity = 16 * 1024 * 1024
    private var capacity = AccessLog.batch
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
            // Non-blocking: a log on a pipe or FIFO that is not read must not stall the worker;
            // what it does not take waits in the buffer.
            let newFD = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0o644)
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
        while used + worst > capacity && capacity < AccessLog.maxCapacity { grow() }
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
        if used > AccessLog.batch * 3 / 4 { flush() }
    }

    private func grow() {
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
        bigger.update(from: buffer, count: used)
        buffer.deallocate()
        buffer = bigger
        capacity *= 2
        logger.warn("access log: the log takes lines slower than they come; buffering up to \(capacity / 1024) KiB")
    }
}
