import Config
import XCTest
@testable import DataPath

final class RouterTests: XCTestCase {
    private let index = ["app": 0, "api": 1, "static": 2, "wild": 3]

    private func route(_ router: Router, _ request: String) throws -> Int? {
        try withRequest(request) { head, _, raw in router.route(head, raw) }
    }

    func testNoRoutesGoToTheDefaultBackend() throws {
        let router = Router(routes: [], defaultBackend: "app", backendIndex: index)
        XCTAssertEqual(try route(router, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"), 0)
        let none = Router(routes: [], defaultBackend: nil, backendIndex: index)
        XCTAssertNil(try route(none, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"), "no backend: 404")
    }

    func testFirstMatchWinsOnHostAndPath() throws {
        let router = Router(routes: [
            RouteConfig(host: "api.example.com", pathPrefix: "/v1/", backend: "api"),
            RouteConfig(pathPrefix: "/static/", backend: "static"),
            RouteConfig(host: "*.example.org", backend: "wild"),
            RouteConfig(host: "api.example.com", backend: "app"),
        ], defaultBackend: nil, backendIndex: index)
        XCTAssertEqual(try route(router, "GET /v1/users HTTP/1.1\r\nHost: API.Example.com:8080\r\n\r\n"), 1)
        XCTAssertEqual(try route(router, "GET /v2/users HTTP/1.1\r\nHost: api.example.com\r\n\r\n"), 0)
        XCTAssertEqual(try route(router, "GET /static/a.css HTTP/1.1\r\nHost: api.example.com\r\n\r\n"), 2)
        XCTAssertEqual(try route(router, "GET /x HTTP/1.1\r\nHost: deep.sub.example.org\r\n\r\n"), 3)
        XCTAssertNil(try route(router, "GET /x HTTP/1.1\r\nHost: example.org\r\n\r\n"), "the wildcard needs a sub-domain")
        XCTAssertNil(try route(router, "GET /staticx HTTP/1.1\r\nHost: other\r\n\r\n"))
    }

    func testAbsoluteFormTargetsAndIPv6Hosts() throws {
        let router = Router(routes: [
            RouteConfig(pathPrefix: "/api/", backend: "api"),
            RouteConfig(host: "[::1]", backend: "static"),
        ], defaultBackend: "app", backendIndex: index)
        XCTAssertEqual(try route(router, "GET http://h/api/x HTTP/1.1\r\nHost: h\r\n\r\n"), 1)
        XCTAssertEqual(try route(router, "GET /x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), 2)
        XCTAssertEqual(try route(router, "GET /x HTTP/1.0\r\n\r\n"), 0, "no Host at all: default")
    }
}
