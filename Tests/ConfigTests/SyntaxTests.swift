import XCTest
@testable import Config

final class SyntaxTests: XCTestCase {
    func testTokensCarryPositionsAndDecodedText() {
        var lexer = Lexer(text: "a \"b c\";\n  {}  # note\n")
        let tokens = lexer.tokenize()
        XCTAssertEqual(tokens.map(\.kind), [.word, .word, .semicolon, .openBrace, .closeBrace, .endOfFile])
        XCTAssertEqual(tokens[1].text, "b c")
        XCTAssertEqual(tokens[1].raw, "\"b c\"")
        XCTAssertTrue(tokens[1].quoted)
        XCTAssertEqual(tokens[1].start, SourceLocation(line: 1, column: 3))
        XCTAssertEqual(tokens[1].end, SourceLocation(line: 1, column: 8))
        XCTAssertEqual(tokens[3].start, SourceLocation(line: 2, column: 3))
        // End of file is reported on the last line, not on the empty line after the final newline.
        XCTAssertEqual(tokens[5].start, SourceLocation(line: 2, column: 13))
        XCTAssertTrue(lexer.diagnostics.isEmpty)
    }

    func testQuotingAndEscapes() {
        let config = parsed(minimalConfig(top: #"pid_file "my dir/\"x\"\\y;{}#.pid";"#))
        XCTAssertEqual(config?.pidFile, #"my dir/"x"\y;{}#.pid"#)
    }

    func testQuotedPartInsideAWord() {
        let config = parsed(minimalConfig(frontendBody: #"route path="/a b" backend=app;"#))
        XCTAssertEqual(config?.frontends.first?.routes, [RouteConfig(pathPrefix: "/a b", backend: "app")])
    }

    func testCommentsAnywhereOutsideQuotes() {
        let text = """
        # leading comment
        workers 4; # trailing comment
        pid_file a.pid#comment right after a word
        ;
        """
        let config = parsed(minimalConfig(top: text))
        XCTAssertEqual(config?.workers, .count(4))
        XCTAssertEqual(config?.pidFile, "a.pid")
    }

    func testBraceOnNextLineAndArgumentsOverSeveralLines() {
        let text = """
        backend app
        {
            server 127.0.0.1:9001;
        }
        frontend web {
            listen 127.0.0.1:8080;
            trusted_proxies 10.0.0.0/8
                            192.168.0.0/16;
            backend app;
        }
        """
        XCTAssertEqual(parsed(text)?.frontends.first?.trustedProxies.count, 2)
    }

    func testUnterminatedQuote() {
        let text = minimalConfig(top: "pid_file \"abc;\n")
        XCTAssertEqual(errorLines(text), ["proxy.conf:10:10: unterminated quoted string"])
        let inBlock = "backend app {\n    server 127.0.0.1:9001 tls sni=\"x;\n}\n"
        XCTAssertEqual(errorLines(inBlock), ["proxy.conf:2:35: unterminated quoted string"])
    }

    func testInvalidEscape() {
        XCTAssertEqual(errorLines(minimalConfig(top: #"pid_file "a\nb";"#)), [
            #"proxy.conf:10:12: invalid escape "\n""#,
        ])
    }

    func testUnexpectedCloseBrace() {
        XCTAssertEqual(errorLines(minimalConfig(top: "}")), ["proxy.conf:10:1: unexpected \"}\""])
    }

    func testUnexpectedSemicolonAndOpenBrace() {
        XCTAssertEqual(errorLines(minimalConfig(top: "; { workers 2; }")), [
            "proxy.conf:10:1: unexpected \";\"",
            "proxy.conf:10:3: unexpected \"{\"",
        ])
    }

    func testUnexpectedEndOfFile() {
        let text = """
        backend app {
            server 127.0.0.1:9001;
        }
        frontend web {
            listen 127.0.0.1:8080;
            backend app;
        """
        XCTAssertEqual(errorLines(text), ["proxy.conf:6:17: unexpected end of file, expecting \"}\""])
    }

    func testMissingSemicolonBeforeCloseBrace() {
        let text = minimalConfig(backendBody: "    balance round_robin")
        XCTAssertEqual(errorLines(text), ["proxy.conf:3:24: expected \";\" after \"balance round_robin\""])
    }

    func testMissingSemicolonAtEndOfFile() {
        XCTAssertEqual(errorLines(minimalConfig(top: "workers 4")), [
            "proxy.conf:10:10: expected \";\" after \"workers 4\"",
        ])
    }

    /// The next line starts with a directive name: the `;` is reported just after the last
    /// argument, and the next line is still read as its own directive.
    func testMissingSemicolonBeforeNextDirective() {
        let text = """
        backend app {
            balance least_conn
            server 127.0.0.1:9001;
        }
        frontend web { listen 127.0.0.1:8080; backend app; }
        """
        XCTAssertEqual(errorLines(text), ["proxy.conf:2:23: expected \";\" after \"balance least_conn\""])
    }

    /// The argument list runs onto the next line and is too long for the directive.
    func testMissingSemicolonBeforeUnknownDirective() {
        XCTAssertEqual(errorLines(minimalConfig(top: "pid_file a.pid\nblance x;")), [
            "proxy.conf:10:15: expected \";\" after \"pid_file a.pid\"",
            "proxy.conf:11:1: unknown directive \"blance\"",
        ])
    }

    func testSeveralMissingSemicolonsInARow() {
        XCTAssertEqual(errorLines(minimalConfig(top: "workers 2\nmax_connections 5\ndrain_timeout 1s;")), [
            "proxy.conf:10:10: expected \";\" after \"workers 2\"",
            "proxy.conf:11:18: expected \";\" after \"max_connections 5\"",
        ])
    }

    func testBlockDirectiveWithoutBlock() {
        XCTAssertEqual(errorLines(minimalConfig(top: "stats;")), [
            "proxy.conf:10:1: directive \"stats\" has no opening \"{\"",
        ])
    }

    func testSimpleDirectiveWithBlock() {
        XCTAssertEqual(errorLines(minimalConfig(top: "workers 2 { }")), ["proxy.conf:10:11: unexpected \"{\""])
    }
}

/// Found by FuzzConfig: a quoted argument may hold a newline, and an error quoting it must still
/// be a single FILE:LINE:COL line.
final class ErrorMessageLineTests: XCTestCase {
    func testQuotedNewlineIsEscapedInTheMessage() {
        guard case .failure(let errors) = ConfigLoader.parse(text: "workers \"1\n2\";\n", file: "f.conf") else {
            return XCTFail("expected an error")
        }
        for e in errors.errors {
            XCTAssertFalse(e.description.contains("\n"), e.description)
            XCTAssertTrue(e.description.hasPrefix("f.conf:1:9: "), e.description)
        }
        XCTAssertTrue(errors.errors.contains { $0.description.contains("\\n") })
    }
}
