/// The event queue: events keyed by (time, sequence), popped earliest first, ties in the order
/// they were pushed.
///
/// Simulated collectives finish most transfers at exactly the same times as others (a ring's
/// ranks move in lock step: in the simulator's workloads 94-99% of events share their time with
/// the event before), so the queue groups events by time:
///
/// - one *group* per distinct pending time, holding that time's payloads first-in first-out in
///   blocks of 15 (64 bytes each). Events of equal time pop in push order, which is sequence
///   order, so a group needs no key per event;
/// - a 4-ary min-heap of the groups, keyed by the time's bit pattern (non-negative doubles
///   order as unsigned integers), 16-byte entries, a node's four children in one cache line;
/// - a hash table from a time's bit pattern to its group (open addressing, linear probing).
///
/// Pushing an event costs a hash lookup (none when it has the time of the push before) and an
/// append; popping one costs a read from the front of the earliest group, plus a heap pop when
/// that group empties. With all times distinct it is a heap of events again. The order is exactly that of a heap of (time, sequence) keys: the
/// engine is deterministic, the same input pops the same events in the same order on every run
/// and machine.
public struct EventQueue: ~Copyable {
    /// Largest payload (2^31 - 1).
    public static let maxPayload = Int(Int32.max)
    /// Events one queue can order (2^36).
    public static let maxEvents: UInt64 = 1 << 36

    /// Payloads per block (the first of a block's 16 words links to the next block).
    @usableFromInline static var _blockPayloads: Int32 { 15 }

    /// A time's pending events: blocks `head ... tail`, the front at word `headPos` of `head`,
    /// the next free word at `tailPos` of `tail`.
    @usableFromInline
    struct _Group {
        @usableFromInline var time: UInt64 = 0
        @usableFromInline var head: Int32 = 0
        @usableFromInline var headPos: Int32 = 1
        @usableFromInline var tail: Int32 = 0
        @usableFromInline var tailPos: Int32 = 1
        @usableFromInline var count: Int32 = 0
        @usableFromInline var _pad: Int32 = 0
        @inlinable init() {}
    }

    /// A hash table slot: a time's bit pattern and its group (-1: empty).
    @usableFromInline
    struct _Slot {
        @usableFromInline var time: UInt64 = 0
        @usableFromInline var group: Int32 = -1
        @inlinable init() {}
    }

    // Blocks of 16 Int32 words: word 0 the next block, words 1 ... 15 payloads.
    @usableFromInline var _blocks: UnsafeMutablePointer<Int32>
    @usableFromInline var _blockCapacity: Int
    @usableFromInline var _blocksUsed = 0
    @usableFromInline var _freeBlocks: UnsafeMutablePointer<Int32>
    @usableFromInline var _freeBlockCount = 0

    @usableFromInline var _groups: UnsafeMutablePointer<_Group>
    @usableFromInline var _groupCapacity: Int
    @usableFromInline var _groupsUsed = 0
    @usableFromInline var _freeGroups: UnsafeMutablePointer<Int32>
    @usableFromInline var _freeGroupCount = 0

    @usableFromInline var _table: UnsafeMutablePointer<_Slot>
    /// Table size minus one (a power of two minus one), and the shift that maps a hash to a slot.
    @usableFromInline var _tableMask: Int
    @usableFromInline var _tableShift: UInt64
    /// Groups in the table (and in the heap).
    @usableFromInline var _live = 0

    /// The heap of groups: entry i at `_heap[i + 3]` (children 4i+1 ... 4i+4 in one aligned line),
    /// key = time bits << 64 | group.
    @usableFromInline var _heapStorage: UnsafeMutableRawPointer
    @usableFromInline var _heap: UnsafeMutablePointer<UInt128>
    @usableFromInline var _heapCapacity: Int

    @usableFromInline var _count = 0
    @usableFromInline var _nextSequence: UInt64 = 0
    /// The group the last push went to (-1: none), and its time: pushes come in runs of one time.
    @usableFromInline var _lastGroup = -1
    @usableFromInline var _lastTime: UInt64 = 0

    public init(capacity: Int = 1024) {
        let c = Swift.max(16, capacity)
        _blockCapacity = Swift.max(16, c / 8)
        _blocks = UnsafeMutableRawPointer.allocate(byteCount: _blockCapacity * 64, alignment: 64)
            .bindMemory(to: Int32.self, capacity: _blockCapacity * 16)
        _freeBlocks = .allocate(capacity: _blockCapacity)
        _groupCapacity = 64
        _groups = .allocate(capacity: _groupCapacity)
        _freeGroups = .allocate(capacity: _groupCapacity)
        let tableSize = 256
        _table = .allocate(capacity: tableSize)
        _table.initialize(repeating: _Slot(), count: tableSize)
        _tableMask = tableSize - 1
        _tableShift = UInt64(64 - tableSize.trailingZeroBitCount)
        _heapCapacity = _groupCapacity
        (_heapStorage, _heap) = Self._allocateHeap(_heapCapacity)
    }

