import XCTest
@testable import Config

/// The error lines for `text` parsed as "proxy.conf", or [] when it is valid.
func errorLines(_ text: String) -> [String] {
    switch ConfigLoader.parse(text: text, file: "proxy.conf") {
    case .success: return []
    case .failure(let errors): return errors.errors.map(\.description)
    }
}

/// The configuration for `text`, failing the test when it has errors.
func parsed(_ text: String, baseDirectory: String? = nil,
            file: StaticString = #filePath, line: UInt = #line) -> ProxyConfig? {
    switch ConfigLoader.parse(text: text, file: "proxy.conf", baseDirectory: baseDirectory) {
    case .success(let config):
        return config
    case .failure(let errors):
        XCTFail("unexpected errors:\n\(errors)", file: file, line: line)
        return nil
    }
}

/// A minimal valid configuration, so that a test can add one line and see only the error it causes.
/// `backendBody` and `frontendBody` are inserted on line 3 and line 7 respectively.
func minimalConfig(backendBody: String = "", frontendBody: String = "", top: String = "") -> String {
    """
    backend app {
        server 127.0.0.1:9001;
    \(backendBody)
    }
    frontend web {
        listen 127.0.0.1:8080;
    \(frontendBody)
        backend app;
    }
    \(top)
    """
}

/// Checks that `text` gives exactly these errors ("LINE:COL: message", in file order).
func assertErrors(_ text: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(errorLines(text), expected.map { "proxy.conf:\($0)" }, file: file, line: line)
}
