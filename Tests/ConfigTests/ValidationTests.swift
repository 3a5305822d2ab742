import XCTest
import Config

/// Each kind of error, with its exact position. `minimalConfig` puts backend lines on line 3,
/// frontend lines on line 7 and top-level lines from line 10.
final class ValidationTests: XCTestCase {

    func testUnknownDirective() {
        assertErrors(minimalConfig(top: "workerz 4;"), [#"10:1: unknown directive "workerz""#])
    }

    func testDirectiveInTheWrongBlock() {
        assertErrors(minimalConfig(frontendBody: "    server 127.0.0.1:9002;"),
                     [#"7:5: "server" directive is not allowed here"#])
        assertErrors(minimalConfig(top: "listen 127.0.0.1:80;"), [#"10:1: "listen" directive is not allowed here"#])
        assertErrors(minimalConfig(backendBody: "    backend x { }"), [#"3:5: "backend" directive is not allowed here"#])
    }

    func testInvalidNumberOfArguments() {
        assertErrors(minimalConfig(top: "workers 1 2;"), [#"10:1: invalid number of arguments in "workers" directive"#])
        assertErrors(minimalConfig(top: "workers;"), [#"10:1: invalid number of arguments in "workers" directive"#])
        assertErrors(minimalConfig(frontendBody: "    certificate a.crt;"),
                     [#"7:5: invalid number of arguments in "certificate" directive"#])
    }

    func testDuplicateDirective() {
        assertErrors(minimalConfig(backendBody: "    retries 1; retries 2;"), [#"3:16: "retries" directive is duplicate"#])
        assertErrors(minimalConfig(top: "stats { listen 127.0.0.1:9090; }\nstats { listen 127.0.0.1:9091; }"),
                     [#"11:1: "stats" directive is duplicate"#])
    }

    func testBadNumbers() {
        assertErrors(minimalConfig(top: "workers many;"), [#"10:9: invalid number "many""#])
        assertErrors(minimalConfig(top: "workers 1025;"), [#"10:9: "workers" must be between 1 and 1024, got "1025""#])
        assertErrors(minimalConfig(top: "max_connections 0;"),
                     [#"10:17: "max_connections" must be at least 1, got "0""#])
        assertErrors(minimalConfig(backendBody: "    keepalive -1;"), [#"3:15: invalid number "-1""#])
    }

    func testBadDurationsAndSizes() {
        assertErrors(minimalConfig(top: "drain_timeout 2x;"), [#"10:15: invalid duration "2x""#])
        assertErrors(minimalConfig(frontendBody: "    max_body_size 12q;"), [#"7:19: invalid size "12q""#])
        assertErrors(minimalConfig(frontendBody: "    max_header_size 2m;"),
                     [#"7:21: "max_header_size" must be between 1024 and 1048576, got "2m""#])
        assertErrors(minimalConfig(backendBody: "    timeout connect 0s;"),
                     [#"3:21: duration "0s" must be greater than 0"#])
    }

    func testBadKeywords() {
        assertErrors(minimalConfig(backendBody: "    balance fastest;"),
                     [#"3:13: invalid value "fastest" in "balance" directive, expected round_robin, least_conn or hash"#])
        assertErrors(minimalConfig(top: "error_log stderr loud;"),
                     [#"10:18: invalid value "loud" in "error_log" directive, expected debug, info, warn or error"#])
        assertErrors(minimalConfig(frontendBody: "    mode udp;"),
                     [#"7:10: invalid value "udp" in "mode" directive, expected http or tcp"#])
        assertErrors(minimalConfig(frontendBody: "    access_log stdout xml;"),
                     [#"7:23: invalid value "xml" in "access_log" directive, expected combined or json"#])
    }

    func testTimeoutKinds() {
        assertErrors(minimalConfig(backendBody: "    timeout header 5s;"),
                     [#"3:13: timeout "header" is not allowed in a backend"#])
        assertErrors(minimalConfig(frontendBody: "    timeout read 5s;"),
                     [#"7:13: timeout "read" is not allowed in a frontend"#])
        assertErrors(minimalConfig(frontendBody: "    timeout write 5s;"), [#"7:13: unknown timeout "write""#])
        assertErrors(minimalConfig(backendBody: "    timeout read 5s; timeout read 6s;"),
                     [#"3:22: "timeout read" directive is duplicate"#])
    }

    func testBadAddresses() {
        assertErrors(minimalConfig(frontendBody: "    listen 1.2.3.4:99999;"), [#"7:12: invalid address "1.2.3.4:99999""#])
        assertErrors(minimalConfig(frontendBody: "    listen localhost:80;"), [#"7:12: invalid address "localhost:80""#])
        assertErrors(minimalConfig(backendBody: "    server app..internal:80;"),
                     [#"3:12: invalid address "app..internal:80""#])
        assertErrors(minimalConfig(frontendBody: "    trusted_proxies 10.0.0.0/8 10.0.0.0/33;"),
                     [#"7:32: invalid CIDR "10.0.0.0/33""#])
    }

    func testServerParameters() {
        assertErrors(minimalConfig(backendBody: "    server 127.0.0.1:9002 weight=0 fail_timeout=2x down;"), [
            #"3:27: "weight" must be between 1 and 256, got "0""#,
            #"3:36: invalid duration "2x""#,
            #"3:52: invalid parameter "down""#,
        ])
        assertErrors(minimalConfig(backendBody: "    server 127.0.0.1:9002 weight=2 weight=3;"),
                     [#"3:36: duplicate parameter "weight""#])
        assertErrors(minimalConfig(backendBody: "    server 127.0.0.1:9002 verify=off;"),
                     [#"3:27: parameter "verify=off" requires "tls""#])
        assertErrors(minimalConfig(backendBody: "    server 127.0.0.1:9002 tls verify=maybe;"),
                     [#"3:31: invalid value "maybe" in "server" directive, expected on or off"#])
    }

    func testDuplicateServer() {
        assertErrors(minimalConfig(backendBody: "    server 127.0.0.1:9001 backup;"),
                     [#"3:12: duplicate server "127.0.0.1:9001""#])
        assertErrors(minimalConfig(backendBody: "    server [::1]:80; server [0::1]:80;"),
                     [#"3:29: duplicate server "[0::1]:80""#])
        // The same address in two backends is fine.
        XCTAssertEqual(errorLines(minimalConfig(top: "backend b { server 127.0.0.1:9001; }")), [])
    }

    func testHealthCheckParameters() {
        assertErrors(minimalConfig(backendBody: "    health_check path=healthz interval=0 rise=0 expect=399-200 port=1;"), [
            #"3:18: invalid path "healthz", it must start with "/""#,
            #"3:31: duration "0" must be greater than 0"#,
            #"3:42: "rise" must be at least 1, got "0""#,
            #"3:49: invalid status range "399-200""#,
            #"3:64: invalid parameter "port=1""#,
        ])
    }

    func testDuplicateNames() {
        let text = minimalConfig(top: """
        backend app { server 127.0.0.1:9002; }
        frontend web { listen 127.0.0.1:8081; backend app; }
        """)
        assertErrors(text, [#"10:9: duplicate backend "app""#, #"11:10: duplicate frontend "web""#])
    }

    func testUnknownBackendReferences() {
        assertErrors(minimalConfig(frontendBody: "    route host=api.example.com backend=api;"),
                     [#"7:32: route refers to unknown backend "api""#])
        let text = """
        backend app { server 127.0.0.1:9001; }
        frontend web { listen 127.0.0.1:8080; backend ap; }
        """
        assertErrors(text, [#"2:47: "backend" directive refers to unknown backend "ap""#])
    }

    func testBackendDeclaredAfterItsUseIsFine() {
        let text = """
        frontend web { listen 127.0.0.1:8080; route path=/api/ backend=api; backend app; }
        backend app { server 127.0.0.1:9001; }
        backend api { server 127.0.0.1:9002; }
        """
        XCTAssertEqual(errorLines(text), [])
    }

    func testRouteNeedsAMatchAndABackend() {
        assertErrors(minimalConfig(frontendBody: "    route backend=app;"), [#"7:5: "route" directive needs host= or path="#])
        assertErrors(minimalConfig(frontendBody: "    route path=/x;"), [#"7:5: "route" directive needs backend="#])
        assertErrors(minimalConfig(frontendBody: "    route path=x backend=app;"),
                     [#"7:11: invalid path "x", it must start with "/""#])
    }

    func testFrontendWithoutListen() {
        let text = """
        backend app { server 127.0.0.1:9001; }
        frontend web {
            backend app;
        }
        """
        assertErrors(text, [#"2:1: frontend "web" has no listen directive"#])
    }

    func testFrontendWithoutBackend() {
        let text = """
        backend app { server 127.0.0.1:9001; }
        frontend web { listen 127.0.0.1:8080; }
        """
        assertErrors(text, [#"2:1: frontend "web" has no backend"#])
    }

    func testTCPFrontend() {
        let routes = """
        backend app { server 127.0.0.1:9001; }
        frontend db {
            mode tcp;
            listen 127.0.0.1:5432;
            route path=/ backend=app;
        }
        """
        assertErrors(routes, [
            #"2:1: frontend "db" has no backend"#,
            #"5:5: "route" directive is not allowed in a tcp frontend"#,
        ])
    }

    /// A tcp frontend: `mode tcp;` on line 3, `body` on line 4.
    private func tcpFrontend(_ body: String) -> String {
        """
        backend app { server 127.0.0.1:9001; }
        frontend db {
            mode tcp;
        \(body)
            listen 127.0.0.1:5432;
            backend app;
        }
        """
    }

    func testHTTPDirectivesAreErrorsInATCPFrontend() {
        for (line, directive) in [
            ("access_log stdout json;", "access_log"),
            ("access_log off;", "access_log"),
            ("trusted_proxies 10.0.0.0/8;", "trusted_proxies"),
            ("max_header_size 32k;", "max_header_size"),
            ("max_body_size 1m;", "max_body_size"),
            ("timeout send 5s;", "timeout send"),
            ("underscores_in_headers on;", "underscores_in_headers"),
            ("http2 off;", "http2"),
        ] {
            assertErrors(tcpFrontend("    " + line), ["4:5: \"\(directive)\" directive is not allowed in a tcp frontend"])
        }
    }

    func testHTTP2IsOnUnlessTurnedOff() throws {
        XCTAssertEqual(parsed(minimalConfig())?.frontends[0].http2, true)
        XCTAssertEqual(parsed(minimalConfig(frontendBody: "    http2 off;"))?.frontends[0].http2, false)
        assertErrors(minimalConfig(frontendBody: "    http2 maybe;"),
                     [#"7:11: invalid value "maybe" in "http2" directive, expected on or off"#])
    }

    func testUnderscoresInHeaders() throws {
        XCTAssertEqual(parsed(minimalConfig())?.frontends[0].underscoresInHeaders, false)
        XCTAssertEqual(parsed(minimalConfig(frontendBody: "    underscores_in_headers on;"))?.frontends[0].underscoresInHeaders, true)
        assertErrors(minimalConfig(frontendBody: "    underscores_in_headers yes;"),
                     [#"7:28: invalid value "yes" in "underscores_in_headers" directive, expected on or off"#])
    }

    /// The mode is known only once the block is read.
    func testHTTPDirectivesBeforeModeTCP() {
        let text = """
        backend app { server 127.0.0.1:9001; }
        frontend db {
            listen 127.0.0.1:5432;
            access_log stdout;
            timeout send 5s;
            backend app;
            mode tcp;
        }
        """
        assertErrors(text, [
            #"4:5: "access_log" directive is not allowed in a tcp frontend"#,
            #"5:5: "timeout send" directive is not allowed in a tcp frontend"#,
        ])
    }

    /// A bad value is reported as well as the mode error.
    func testBadValueOfAnHTTPDirectiveInATCPFrontend() {
        assertErrors(tcpFrontend("    max_body_size 12q;"), [
            #"4:5: "max_body_size" directive is not allowed in a tcp frontend"#,
            #"4:19: invalid size "12q""#,
        ])
    }

    /// TLS is terminated and the plaintext forwarded; `timeout header` bounds the handshake.
    func testTCPFrontendTakesTLSAndItsTimeouts() throws {
        let text = tcpFrontend("""
            listen 127.0.0.1:5433 tls;
            certificate /certs/db.crt /certs/db.key;
            timeout header 3s;
            timeout idle 10m;
        """)
        let db = try XCTUnwrap(parsed(text)?.frontends.first)
        XCTAssertEqual(db.mode, .tcp)
        XCTAssertEqual(db.listens.map(\.description), ["127.0.0.1:5433", "127.0.0.1:5432"])
        XCTAssertEqual(db.listens.map(\.tls), [true, false])
        XCTAssertEqual(db.certificates, [CertificateConfig(certificatePath: "/certs/db.crt", keyPath: "/certs/db.key")])
        XCTAssertEqual(db.headerTimeoutMs, 3000)
        XCTAssertEqual(db.idleTimeoutMs, 600_000)
    }

    func testBackendWithoutServers() {
        let text = """
        backend app {
            balance least_conn;
        }
        frontend web { listen 127.0.0.1:8080; backend app; }
        """
        assertErrors(text, [#"1:1: backend "app" has no servers"#])
    }

    func testOnlyBackupServersIsFine() {
        XCTAssertEqual(errorLines("""
        backend app { server 127.0.0.1:9001 backup; }
        frontend web { listen 127.0.0.1:8080; backend app; }
        """), [])
    }

    func testTLSListenAndCertificateGoTogether() {
        assertErrors(minimalConfig(frontendBody: "    listen 127.0.0.1:8443 tls;"),
                     [#"7:27: frontend "web" has a tls listen but no certificate"#])
        assertErrors(minimalConfig(frontendBody: "    certificate a.crt a.key;"),
                     [#"7:5: frontend "web" has a certificate but no tls listen"#])
        assertErrors(minimalConfig(frontendBody: "    listen 127.0.0.1:8443 ssl;"), [#"7:27: invalid parameter "ssl""#])
    }

    func testDuplicateListenAddresses() {
        assertErrors(minimalConfig(frontendBody: "    listen 127.0.0.1:8080 tls; certificate a b;"),
                     [#"7:12: duplicate listen address "127.0.0.1:8080""#])
        let acrossBlocks = minimalConfig(top: """
        frontend other { listen *:9000; backend app; }
        stats { listen 0.0.0.0:9000; listen [::1]:9000; }
        """)
        assertErrors(acrossBlocks, [#"11:16: duplicate listen address "0.0.0.0:9000""#])
    }

    func testStatsNeedsAListen() {
        assertErrors(minimalConfig(top: "stats { allow 10.0.0.0/8; }"), [#"10:1: stats has no listen directive"#])
        assertErrors(minimalConfig(top: "stats { listen 127.0.0.1:9090 tls; }"),
                     [#"10:9: invalid number of arguments in "listen" directive"#])
    }

    /// One run reports every error, in source order, and a bad line is not reported a second
    /// time as a missing directive.
    func testMultipleErrorsCollected() {
        let text = """
        workers zero;
        drain_timeout 10x;
        backend app {
            blance round_robin;
            server 127.0.0.1:99999;
        }
        frontend web {
            listen 1.2.3.4:99999;
            route host=x backend=api;
            backend app
        }
        }
        """
        assertErrors(text, [
            #"1:9: invalid number "zero""#,
            #"2:15: invalid duration "10x""#,
            #"4:5: unknown directive "blance""#,
            #"5:12: invalid address "127.0.0.1:99999""#,
            #"8:12: invalid address "1.2.3.4:99999""#,
            #"9:18: route refers to unknown backend "api""#,
            #"10:16: expected ";" after "backend app""#,
            #"12:1: unexpected "}""#,
        ])
    }
}

/// The directives of balancing beyond round-robin, runtime control, the PROXY protocol and discovery.
final class FleetDirectiveTests: XCTestCase {
    func testHashStickyAndSlowStart() throws {
        let text = minimalConfig(backendBody: """
                balance hash;
                hash_key header X-User-Id;
                hash_balance_factor 150;
                sticky cookie SRV max_age=1h secure httponly samesite=lax;
                server 127.0.0.1:9002 slow_start=30s send_proxy=v2;
            """)
        let b = try XCTUnwrap(parsed(text)?.backends[0])
        XCTAssertEqual(b.balance, .hash)
        XCTAssertEqual(b.hashKey, .header("x-user-id"))
        XCTAssertEqual(b.hashBalanceFactor, 150)
        XCTAssertEqual(b.sticky?.cookie, "SRV")
        XCTAssertEqual(b.sticky?.maxAgeMs, 3_600_000)
        XCTAssertEqual(b.sticky?.sameSite, "Lax")
        XCTAssertTrue(b.sticky!.secure && b.sticky!.httpOnly)
        XCTAssertEqual(b.servers[1].slowStartMs, 30_000)
        XCTAssertEqual(b.servers[1].sendProxy, .v2)
        for (key, expected) in [("source", HashKey.source), ("uri", .uri), ("cookie sid", .cookie("sid"))] {
            XCTAssertEqual(parsed(minimalConfig(backendBody: "    balance hash;\n    hash_key \(key);"))?.backends[0].hashKey, expected)
        }
    }

    func testHashDirectivesNeedBalanceHash() {
        assertErrors(minimalConfig(backendBody: "    hash_key uri;"), [#"3:5: "hash_key" directive requires "balance hash""#])
        assertErrors(minimalConfig(backendBody: "    balance hash;\n    hash_balance_factor 100;"),
                     [#"4:25: "hash_balance_factor" must be between 101 and 10000, got "100""#])
        assertErrors(minimalConfig(backendBody: "    balance hash;\n    hash_key header;"), [#"4:14: "hash_key header" needs a name"#])
    }

    func testProxyProtocolListenAndAdmin() throws {
        let text = minimalConfig(frontendBody: "    listen 127.0.0.1:8443 tls proxy_protocol;\n    certificate a.crt a.key;",
                                 top: "stats {\n    listen 127.0.0.1:9090;\n    admin on;\n}")
        let config = try XCTUnwrap(parsed(text))
        XCTAssertEqual(config.frontends[0].listens.map(\.proxyProtocol), [false, true])
        XCTAssertEqual(config.frontends[0].listens[1].tls, true)
        XCTAssertEqual(config.stats?.admin, true)
        assertErrors(minimalConfig(frontendBody: "    listen 127.0.0.1:8443 proxy_protocol proxy_protocol;"),
                     [#"7:42: invalid parameter "proxy_protocol""#])
    }

    func testDiscoveryNeedsAResolver() throws {
        let body = "    discover srv _app._tcp.example.test max=8;\n    server app.example.test:80 resolve;"
        let config = try XCTUnwrap(parsed(minimalConfig(backendBody: body, top: "resolver 127.0.0.1:5353 valid=5s;")))
        XCTAssertEqual(config.resolver, ResolverConfig(address: "127.0.0.1:5353", validMs: 5000))
        XCTAssertEqual(config.backends[0].discover, DiscoveryConfig(name: "_app._tcp.example.test", max: 8))
        XCTAssertTrue(config.backends[0].servers[1].resolve)
        assertErrors(minimalConfig(backendBody: body), [
            #"3:5: "discover" needs a "resolver" directive at the top level"#,
            #"4:32: "resolve" needs a "resolver" directive at the top level"#,
        ])
        let discoveredOnly = "resolver 127.0.0.1:53;\nbackend d {\n    discover srv _x._tcp.test;\n}\n" + minimalConfig()
        XCTAssertEqual(parsed(discoveredOnly)?.backends[0].servers, [], "a discovered backend needs no static server")
    }
}
