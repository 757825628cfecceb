/// Timing engines that play ``Schedule``s over a modelled fabric.
import CollectiveCore
import CollectiveFabric
