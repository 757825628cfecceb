import Foundation

/// How far a model's figures are from measured ones, as the accuracy goals state it (one home
/// for `Scripts/accuracy` against published figures and `allreduce mpi --predict` against a run).
public enum PredictionError {
    /// |ln(predicted / measured)|: the error as a ratio, the same for 2x over and 2x under.
    public static func logError(predicted: Double, measured: Double) -> Double { abs(log(predicted / measured)) }

    /// The geometric-mean |error| of points given by their ``logError(predicted:measured:)``:
    /// exp(mean |ln(predicted / measured)|) - 1 (0 for no points).
    public static func geometricMean(logErrors: [Double]) -> Double {
        logErrors.isEmpty ? 0 : exp(logErrors.reduce(0, +) / Double(logErrors.count)) - 1
    }
}
