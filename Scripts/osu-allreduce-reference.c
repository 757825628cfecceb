/*
 * MPI_Allreduce latency, measured the way OSU's osu_allreduce and nccl-tests' all_reduce_perf
 * do, for Scripts/bench-osu when OSU's own osu_allreduce is not installed.
 *
 *   mpicc -O2 -o osu-allreduce-reference Scripts/osu-allreduce-reference.c
 *   mpirun -np 2 ./osu-allreduce-reference [MIN_BYTES [MAX_BYTES]]      (default 8 .. 64 MiB)
 *
 * For each size (doubling from MIN_BYTES, float elements, MPI_SUM, separate page-aligned send
 * and receive buffers):
 *   - iterations as OSU's defaults (OMB osu_coll.h / osu_util.h): 1000 timed after 100 warm-up
 *     up to LARGE_MESSAGE_SIZE = 8192 bytes, 100 after 10 above;
 *   - warm-up calls, MPI_Barrier, then one MPI_Wtime span around the timed calls back to back
 *     (nccl-tests' block; OMB 5.3's osu_allreduce instead sums an MPI_Wtime span per call with a
 *     barrier between calls);
 *   - each rank's mean time per call, then average, minimum and maximum over ranks
 *     (osu_allreduce: MPI_Reduce with MPI_SUM / numprocs, MPI_MIN, MPI_MAX).
 * Prints OSU's full format: size (bytes), avg, min, max latency (us), iterations.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LARGE_MESSAGE_SIZE 8192
#define ITERATIONS 1000
#define WARMUP 100
#define ITERATIONS_LARGE 100
#define WARMUP_LARGE 10

static long parse_bytes(const char *text) {
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (end && (*end == 'K' || *end == 'k')) value <<= 10;
    else if (end && (*end == 'M' || *end == 'm')) value <<= 20;
    else if (end && (*end == 'G' || *end == 'g')) value <<= 30;
    else if (end && *end != '\0') value = -1;
    return value;
}

int main(int argc, char **argv) {
    int rank, ranks;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);

    long min_bytes = argc > 1 ? parse_bytes(argv[1]) : 8;
    long max_bytes = argc > 2 ? parse_bytes(argv[2]) : 64L << 20;
    if (min_bytes < (long)sizeof(float) || max_bytes < min_bytes || max_bytes / (long)sizeof(float) > 0x7fffffffL) {
        if (rank == 0) fprintf(stderr, "osu-allreduce-reference: sizes must satisfy 4 <= MIN_BYTES <= MAX_BYTES < 8 GiB\n");
        MPI_Finalize();
        return 1;
    }
    /* Page-aligned, as OSU's allocate_buffer (posix_memalign to the page size). */
    float *sendbuf = NULL, *recvbuf = NULL;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) page = 4096;
    if (posix_memalign((void **)&sendbuf, (size_t)page, (size_t)max_bytes) != 0) sendbuf = NULL;
    if (posix_memalign((void **)&recvbuf, (size_t)page, (size_t)max_bytes) != 0) recvbuf = NULL;
    if (!sendbuf || !recvbuf) {
        fprintf(stderr, "osu-allreduce-reference: rank %d: out of memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(recvbuf, 0, (size_t)max_bytes);
    for (long i = 0; i < max_bytes / (long)sizeof(float); i++) sendbuf[i] = 1.0f;

    if (rank == 0) {
        printf("# MPI_Allreduce latency, OSU's counts, timed blocks (%d ranks)\n", ranks);
        printf("# %-10s %12s %12s %12s %10s\n", "Size", "Avg(us)", "Min(us)", "Max(us)", "Iterations");
    }
    for (long bytes = min_bytes; bytes <= max_bytes; bytes *= 2) {
        int count = (int)(bytes / (long)sizeof(float));
        int large = bytes > LARGE_MESSAGE_SIZE;
        int iterations = large ? ITERATIONS_LARGE : ITERATIONS;
        int warmup = large ? WARMUP_LARGE : WARMUP;
        for (int i = 0; i < warmup; i++)
            MPI_Allreduce(sendbuf, recvbuf, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < iterations; i++)
            MPI_Allreduce(sendbuf, recvbuf, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double latency = (MPI_Wtime() - t0) * 1e6 / iterations;

        double sum = 0, low = 0, high = 0;
        MPI_Reduce(&latency, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        MPI_Reduce(&latency, &low, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
        MPI_Reduce(&latency, &high, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        if (rank == 0) printf("%-12ld %12.4f %12.4f %12.4f %10d\n", bytes, sum / ranks, low, high, iterations);
        MPI_Barrier(MPI_COMM_WORLD);
    }
    free(sendbuf);
    free(recvbuf);
    MPI_Finalize();
    return 0;
}