    deinit {
        _blocks.deallocate()
        _freeBlocks.deallocate()
        _groups.deallocate()
        _freeGroups.deallocate()
        _table.deallocate()
        _heapStorage.deallocate()
    }

    static func _allocateHeap(_ capacity: Int) -> (UnsafeMutableRawPointer, UnsafeMutablePointer<UInt128>) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: (capacity + 4) * 16, alignment: 64)
        return (raw, raw.bindMemory(to: UInt128.self, capacity: capacity + 4))
    }

    @inlinable public var count: Int { _count }
    @inlinable public var isEmpty: Bool { _count == 0 }
    /// Events pushed so far.
    @inlinable public var pushed: UInt64 { _nextSequence }

    /// Schedules `payload` (0 ... ``maxPayload``) at `time` (>= 0, finite).
    @inlinable
    public mutating func push(time: Double, payload: Int) {
        precondition(payload >= 0 && payload <= Self.maxPayload, "EventQueue: payload \(payload) out of range")
        precondition(_nextSequence < Self.maxEvents, "EventQueue: more than 2^36 events")
        precondition(time >= 0 && time.isFinite, "EventQueue: time \(time) must be finite and non-negative")
        _nextSequence &+= 1
        // +0.0 and -0.0 are one time.
        let bits = (time == 0 ? 0 : time).bitPattern
        let g: Int
        if bits == _lastTime && _lastGroup >= 0 {
            g = _lastGroup
        } else {
            g = _group(forTime: bits)
            _lastGroup = g
            _lastTime = bits
        }
        var tail = Int(_groups[g].tail)
        var pos = _groups[g].tailPos
        if pos > Self._blockPayloads {
            let b = _allocBlock()
            _blocks[tail * 16] = Int32(truncatingIfNeeded: b)
            tail = b
            pos = 1
            _groups[g].tail = Int32(truncatingIfNeeded: b)
        }
        _blocks[tail * 16 + Int(pos)] = Int32(truncatingIfNeeded: payload)
        _groups[g].tailPos = pos + 1
        _groups[g].count += 1
        _count += 1
    }

    /// Removes and returns the earliest event.
    @inlinable
    public mutating func pop() -> (time: Double, payload: Int)? {
        guard _count > 0 else { return nil }
        let g = Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: _heap[3]))
        let head = Int(_groups[g].head)
        var pos = _groups[g].headPos
        let payload = Int(_blocks[head * 16 + Int(pos)])
        let time = Double(bitPattern: _groups[g].time)
        _count -= 1
        _groups[g].count -= 1
        pos += 1
        if _groups[g].count == 0 {
            // The time's last event: its block, hash slot, heap entry and group go.
            _freeBlock(head)
            _removeFromTable(_groups[g].time)
            _popHeap()
            if g == _lastGroup { _lastGroup = -1 }
            _freeGroups[_freeGroupCount] = Int32(truncatingIfNeeded: g)
            _freeGroupCount += 1
        } else if pos > Self._blockPayloads {
            _groups[g].head = _blocks[head * 16]
            _groups[g].headPos = 1
            _freeBlock(head)
        } else {
            _groups[g].headPos = pos
        }
        return (time, payload)
    }

    /// Payload of the event `ahead` pops from now (0: the next), if it has the same time as the
    /// next event and `ahead` < 15; nil otherwise. For callers that prefetch what coming events touch.
    @inlinable @inline(__always)
    public func payload(ahead: Int) -> Int? {
        guard _count > 0 else { return nil }
        let g = Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: _heap[3]))
        guard ahead < Int(_groups[g].count) && ahead < Int(Self._blockPayloads) else { return nil }
        var block = Int(_groups[g].head)
        var pos = Int(_groups[g].headPos) + ahead
        if pos > Int(Self._blockPayloads) {
            block = Int(_blocks[block * 16])
            pos -= Int(Self._blockPayloads)
        }
        return Int(_blocks[block * 16 + pos])
    }

    // MARK: Groups and the table

    /// The group of time `bits`, created (empty, in the table and the heap) if there is none.
    @inlinable
    mutating func _group(forTime bits: UInt64) -> Int {
        var i = Int(truncatingIfNeeded: (bits &* 0x9E37_79B9_7F4A_7C15) >> _tableShift)
        while true {
            let s = _table[i]
            if s.group < 0 { break }
            if s.time == bits { return Int(s.group) }
            i = (i + 1) & _tableMask
        }
        // A new time.
        if 2 * (_live + 1) > _tableMask + 1 {
            _growTable()
            return _group(forTime: bits)
        }
        let g = _newGroup(bits)
        _table[i].time = bits
        _table[i].group = Int32(truncatingIfNeeded: g)
        _live += 1
        _pushHeap(UInt128(bits) << 64 | UInt128(g))
        return g
    }

    @inlinable
    mutating func _newGroup(_ bits: UInt64) -> Int {
        let g: Int
        if _freeGroupCount > 0 {
            _freeGroupCount -= 1
            g = Int(_freeGroups[_freeGroupCount])
        } else {
            if _groupsUsed == _groupCapacity { _growGroups() }
            g = _groupsUsed
            _groupsUsed += 1
        }
        let b = _allocBlock()
        var group = _Group()
        group.time = bits
        group.head = Int32(truncatingIfNeeded: b)
        group.tail = Int32(truncatingIfNeeded: b)
        _groups[g] = group
        return g
    }

    /// Removes time `bits` from the table (linear probing, backward-shift deletion).
    @inlinable
    mutating func _removeFromTable(_ bits: UInt64) {
        var i = Int(truncatingIfNeeded: (bits &* 0x9E37_79B9_7F4A_7C15) >> _tableShift)
        while _table[i].time != bits || _table[i].group < 0 { i = (i + 1) & _tableMask }
        var j = i
        while true {
            j = (j + 1) & _tableMask
            if _table[j].group < 0 { break }
            let home = Int(truncatingIfNeeded: (_table[j].time &* 0x9E37_79B9_7F4A_7C15) >> _tableShift)
            // Move j back into the hole i unless its home lies cyclically in (i, j].
            let homeInRange = i <= j ? (i < home && home <= j) : (i < home || home <= j)
            if !homeInRange {
                _table[i] = _table[j]
                i = j
            }
        }
        _table[i].group = -1
        _live -= 1
    }

    @usableFromInline
    mutating func _growTable() {
        let oldSize = _tableMask + 1
        let old = _table
        let size = oldSize * 2
        _table = .allocate(capacity: size)
        _table.initialize(repeating: _Slot(), count: size)
        _tableMask = size - 1
        _tableShift = UInt64(64 - size.trailingZeroBitCount)
        for k in 0..<oldSize where old[k].group >= 0 {
            var i = Int(truncatingIfNeeded: (old[k].time &* 0x9E37_79B9_7F4A_7C15) >> _tableShift)
            while _table[i].group >= 0 { i = (i + 1) & _tableMask }
            _table[i] = old[k]
        }
        old.deallocate()
    }

    @usableFromInline
    mutating func _growGroups() {
        _groups = _moved(_groups, count: _groupsUsed, capacity: _groupCapacity * 2)
        _freeGroups = _moved(_freeGroups, count: _freeGroupCount, capacity: _groupCapacity * 2)
        _groupCapacity *= 2
    }

    // MARK: Blocks

    @inlinable
    mutating func _allocBlock() -> Int {
        if _freeBlockCount > 0 {
            _freeBlockCount -= 1
            return Int(_freeBlocks[_freeBlockCount])
        }
        if _blocksUsed == _blockCapacity { _growBlocks() }
        let b = _blocksUsed
        _blocksUsed += 1
        return b
    }

    @inlinable
    mutating func _freeBlock(_ b: Int) {
        _freeBlocks[_freeBlockCount] = Int32(truncatingIfNeeded: b)
        _freeBlockCount += 1
    }

    @usableFromInline
    mutating func _growBlocks() {
        precondition(_blockCapacity < Int(Int32.max) / 2, "EventQueue: too many events")
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: _blockCapacity * 2 * 64, alignment: 64)
            .bindMemory(to: Int32.self, capacity: _blockCapacity * 32)
        bigger.moveInitialize(from: _blocks, count: _blocksUsed * 16)
        _blocks.deallocate()
        _blocks = bigger
        _freeBlocks = _moved(_freeBlocks, count: _freeBlockCount, capacity: _blockCapacity * 2)
        _blockCapacity *= 2
    }

    // MARK: The heap of groups

    @inlinable
    mutating func _pushHeap(_ key: UInt128) {
        if _live > _heapCapacity { _growHeap() }
        let slots = _heap + 3
        var i = _live - 1
        while i > 0 {
            let parent = (i - 1) >> 2
            let p = slots[parent]
            if key >= p { break }
            slots[i] = p
            i = parent
        }
        slots[i] = key
    }

    /// Removes the heap's root (`_live` already counts one fewer entry).
    @inlinable
    mutating func _popHeap() {
        let slots = _heap + 3
        let n = _live
        guard n > 0 else { return }
        let last = slots[n]
        var i = 0
        while true {
            let first = 4 * i + 1
            if first >= n { break }
            var c = first
            var k = slots[first]
            if first + 3 < n {
                let k1 = slots[first + 1], k2 = slots[first + 2], k3 = slots[first + 3]
                let a = k1 < k ? first + 1 : first
                let ka = k1 < k ? k1 : k
                let b = k3 < k2 ? first + 3 : first + 2
                let kb = k3 < k2 ? k3 : k2
                c = kb < ka ? b : a
                k = kb < ka ? kb : ka
            } else {
                var j = first + 1
                while j < n {
                    let kj = slots[j]
                    if kj < k { k = kj; c = j }
                    j += 1
                }
            }
            if k >= last { break }
            slots[i] = k
            i = c
        }
        slots[i] = last
    }

    @usableFromInline
    mutating func _growHeap() {
        let (raw, slots) = Self._allocateHeap(_heapCapacity * 2)
        (slots + 3).moveInitialize(from: _heap + 3, count: _live - 1)
        _heapStorage.deallocate()
        _heapStorage = raw
        _heap = slots
        _heapCapacity *= 2
    }
}
