import Config
import DataPath
import Glibc
import Supervisor
import TLS

/// What `sluice` does with its command line.
enum Command {
    static func main() -> Never {
        switch Arguments.parse(Array(CommandLine.arguments.dropFirst())) {
        case .failure(let error):
            printError("sluice: \(error.message) (see sluice -h)")
            exit(1)
        case .success(let arguments):
            exit(run(arguments))
        }
    }

    static func run(_ arguments: Arguments) -> Int32 {
        switch arguments.action {
        case .version:
            print("sluice \(Version.string)")
            return 0
        case .help:
            print(Arguments.usage, terminator: "")
            return 0
        case .check, .signal, .serve:
            break
        }
        let configuration: ProxyConfig
        switch ConfigLoader.load(path: arguments.config) {
        case .success(let c): configuration = c
        case .failure(let errors):
            for e in errors.errors { printError(e.description) }
            return 1
        }
        switch arguments.action {
        case .check:
            // Certificates and keys are part of the check: readable, valid, matching.
            let problems = TLSServerContext.check(configuration, file: arguments.config)
            for p in problems { printError(p) }
            if problems.isEmpty { print("configuration ok") }
            return problems.isEmpty ? 0 : 1
        case .signal(let name):
            if let message = Control.send(name, config: configuration) {
                printError("sluice: " + message)
                return 1
            }
            return 0
        default:
            return Launcher.run(configPath: arguments.config, config: configuration)
        }
    }
}

/// One line on standard error (written directly: the C `stderr` global is not concurrency-safe).
func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
