import Config
import DataPath
import Glibc

/// `sluice -s SIGNAL`: signals the running master named by the configuration's pid_file.
public enum Control {
    public static let signals: [String: Int32] = ["reload": SIGHUP, "stop": SIGTERM, "quit": SIGQUIT, "reopen": SIGUSR1]

    /// Returns nil on success, or the message to print.
    public static func send(_ name: String, config: ProxyConfig) -> String? {
        guard let signal = signals[name] else {
            return "unknown signal \"\(name)\" (use reload, stop, quit or reopen)"
        }
        guard let path = config.pidFile else {
            return "the configuration has no pid_file, so the running process cannot be found"
        }
        guard let file = fopen(path, "r") else {
            return "cannot read pid_file \(path): \(String(cString: strerror(errno))) (is sluice running?)"
        }
        var pid: Int32 = 0
        let matched = fscanf_pid(file, &pid)
        fclose(file)
        guard matched, pid > 0 else { return "pid_file \(path) does not hold a process id" }
        if kill(pid, signal) != 0 {
            return "cannot signal process \(pid) from \(path): \(String(cString: strerror(errno)))"
        }
        return nil
    }

    private static func fscanf_pid(_ file: UnsafeMutablePointer<FILE>, _ pid: inout Int32) -> Bool {
        var buf = [CChar](repeating: 0, count: 32)
        guard fgets(&buf, 32, file) != nil else { return false }
        let text = String(cString: buf).trimmingCharacters(in: " \n\t")
        guard let value = Int32(text) else { return false }
        pid = value
        return true
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
