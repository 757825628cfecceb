/// How a rank takes part in an algorithm that needs a power-of-two number of ranks
/// (docs/Sources.md section 2, after Thakur, Rabenseifner and Gropp 2005): with q = 2^floor(lg p) and
/// r = p - q, the first 2r ranks pair up; the even rank of each pair sends its whole buffer to
/// the odd one, which reduces it (the *fold*), sits out the power-of-two core, and gets the result
/// back from the odd rank at the end (the *unfold*). The q remaining ranks run the core as
/// virtual ranks 0 ..< q.
public struct PowerOfTwoFold: Sendable, Hashable {
    public let rankCount: Int
    /// The largest power of two <= rankCount.
    public let coreCount: Int
    /// Ranks folded away (rankCount - coreCount).
    public var extraCount: Int { rankCount - coreCount }

    public init(rankCount: Int) {
        precondition(rankCount >= 1)
        self.rankCount = rankCount
        var q = 1
        while q * 2 <= rankCount { q *= 2 }
        coreCount = q
    }

    /// `rank`'s virtual rank in the core, or nil if it folds away.
    @inlinable
    public func virtualRank(of rank: Int) -> Int? {
        let r = extraCount
        if rank < 2 * r { return rank % 2 == 1 ? rank / 2 : nil }
        return rank - r
    }

    /// The rank playing virtual rank `v`.
    @inlinable
    public func rank(ofVirtual v: Int) -> Int {
        v < extraCount ? 2 * v + 1 : v + extraCount
    }

    /// The fold partner of `rank` (its pair in the first 2r ranks), or nil.
    @inlinable
    public func foldPartner(of rank: Int) -> Int? {
        rank < 2 * extraCount ? rank ^ 1 : nil
    }
}
