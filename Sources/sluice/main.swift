// Entry point only; the command lives in SluiceCommand.swift.
SluiceCommand.main()
