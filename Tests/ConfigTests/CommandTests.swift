import XCTest
@testable import Config

final class CommandTests: XCTestCase {
    func testArgumentCountsAreAHalfOpenRange() {
        let ignore: Command<Int>.Handler = { _, _, _ in }
        XCTAssertEqual(Command("a", args: 0...0, ignore).arguments, 0..<1)
        XCTAssertEqual(Command("a", args: 1...2, ignore).arguments, 1..<3)
        XCTAssertEqual(Command("a", args: 1..., ignore).arguments, 1..<Int.max)
    }

    /// Each block's table is found by the builder; a name from another block's table is "not
    /// allowed here", any other name unknown.
    func testEveryTableContributesToTheKnownNames() {
        for name in ["workers", "allow", "balance", "route"] {
            XCTAssertTrue(Commands.allNames.contains(name), name)
        }
        XCTAssertNil(Commands.main["route"])
        XCTAssertNotNil(Commands.frontend["route"])
    }

    /// A setting keeps the field's default when its value is invalid (the error is reported).
    func testSettingLeavesTheFieldAloneOnABadValue() {
        let keepalive = Commands.backend["keepalive"]!
        let builder = ConfigBuilder(baseDirectory: nil)
        var block = BackendBlock(backend: BackendConfig(name: "b"))
        keepalive.handler(builder, directive("keepalive", "x"), &block)
        XCTAssertEqual(block.backend.keepalive, 32)
        XCTAssertEqual(builder.diagnostics.map(\.message), [#"invalid number "x""#])
        keepalive.handler(builder, directive("keepalive", "7"), &block)
        XCTAssertEqual(block.backend.keepalive, 7)
    }

    private func directive(_ words: String...) -> Directive {
        var lexer = Lexer(text: words.joined(separator: " "))
        let tokens = lexer.tokenize()
        return Directive(name: tokens[0], args: Array(tokens[1..<tokens.count - 1]))
    }
}
