import Foundation
import XCTest
import Config

final class ConfigLoaderTests: XCTestCase {
    func testFullConfiguration() throws {
        let text = """
        workers 4;
        pid_file /run/sluice.pid;
        error_log /var/log/sluice/error.log warn;
        drain_timeout 45s;
        max_connections 2048;

        stats {
            listen 127.0.0.1:9090;
            listen [::1]:9090;
            allow 127.0.0.0/8;
            allow ::1;
        }

        backend app {
            balance least_conn;
            server 127.0.0.1:9001 weight=3;
            server 127.0.0.1:9002 max_fails=3 fail_timeout=20s;
            server app3.internal:9000 backup;
            server [::1]:9443 tls verify=off ca=/etc/ca.pem sni=app.example.com;
            health_check path=/healthz interval=3s timeout=500ms rise=4 fall=5 expect=200-299;
            keepalive 64;
            retries 1;
            timeout connect 2s;
            timeout read 90s;
        }

        backend api { server 10.0.0.5:80; }

        frontend web {
            mode http;
            listen *:8080;
            listen [::]:8080;
            listen 0.0.0.0:8443 tls;
            certificate /certs/site.crt /certs/site.key;
            certificate /certs/other.crt /certs/other.key;
            trusted_proxies 10.0.0.0/8 127.0.0.1/32;
            trusted_proxies ::1;
            route host=API.Example.com backend=api;
            route host=www.example.com path=/static/ backend=app;
            backend app;
            access_log /var/log/sluice/access.log json;
            timeout header 5s;
            timeout idle 30s;
            timeout send 20s;
            max_header_size 32k;
            max_body_size 10m;
        }

        frontend db {
            mode tcp;
            listen 127.0.0.1:5432;
            backend api;
        }
        """
        let config = try XCTUnwrap(parsed(text))
        XCTAssertEqual(config.workers, .count(4))
        XCTAssertEqual(config.pidFile, "/run/sluice.pid")
        XCTAssertEqual(config.errorLog, .file("/var/log/sluice/error.log"))
        XCTAssertEqual(config.logLevel, .warn)
        XCTAssertEqual(config.drainTimeoutMs, 45_000)
        XCTAssertEqual(config.maxConnections, 2048)

        XCTAssertEqual(config.stats, StatsConfig(
            listens: [ListenAddress(host: "127.0.0.1", port: 9090, isIPv6: false),
                      ListenAddress(host: "::1", port: 9090, isIPv6: true)],
            allow: [CIDR(parsing: "127.0.0.0/8")!, CIDR(parsing: "::1")!]))

        XCTAssertEqual(config.backends.map(\.name), ["app", "api"])
        let app = try XCTUnwrap(config.backend(named: "app"))
        XCTAssertEqual(app.balance, .leastConn)
        XCTAssertEqual(app.servers, [
            ServerConfig(host: "127.0.0.1", port: 9001, address: "127.0.0.1:9001", weight: 3),
            ServerConfig(host: "127.0.0.1", port: 9002, address: "127.0.0.1:9002", maxFails: 3, failTimeoutMs: 20_000),
            ServerConfig(host: "app3.internal", port: 9000, address: "app3.internal:9000", backup: true),
            ServerConfig(host: "::1", port: 9443, address: "[::1]:9443", tls: true, tlsVerify: false,
                         tlsCA: "/etc/ca.pem", tlsSNI: "app.example.com"),
        ])
        XCTAssertEqual(app.healthCheck, HealthCheckConfig(path: "/healthz", intervalMs: 3000, timeoutMs: 500,
                                                          rise: 4, fall: 5, expectLow: 200, expectHigh: 299))
        XCTAssertEqual(app.keepalive, 64)
        XCTAssertEqual(app.retries, 1)
        XCTAssertEqual(app.connectTimeoutMs, 2000)
        XCTAssertEqual(app.readTimeoutMs, 90_000)
        XCTAssertNil(config.backend(named: "nope"))

        XCTAssertEqual(config.frontends.count, 2)
        let web = config.frontends[0]
        XCTAssertEqual(web.name, "web")
        XCTAssertEqual(web.mode, .http)
        XCTAssertEqual(web.listens, [
            ListenAddress(host: "0.0.0.0", port: 8080, isIPv6: false),
            ListenAddress(host: "::", port: 8080, isIPv6: true),
            ListenAddress(host: "0.0.0.0", port: 8443, isIPv6: false, tls: true),
        ])
        XCTAssertEqual(web.certificates, [
            CertificateConfig(certificatePath: "/certs/site.crt", keyPath: "/certs/site.key"),
            CertificateConfig(certificatePath: "/certs/other.crt", keyPath: "/certs/other.key"),
        ])
        XCTAssertEqual(web.trustedProxies, ["10.0.0.0/8", "127.0.0.1/32", "::1"].map { CIDR(parsing: $0)! })
        XCTAssertEqual(web.routes, [
            RouteConfig(host: "api.example.com", backend: "api"),
            RouteConfig(host: "www.example.com", pathPrefix: "/static/", backend: "app"),
        ])
        XCTAssertEqual(web.defaultBackend, "app")
        XCTAssertEqual(web.accessLog, AccessLogConfig(target: .file("/var/log/sluice/access.log"), format: .json))
        XCTAssertEqual(web.headerTimeoutMs, 5000)
        XCTAssertEqual(web.idleTimeoutMs, 30_000)
        XCTAssertEqual(web.sendTimeoutMs, 20_000)
        XCTAssertEqual(web.maxHeaderSize, 32_768)
        XCTAssertEqual(web.maxBodySize, 10_485_760)

        let db = config.frontends[1]
        XCTAssertEqual(db.mode, .tcp)
        XCTAssertEqual(db.defaultBackend, "api")
    }

