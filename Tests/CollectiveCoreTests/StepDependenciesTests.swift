import Testing
@testable import CollectiveCore

@Suite("StepDependencies")
struct StepDependenciesTests {
    @Test("the one-, two- and three-index forms hold what appending the non-negative indices holds, as the variadic form does")
    func fixedArity() {
        func appended(_ indices: [Int]) -> StepDependencies {
            var d = StepDependencies()
            for i in indices where i >= 0 { d.append(i) }
            return d
        }
        #expect(StepDependencies(5) == appended([5]))
        #expect(StepDependencies(-1).isEmpty && StepDependencies(-1).count == 0)
        #expect(StepDependencies(2, 7) == appended([2, 7]))
        #expect(Array(StepDependencies(-1, 7)) == [7])
        #expect(StepDependencies(1, -3, 4) == appended([1, 4]))
        #expect(Array(StepDependencies(1, 2, 3)) == [1, 2, 3])
        // The variadic form, with four, agrees.
        #expect(Array(StepDependencies(1, 2, 3, 4)) == [1, 2, 3, 4])
        #expect(StepDependencies(9, 8) != StepDependencies(8, 9))
    }
}
