import ArgumentParser
import Config
import Glibc
import DataPath
import Supervisor
import TLS

struct SluiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "HTTP reverse proxy and load balancer.",
        version: "sluice \(Version.string)")

    @Option(name: .customShort("c"), help: "Configuration file.")
    var config: String = "/etc/sluice/proxy.conf"

    @Flag(name: .customShort("t"), help: "Check the configuration file and exit.")
    var test = false

    @Option(name: .customShort("s"), help: "Send a signal to the running sluice: reload, stop, quit or reopen.")
    var signal: String?

    func run() throws {
        let loaded = ConfigLoader.load(path: config)
        if test {
            switch loaded {
            case .success(let c):
                // Certificates and keys are part of the check: readable, valid, matching.
                let problems = TLSServerContext.check(c, file: config)
                if !problems.isEmpty {
                    for p in problems { printError(p) }
                    throw ExitCode(1)
                }
                print("configuration ok")
                return
            case .failure(let errors):
                for e in errors.errors { printError(e.description) }
                throw ExitCode(1)
            }
        }
        let configuration: ProxyConfig
        switch loaded {
        case .success(let c): configuration = c
        case .failure(let errors):
            for e in errors.errors { printError(e.description) }
            throw ExitCode(1)
        }
        if let name = signal {
            if let message = Control.send(name, config: configuration) {
                printError("sluice: " + message)
                throw ExitCode(1)
            }
            return
        }
        let status = Launcher.run(configPath: config, config: configuration)
        if status != 0 { throw ExitCode(status) }
    }
}

/// One line on standard error (written directly: the C `stderr` global is not concurrency-safe).
func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
