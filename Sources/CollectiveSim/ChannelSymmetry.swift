import CollectiveCore
import CollectiveFabric

/// Plays NCCL's channels through their symmetry: on a symmetric node every channel does the same
/// work on its own share of the links, so one representative finishes when they all do.
///
/// On a node whose GPUs hang off an NVSwitch with one NIC each, rotating the GPUs' local
/// numbers maps the node onto itself (NIC k to NIC k+1, rail k to rail k+1), and it maps NCCL's
/// channel c onto channel c+1 (rings, ``RailRingOrder``) or channel pair c onto pair c+1 (trees,
/// whose channels 2h and 2h+1 share head GPU h, ``ChannelTreeSchedule``). With `C` channels, a
/// multiple of the rotation's period, every link carries the same number of channels. Playing
/// only the representative (one ring, or one tree pair) with each link's rate scaled to the
/// share those channels get gives the same finishing time, for a C-th (or C/2-th) of the events:
/// - NVLink ports carry every channel's chain: rate x played / C;
/// - a NIC (with its PCIe link and the switch ports at its rate) carries C / NICs channels, and
///   the representative puts `played` channels on the NICs it uses: rate x played x NICs / C.
/// Every channel carries the same slice, so the representative plays `played / C` of the buffer.
/// Per-channel protocol caps and hop latencies are unchanged. Where the node is not symmetric
/// (a mesh, fewer NICs than GPUs) or C is not a multiple of the period, nothing is reduced.
public struct ChannelSymmetry: Sendable {
    /// The fabric with the scaled links.
    public let fabric: FabricMap
    /// Channels played (1 for rings, 2 for trees).
    public let playedChannels: Int
    /// Channels of the full run.
    public let channels: Int

    public init?(fabric original: FabricMap, algorithm: NCCLAlgorithm, channels: Int) {
        let node = original.topology.node
        let g = node.gpuCount
        guard g > 1, let nv = node.nvlink, nv.fabric == .nvswitch else { return nil }
        guard original.nodeCount == 1 || (node.nic != nil && node.nicCount == g) else { return nil }
        let played: Int
        switch algorithm {
        case .ring: played = 1
        case .tree: played = 2
        default: return nil
        }
        let period = played * g
        guard channels % period == 0, channels > played else { return nil }
        var t = original.topology
        let nvScale = Double(played) / Double(channels)
        let nicScale = Double(played * g) / Double(channels)
        t.node.nvlink!.link.bandwidthGBps *= nvScale
        if t.node.nic != nil { t.node.nic!.bandwidthGBps *= nicScale }
        if t.node.pcie != nil { t.node.pcie!.bandwidthGBps *= nicScale }
        guard let scaled = try? FabricMap(t) else { return nil }
        fabric = scaled
        playedChannels = played
        self.channels = channels
    }

    /// Elements the representative plays for a buffer of `elementCount`: its channels' slices.
    public func playedElements(_ elementCount: Int) -> Int {
        let slices = BlockPartition(count: elementCount, parts: channels)
        return slices.maxSize * playedChannels
    }
}