    func testDefaults() throws {
        let text = """
        backend app { server 127.0.0.1:9001; health_check; }
        frontend web { listen 127.0.0.1:8080; route path=/ backend=app; }
        """
        let config = try XCTUnwrap(parsed(text))
        XCTAssertEqual(config.workers, .auto)
        XCTAssertNil(config.pidFile)
        XCTAssertEqual(config.errorLog, .stderr)
        XCTAssertEqual(config.logLevel, .info)
        XCTAssertEqual(config.drainTimeoutMs, 30_000)
        XCTAssertEqual(config.maxConnections, 10_000)
        XCTAssertNil(config.stats)

        let app = config.backends[0]
        XCTAssertEqual(app.balance, .roundRobin)
        XCTAssertEqual(app.servers, [ServerConfig(host: "127.0.0.1", port: 9001, address: "127.0.0.1:9001")])
        let server = app.servers[0]
        XCTAssertEqual(server.weight, 1)
        XCTAssertEqual(server.maxFails, 1)
        XCTAssertEqual(server.failTimeoutMs, 10_000)
        XCTAssertFalse(server.backup)
        XCTAssertFalse(server.tls)
        XCTAssertTrue(server.tlsVerify)
        XCTAssertEqual(app.healthCheck, HealthCheckConfig(path: "/", intervalMs: 2000, timeoutMs: 1000,
                                                          rise: 2, fall: 3, expectLow: 200, expectHigh: 399))
        XCTAssertEqual(app.keepalive, 32)
        XCTAssertEqual(app.retries, 2)
        XCTAssertEqual(app.connectTimeoutMs, 5000)
        XCTAssertEqual(app.readTimeoutMs, 60_000)

        let web = config.frontends[0]
        XCTAssertEqual(web.mode, .http)
        XCTAssertEqual(web.certificates, [])
        XCTAssertEqual(web.trustedProxies, [])
        XCTAssertNil(web.defaultBackend)
        XCTAssertEqual(web.accessLog, AccessLogConfig(target: nil, format: .combined))
        XCTAssertEqual(web.headerTimeoutMs, 10_000)
        XCTAssertEqual(web.idleTimeoutMs, 75_000)
        XCTAssertEqual(web.sendTimeoutMs, 60_000)
        XCTAssertEqual(web.maxHeaderSize, 16_384)
        XCTAssertEqual(web.maxBodySize, 0)
    }

    func testSmallValues() throws {
        let text = """
        workers auto;
        error_log stdout debug;
        drain_timeout 0;
        backend app {
            server 127.0.0.1:9001 max_fails=0;
            keepalive 0;
            retries 0;
            health_check expect=204;
        }
        frontend web {
            listen 127.0.0.1:8080;
            backend app;
            access_log stdout;
            max_header_size 1k;
        }
        """
        let config = try XCTUnwrap(parsed(text))
        XCTAssertEqual(config.workers, .auto)
        XCTAssertEqual(config.errorLog, .stdout)
        XCTAssertEqual(config.logLevel, .debug)
        XCTAssertEqual(config.drainTimeoutMs, 0)
        XCTAssertEqual(config.backends[0].servers[0].maxFails, 0)
        XCTAssertEqual(config.backends[0].keepalive, 0)
        XCTAssertEqual(config.backends[0].retries, 0)
        XCTAssertEqual(config.backends[0].healthCheck?.expectLow, 204)
        XCTAssertEqual(config.backends[0].healthCheck?.expectHigh, 204)
        XCTAssertEqual(config.frontends[0].accessLog, AccessLogConfig(target: .stdout, format: .combined))
        XCTAssertEqual(config.frontends[0].maxHeaderSize, 1024)
    }

    func testLogLevelOrderAndNames() {
        XCTAssertTrue(LogLevel.debug < .info && LogLevel.info < .warn && LogLevel.warn < .error)
        XCTAssertEqual([LogLevel.debug, .info, .warn, .error].map(\.name), ["debug", "info", "warn", "error"])
    }

