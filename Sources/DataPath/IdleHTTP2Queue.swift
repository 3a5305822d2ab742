/// HTTP/2 connections in the order they went idle (no stream, engine awake), for putting them to
/// sleep early when many are idle at once. An entry is the connection's id and when it went idle;
/// a connection that got busy, slept or closed since leaves a stale entry, skipped when reached.
struct IdleHTTP2Queue {
    private var entries: [(id: Int32, since: Int64)] = []
    private var head = 0

    /// Entries, stale ones included.
    var count: Int { entries.count - head }

    var first: (id: Int32, since: Int64)? { head < entries.count ? entries[head] : nil }

    mutating func append(id: Int32, since: Int64) {
        entries.append((id, since))
    }

    mutating func removeFirst() {
        head += 1
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
