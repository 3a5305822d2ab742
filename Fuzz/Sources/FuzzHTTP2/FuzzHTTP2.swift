// The HTTP/2 input path: a client's bytes (fuzzed) into an H2Connection, no I/O. A small data
// path answers the requests the way sluice's would, and every step is checked: each `.request`
// head is a well-formed HTTP/1.1 head that HTTP1's RequestParser accepts (or refuses only for the
// reasons it shares with HTTP/1.1 clients), events follow the stream life cycle, the output is a
// sequence of well-formed frames a server may send, and a connection that ends says why.
//
// Input: byte 0 chooses the driving (Control), the rest is what the client sends.
import FuzzSupport
import HTTP1
import HTTP2

/// How the data path behaves, from the input's first byte.
struct Control {
    let byte: UInt8
    /// Prepend the client preface, so that mutations need not keep it intact.
    var prependPreface: Bool { byte & 0x01 != 0 }
    /// Answer each request at once (else never: streams stay open).
    var respond: Bool { byte & 0x02 != 0 }
    /// Hand back only half of each DATA payload, so that windows run dry.
    var consumeHalf: Bool { byte & 0x04 != 0 }
    /// Stop gracefully after the first request.
    var goAwayAfterFirst: Bool { byte & 0x08 != 0 }
    /// Reset every third request from the server side.
    var resetSome: Bool { byte & 0x10 != 0 }
    /// Milliseconds between pieces (0, 10, 100 or 1000): budgets refill. From 100 on, an idle
    /// connection sleeps between pieces (and wakes with the next).
    var tick: Int64 { [0, 10, 100, 1000][Int(byte >> 5 & 3)] }
    /// Tight settings (small header lists, few streams) so that limits are reached.
    var tight: Bool { byte & 0x80 != 0 }
}

let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP2(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let control = Control(byte: data[0])
    let client = (control.prependPreface ? preface : []) + UnsafeBufferPointer(start: data + 1, count: size - 1)
    var settings = H2Settings(maxHeaderListSize: control.tight ? 1024 : 16_384)
    if control.tight {
        settings.maxConcurrentStreams = 4
        settings.maxHeaderFields = 8
        settings.initialStreamWindow = 100
        settings.connectionWindow = 65_535
    }
    let driver = Driver(settings: settings, control: control)
    client.withUnsafeBytes { bytes in
        var random = SplitRandom(seed: seed(of: bytes))
        var at = 0
        for end in random.prefixEnds(total: bytes.count, maxPieces: 48) where driver.open {
            withExactCopy(bytes, at, end - at) { driver.receive($0) }
            at = end
            driver.now += control.tick
            if control.tick >= 100 && driver.open { driver.sleepIfIdle() }
        }
    }
    driver.finish()
    return 0
}
