/// What the connection keeps per open stream. Streams are found through nghttp2's stream user
/// data, which holds the slot index plus one.
struct StreamSlot {
    var id: Int32 = 0
    /// A `.request` went to the data path, so a `.closed` or `.reset` will follow. Other streams
    /// (answered 431 or 414, malformed) produce no events and their DATA is consumed on arrival.
    var announced = false
    var responseSubmitted = false
    /// END_STREAM went out (response or trailers).
    var responseEnded = false
    /// The data path asked for the reset; it is not the client's fault.
    var resetRequested = false
    /// Request body bytes handed out in `.data` and not yet `consumed`.
    var unconsumed = 0
    /// The response body source: bytes the caller lent with `setBody`, how many were copied.
    var body: UnsafeRawBufferPointer?
    var bodyTaken = 0
    var bodyEOF = false
    var trailers: UnsafeRawBufferPointer?
    /// The data provider returned DEFERRED; `setBody` must resume it.
    var deferred = false

    var bodyPending: Int { (body?.count ?? 0) - bodyTaken }
}

/// Slots for the open streams: a few at first, doubling up to the concurrency limit as streams
/// overlap (an idle connection keeps only what it needed). A slot's index never changes.
struct StreamTable {
    private(set) var slots: UnsafeMutablePointer<StreamSlot>
    private(set) var capacity: Int
    let limit: Int
    private var freeList: UnsafeMutablePointer<Int32>
    private var freeCount: Int
    private let memory: EngineMemory

    init(limit: Int, memory: EngineMemory) {
        self.limit = limit
        self.memory = memory
        capacity = min(limit, 4)
        slots = memory.allocate(StreamSlot.self, capacity: capacity)
        slots.initialize(repeating: StreamSlot(), count: capacity)
        freeList = memory.allocate(Int32.self, capacity: capacity)
        for i in 0..<capacity { freeList[i] = Int32(capacity - 1 - i) }
        freeCount = capacity
    }

    /// No stream holds a slot.
    var isEmpty: Bool { freeCount == capacity }

    func deallocate() {
        slots.deinitialize(count: capacity)
        EngineMemory.release(slots)
        EngineMemory.release(freeList)
    }

    /// A fresh slot for stream `id`, or nil when the limit is reached.
    mutating func allocate(_ id: Int32) -> Int? {
        if freeCount == 0 && capacity < limit { grow() }
        guard freeCount > 0 else { return nil }
        freeCount -= 1
        let i = Int(freeList[freeCount])
        slots[i] = StreamSlot()
        slots[i].id = id
        return i
    }

    mutating func release(_ i: Int) {
        slots[i] = StreamSlot()
        freeList[freeCount] = Int32(i)
        freeCount += 1
    }

    /// Doubles the table (every slot is in use: the free list is empty).
    private mutating func grow() {
        let bigger = min(limit, capacity * 2)
        let moved = memory.allocate(StreamSlot.self, capacity: bigger)
        moved.moveInitialize(from: slots, count: capacity)
        (moved + capacity).initialize(repeating: StreamSlot(), count: bigger - capacity)
        EngineMemory.release(slots)
        EngineMemory.release(freeList)
        freeList = memory.allocate(Int32.self, capacity: bigger)
        for i in capacity..<bigger { freeList[i - capacity] = Int32(bigger - 1 - (i - capacity)) }
        freeCount = bigger - capacity
        slots = moved
        capacity = bigger
    }
}
