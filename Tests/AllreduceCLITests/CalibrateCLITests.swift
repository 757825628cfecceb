import Foundation
import Testing

/// `allreduce calibrate` and `allreduce mpi --predict` on the command line (the measurements
/// themselves run under mpirun: Scripts/test-mpi and Scripts/check-predict).
@Suite("allreduce calibrate and mpi --predict")
struct CalibrateCLITests {
    @Test("bad calibrate options are one-line errors")
    func badOptions() throws {
        expectOneLineError(try CLI.run(["calibrate"]), contains: ["--output"])
        expectOneLineError(try CLI.run(["calibrate", "--output", "x.yaml", "--probe-bytes", "3"]), contains: ["--probe-bytes"])
        expectOneLineError(try CLI.run(["calibrate", "--output", "x.yaml", "--probe-bytes", "1000"]), contains: ["--probe-bytes", "multiple of 16"])
        expectOneLineError(try CLI.run(["calibrate", "--output", "x.yaml", "-n", "0"]), contains: ["-n"])
        expectOneLineError(try CLI.run(["calibrate", "--output", "x.yaml", "-d", "int16"]), contains: ["int16"])
        expectOneLineError(try CLI.run(["calibrate", "--output", ""]), contains: ["--output"])
    }

    @Test("--calibration-output needs --predict without a file, and a name")
    func calibrationOutput() throws {
        expectOneLineError(try CLI.run(["mpi", "--calibration-output", "c.yaml"]), contains: ["--calibration-output", "--predict without a file"])
        expectOneLineError(try CLI.run(["mpi", "--predict", "lab.yaml", "--calibration-output", "c.yaml"]), contains: ["--calibration-output", "--predict without a file"])
        expectOneLineError(try CLI.run(["mpi", "--predict", "--calibration-output", ""]), contains: ["--calibration-output", "empty"])
        let r = try CLI.run(["mpi", "--predict", "--calibration-output", "c.yaml"])
        expectOneLineError(r, contains: ["--traits MPI"])
    }

    @Test("--predict takes a file or nothing (a calibration first): both parse, then a build without MPI says how to rebuild")
    func predictParses() throws {
        for args in [["mpi", "--predict"], ["mpi", "--predict", "--algorithm", "ring"], ["mpi", "--predict", "lab.yaml"], ["calibrate", "--output", "x.yaml"]] {
            let r = try CLI.run(args)
            expectOneLineError(r, contains: ["--traits MPI"])
            #expect(!r.stderr.contains("Missing value"), "\(args): \(r.stderr)")
        }
    }
}
