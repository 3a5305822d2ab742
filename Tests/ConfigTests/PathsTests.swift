import XCTest
@testable import Config

final class PathsTests: XCTestCase {
    private func directory(_ path: String, in workingDirectory: String? = "/work/dir") -> String? {
        Paths.directory(of: path, workingDirectory: workingDirectory)
    }

    func testRelativePathsAreTakenAgainstTheWorkingDirectory() {
        XCTAssertEqual(directory("proxy.conf"), "/work/dir")
        XCTAssertEqual(directory("conf/proxy.conf"), "/work/dir/conf")
        XCTAssertEqual(directory("./proxy.conf"), "/work/dir")
        XCTAssertEqual(directory("../proxy.conf"), "/work")
        XCTAssertEqual(directory("a/../../b"), "/work")
        XCTAssertEqual(directory("proxy.conf", in: "/work/dir/"), "/work/dir")
    }

    func testAbsolutePathsIgnoreTheWorkingDirectory() {
        XCTAssertEqual(directory("/etc/sluice/proxy.conf", in: nil), "/etc/sluice")
        XCTAssertEqual(directory("//etc/./sluice//proxy.conf"), "/etc/sluice")
        XCTAssertEqual(directory("/etc/x/../sluice/proxy.conf"), "/etc/sluice")
    }

    func testTheRootKeepsItsSlashAndNothingGoesAboveIt() {
        XCTAssertEqual(directory("/proxy.conf"), "/")
        XCTAssertEqual(directory("/"), "/")
        XCTAssertEqual(directory("../../../../proxy.conf"), "/")
        XCTAssertEqual(directory("proxy.conf", in: "/"), "/")
    }

    /// The last component is the file's name even when a slash follows it.
    func testTrailingSlash() {
        XCTAssertEqual(directory("conf/sub/"), "/work/dir/conf")
        XCTAssertEqual(directory("/etc/sluice/"), "/etc")
    }

    func testUnknownWorkingDirectory() {
        XCTAssertNil(directory("proxy.conf", in: nil))
    }

    func testCurrentDirectoryIsAbsolute() throws {
        XCTAssertTrue(try XCTUnwrap(Paths.currentDirectory()).hasPrefix("/"))
    }
}