    func testSpecExampleError() {
        let text = """
        workers auto;
        pid_file sluice.pid;
        error_log stderr info;
        drain_timeout 30s;
        max_connections 10000;
        backend app {
            blance round_robin;
            server 127.0.0.1:9001;
        }
        frontend web { listen 127.0.0.1:8080; backend app; }
        """
        guard case .failure(let errors) = ConfigLoader.parse(text: text, file: "proxy.conf") else {
            return XCTFail("expected an error")
        }
        XCTAssertEqual(errors.errors, [ConfigError(file: "proxy.conf", line: 7, column: 5,
                                                   message: "unknown directive \"blance\"")])
        XCTAssertEqual(errors.description, "proxy.conf:7:5: unknown directive \"blance\"")
    }

    func testErrorsDescriptionIsOneLinePerError() {
        let errors = ConfigErrors(errors: [
            ConfigError(file: "a.conf", line: 1, column: 2, message: "x"),
            ConfigError(file: "a.conf", line: 3, column: 4, message: "y"),
        ])
        XCTAssertEqual(errors.description, "a.conf:1:2: x\na.conf:3:4: y")
    }

    func testRelativePathsResolveAgainstBaseDirectory() throws {
        let text = """
        pid_file run/sluice.pid;
        error_log logs/error.log;
        backend app { server 127.0.0.1:9001 tls ca=ca.pem; }
        frontend web {
            listen 127.0.0.1:8443 tls;
            certificate certs/site.crt /abs/site.key;
            backend app;
            access_log access.log;
        }
        """
        let config = try XCTUnwrap(parsed(text, baseDirectory: "/etc/sluice"))
        XCTAssertEqual(config.pidFile, "/etc/sluice/run/sluice.pid")
        XCTAssertEqual(config.errorLog, .file("/etc/sluice/logs/error.log"))
        XCTAssertEqual(config.backends[0].servers[0].tlsCA, "/etc/sluice/ca.pem")
        XCTAssertEqual(config.frontends[0].certificates,
                       [CertificateConfig(certificatePath: "/etc/sluice/certs/site.crt", keyPath: "/abs/site.key")])
        XCTAssertEqual(config.frontends[0].accessLog.target, .file("/etc/sluice/access.log"))

        // Without a base directory the paths stay as written.
        XCTAssertEqual(parsed(text)?.pidFile, "run/sluice.pid")
    }

    /// A new empty directory, removed when the test ends.
    private func temporaryDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        return directory
    }

    func testLoadResolvesAgainstTheFilesDirectory() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/proxy.conf"
        let text = "pid_file sluice.pid;\nbackend app { server 127.0.0.1:1; }\n"
            + "frontend web { listen 127.0.0.1:8080; backend app; }\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)

        guard case .success(let config) = ConfigLoader.load(path: path) else { return XCTFail("load failed") }
        XCTAssertEqual(config.pidFile, directory + "/sluice.pid")
    }

    func testLoadUsesThePathAsGivenInErrors() throws {
        let directory = try temporaryDirectory()
        try "workers 0;\n".write(toFile: directory + "/bad.conf", atomically: true, encoding: .utf8)

        let path = directory + "/./bad.conf"
        guard case .failure(let errors) = ConfigLoader.load(path: path) else { return XCTFail("expected errors") }
        XCTAssertEqual(errors.errors.first?.description, "\(path):1:9: \"workers\" must be between 1 and 1024, got \"0\"")
    }

    func testUnreadableFile() {
        let path = "/nonexistent/dir/proxy.conf"
        guard case .failure(let errors) = ConfigLoader.load(path: path) else { return XCTFail("expected an error") }
        XCTAssertEqual(errors.description, "/nonexistent/dir/proxy.conf:1:1: cannot read file: No such file or directory")
    }

    /// The repository's example configuration must be valid as shipped.
    func testExampleConfigurationLoads() throws {
        let repository = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = repository.appendingPathComponent("proxy.conf.example").path
        switch ConfigLoader.load(path: path) {
        case .failure(let errors):
            XCTFail("proxy.conf.example has errors:\n\(errors)")
        case .success(let config):
            XCTAssertEqual(config.stats?.listens.map(\.description), ["127.0.0.1:9090"])
            let app = try XCTUnwrap(config.backend(named: "app"))
            XCTAssertEqual(app.servers.map(\.address), ["127.0.0.1:9001", "127.0.0.1:9002"])
            let web = try XCTUnwrap(config.frontends.first { $0.name == "web" })
            XCTAssertEqual(web.listens.map(\.description), ["127.0.0.1:8080"])
            XCTAssertEqual(web.defaultBackend, "app")
            XCTAssertEqual(web.accessLog, AccessLogConfig(target: .stdout, format: .combined))
        }
    }
}
