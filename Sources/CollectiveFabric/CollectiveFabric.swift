/// Links, nodes, clusters, presets, topology files and closed-form costs.
@_exported import CollectiveCore
