// Entry point only; the command line is read in Arguments.swift and acted on in Command.swift.
Command.main()
