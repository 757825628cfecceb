import Foundation
import Testing

/// `allreduce bench-kernels` end to end, on tiny sizes (the test binary is a debug build, so the
/// figures mean nothing here; the shape of the output and the errors do).
@Suite("bench-kernels command")
struct BenchKernelsCLITests {
    static let quick = ["bench-kernels", "--min-bytes", "64", "--max-bytes", "256", "-n", "1", "--min-time-ms", "0", "--no-openmpi"]

    @Test("--format csv prints the comparison header and one row per size and kernel")
    func csv() throws {
        let r = try CLI.run(Self.quick + ["--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "bytes,type,op,form,ours_GBps,reference,reference_GBps,ratio")
        // 64 and 256 bytes x (float, double, int32) x (sum, max) + half + bfloat16 + fused-4.
        #expect(lines.count == 1 + 2 * 9)
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(cells.count == 8, "\(line)")
            #expect(["64", "256"].contains(cells[0]))
            #expect(cells[5] == "memcpy")
            #expect(Double(cells[4]) != nil && (Double(cells[6]) ?? 0) > 0 && Double(cells[7]) != nil, "\(line)")
        }
        #expect(lines.contains { $0.hasPrefix("256,half,sum,in-place,") })
        #expect(lines.contains { $0.hasPrefix("64,float,sum,fused-4,") })
        // Notes go to standard error in CSV form, and say what the reference is.
        #expect(r.stderr.contains("memcpy"))
    }

    @Test("the table names its columns and says when Open MPI is not used")
    func table() throws {
        let r = try CLI.run(Self.quick)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("reference"))
        #expect(r.stdout.contains("ratio"))
        #expect(r.stdout.contains("bfloat16"))
        #expect(r.stdout.contains("Open MPI skipped (--no-openmpi)"))
    }

    /// The footer names the loops that ran; the environment variable and the option both
    /// choose the portable ones.
    @Test("it says which loops ran, and COLLECTIVE_KERNELS_INSTRUCTION_SET=portable or --instruction-set portable picks the portable ones")
    func instructionSet() throws {
        let plain = try CLI.run(Self.quick)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.contains("supported here: portable"), "\(plain.stdout)")
        var environment = ProcessInfo.processInfo.environment
        environment["COLLECTIVE_KERNELS_INSTRUCTION_SET"] = "portable"
        let forced = try CLI.run(Self.quick, environment: environment)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.contains("kernels: portable loops (the kernels' default;"), "\(forced.stdout)")
        let option = try CLI.run(Self.quick + ["--instruction-set", "portable"])
        #expect(option.stdout.contains("kernels: portable loops (--instruction-set)"), "\(option.stdout)")
    }

    @Test("without --no-openmpi it says which reference the float/double/int32 rows use")
    func openMPIOrNot() throws {
        let args = ["bench-kernels", "--min-bytes", "64", "--max-bytes", "64", "-n", "1", "--min-time-ms", "0", "--format", "csv"]
        let r = try CLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        // A build without the MPI trait says so; one with it names Open MPI's version.
        let builtIn = r.stderr.contains("reference openmpi = MPI_Reduce_local")
        #expect(builtIn || r.stderr.contains("Open MPI is not built in"), "\(r.stderr)")
        let floatRow = r.stdout.split(separator: "\n").first { $0.hasPrefix("64,float,sum,in-place,") }
        #expect(floatRow?.contains(builtIn ? ",openmpi," : ",memcpy,") == true)
    }

    @Test("bad options are one line on stderr and a non-zero exit", arguments: [
        (["--min-bytes", "12"], "--min-bytes"),
        (["--max-bytes", "1K", "--min-bytes", "4K"], "--max-bytes"),
        (["--max-bytes", "lots"], "--max-bytes"),
        (["--max-bytes", "2G"], "--max-bytes"),
        (["--step-factor", "1"], "--step-factor"),
        (["--repetitions", "0"], "--repetitions"),
        (["--min-time-ms", "-1"], "--min-time-ms"),
        (["--format", "xml"], "format"),
        (["--instruction-set", "sse9"], "--instruction-set"),
    ])
    func badOptions(args: [String], mentions: String) throws {
        let r = try CLI.run(["bench-kernels"] + args)
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("allreduce: error: "))
        #expect(r.stderr.contains(mentions), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }
}
