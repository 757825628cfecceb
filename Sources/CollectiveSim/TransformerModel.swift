/// A decoder-only transformer's shape, enough to count its parameters and its layers' gradients
/// (docs/Sources.md section 7 cites every figure).
public struct TransformerModel: Sendable, Hashable {
    /// The preset's name (`gpt3-175b`), or `custom`.
    public var name: String
    /// The parameter count the paper states (what `allreduce train` uses).
    public var statedParameters: Double
    /// The exact count of the released weights where the stated count is a rounded name that
    /// the shape does not reach within 1%: Llama 2 70B holds 68,976,648,192 parameters (the
    /// released checkpoint: 80 x 855,654,400 per layer + 2 x 32,000 x 8,192 embeddings + 8,192),
    /// 1.5% under "70B". nil where the stated count is within 1% of the shape's.
    public var exactParameters: Double?
    /// Transformer layers.
    public var layers: Int
    /// Model (hidden) width.
    public var hiddenSize: Int
    /// The MLP's inner width.
    public var ffnHiddenSize: Int
    /// Attention heads, and the key/value heads (fewer with grouped-query attention).
    public var heads: Int
    public var keyValueHeads: Int
    /// Vocabulary size.
    public var vocabularySize: Int
    /// Learned position embeddings (GPT-3's context length), 0 with rotary embeddings (Llama).
    public var positionEmbeddings: Int
    /// A gated MLP (SwiGLU: three matrices) rather than two.
    public var gatedMLP: Bool
    /// Separate input embedding and output projection (Llama) rather than one shared matrix (GPT-3).
    public var untiedEmbeddings: Bool

    public init(name: String, statedParameters: Double, layers: Int, hiddenSize: Int, ffnHiddenSize: Int, heads: Int, keyValueHeads: Int,
                vocabularySize: Int, positionEmbeddings: Int, gatedMLP: Bool, untiedEmbeddings: Bool, exactParameters: Double? = nil) {
        self.name = name
        self.exactParameters = exactParameters
        self.statedParameters = statedParameters
        self.layers = layers
        self.hiddenSize = hiddenSize
        self.ffnHiddenSize = ffnHiddenSize
        self.heads = heads
        self.keyValueHeads = keyValueHeads
        self.vocabularySize = vocabularySize
        self.positionEmbeddings = positionEmbeddings
        self.gatedMLP = gatedMLP
        self.untiedEmbeddings = untiedEmbeddings
    }

    /// The parameters counted from the shape: per layer the attention's Q and output projections
    /// (2 h^2), its K and V projections (2 h x kv heads x h / heads), the MLP (2 or 3 matrices of
    /// h x ffn), GPT-3's biases (5h + ffn) and layer norms with bias (4h) or Llama's RMSNorm
    /// weights (2h, no biases); then the embeddings (vocabulary x h, twice if untied), the
    /// position embeddings and the final norm.
    public var computedParameters: Double {
        let h = Double(hiddenSize), f = Double(ffnHiddenSize)
        let kv = 2 * h * (h / Double(heads) * Double(keyValueHeads))
        let mlp = (gatedMLP ? 3 : 2) * h * f
        // GPT-3 (GPT-2's layout): biases of QKV (3h), output (h), MLP (f + h), and two layer norms
        // with bias (4h); Llama: two RMSNorm weights (2h), no biases.
        let small = gatedMLP ? 2 * h : 3 * h + h + f + h + 4 * h
        let perLayer = 2 * h * h + kv + mlp + small
        let embeddings = Double(vocabularySize) * h * (untiedEmbeddings ? 2 : 1) + Double(positionEmbeddings) * h
        return Double(layers) * perLayer + embeddings + (gatedMLP ? h : 2 * h)
    }

    /// The presets, from their papers: GPT-3 (Brown et al. 2020, Table 2.1: layers, d_model,
    /// heads; 2048-token context; GPT-2's 50,257-token vocabulary), Llama 2 (Touvron et al. 2023:
    /// 70B with grouped-query attention, 8 key/value heads; 32,000 tokens; the released
    /// configuration's ffn width 28,672) and Llama 3 (Llama Team, The Llama 3 Herd of Models,
    /// 2024, Table 3: layers, model dimension, FFN dimension, heads, key/value heads, 128,000-token
    /// vocabulary, 128,256 with special tokens).
    public static let presets: [TransformerModel] = [
        TransformerModel(name: "gpt3-175b", statedParameters: 175e9, layers: 96, hiddenSize: 12288, ffnHiddenSize: 4 * 12288, heads: 96,
                         keyValueHeads: 96, vocabularySize: 50257, positionEmbeddings: 2048, gatedMLP: false, untiedEmbeddings: false),
        TransformerModel(name: "gpt3-6.7b", statedParameters: 6.7e9, layers: 32, hiddenSize: 4096, ffnHiddenSize: 4 * 4096, heads: 32,
                         keyValueHeads: 32, vocabularySize: 50257, positionEmbeddings: 2048, gatedMLP: false, untiedEmbeddings: false),
        TransformerModel(name: "llama2-70b", statedParameters: 70e9, layers: 80, hiddenSize: 8192, ffnHiddenSize: 28672, heads: 64,
                         keyValueHeads: 8, vocabularySize: 32000, positionEmbeddings: 0, gatedMLP: true, untiedEmbeddings: true,
                         exactParameters: 68_976_648_192),
        TransformerModel(name: "llama3-8b", statedParameters: 8e9, layers: 32, hiddenSize: 4096, ffnHiddenSize: 14336, heads: 32,
                         keyValueHeads: 8, vocabularySize: 128256, positionEmbeddings: 0, gatedMLP: true, untiedEmbeddings: true),
        TransformerModel(name: "llama3-70b", statedParameters: 70e9, layers: 80, hiddenSize: 8192, ffnHiddenSize: 28672, heads: 64,
                         keyValueHeads: 8, vocabularySize: 128256, positionEmbeddings: 0, gatedMLP: true, untiedEmbeddings: true),
        TransformerModel(name: "llama3-405b", statedParameters: 405e9, layers: 126, hiddenSize: 16384, ffnHiddenSize: 53248, heads: 128,
                         keyValueHeads: 8, vocabularySize: 128256, positionEmbeddings: 0, gatedMLP: true, untiedEmbeddings: true),
    ]

    /// The preset named `name` (case-insensitive), or nil.
    public static func preset(_ name: String) -> TransformerModel? {
        presets.first { $0.name == name.lowercased() }
    }

    /// Every preset name, for help and errors.
    public static var presetNames: String { presets.map(\.name).joined(separator: " ") }
}
