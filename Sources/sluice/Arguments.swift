/// The command line: `sluice [-c FILE] [-t | -s SIGNAL]`, `--version`, `-h`. Five options do
/// not need a parsing library (the one the project used pulled Foundation's runtime into the
/// static binary, past its size budget).
struct Arguments: Equatable {
    enum Action: Equatable {
        case serve
        case check
        case signal(String)
        case version
        case help
    }

    var config = "/etc/sluice/proxy.conf"
    var action = Action.serve

    static let usage = """
        usage: sluice [-c FILE] [-t | -s reload|stop|quit|reopen]

        HTTP reverse proxy and load balancer.

          -c FILE      configuration file (default /etc/sluice/proxy.conf)
          -t           check the configuration and exit: "configuration ok", or one
                       FILE:LINE:COL: message line per error
          -s SIGNAL    signal the running sluice named by the configuration's pid_file:
                       reload (SIGHUP), stop (SIGTERM), quit (SIGQUIT), reopen (SIGUSR1)
          --version    print the version
          -h, --help   this text

        """

    /// Parses the arguments after the program name; the error is a message for the user.
    static func parse(_ words: [String]) -> Result<Arguments, UsageError> {
        var parsed = Arguments()
        var i = 0
        func value(of option: String) -> Result<String, UsageError> {
            i += 1
            guard i < words.count, !words[i].isEmpty else { return .failure(UsageError("option \(option) needs a value")) }
            return .success(words[i])
        }
        func setAction(_ action: Action, _ option: String) -> UsageError? {
            guard parsed.action == .serve else { return UsageError("option \(option) cannot be combined with the others given") }
            parsed.action = action
            return nil
        }
        while i < words.count {
            let word = words[i]
            switch word {
            case "-c", "--config":
                switch value(of: word) {
                case .success(let path): parsed.config = path
                case .failure(let e): return .failure(e)
                }
            case "-t", "--test":
                if let e = setAction(.check, word) { return .failure(e) }
            case "-s", "--signal":
                switch value(of: word) {
                case .success(let name): if let e = setAction(.signal(name), word) { return .failure(e) }
                case .failure(let e): return .failure(e)
                }
            case "--version":
                return .success(Arguments(config: parsed.config, action: .version))
            case "-h", "--help":
                return .success(Arguments(config: parsed.config, action: .help))
            default:
                return .failure(UsageError(word.hasPrefix("-") ? "unknown option \(word)" : "unexpected argument \(word)"))
            }
            i += 1
        }
        return .success(parsed)
    }
}

struct UsageError: Error, Equatable {
    let message: String
    init(_ message: String) { self.message = message }
}
