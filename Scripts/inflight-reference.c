/* Two ranks of one node exchange 1 MiB messages (any size: argv[2]), k at a time each way: each
 * stage posts k MPI_Irecv and k MPI_Isend, then MPI_Waitall, walking buffers of argv[1] MiB per
 * rank (the input, and the output the messages land in). Prints, for k = 1, 2, 4, 8, 16 in
 * rounds that alternate their order (a drift of the machine's speed falls on every k alike),
 * the node's payload rate: both ranks' bytes over the mean time of a pass over the buffers.
 * Used by Scripts/bench-inflight. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *in, *out;
static int peer;

static double pass_seconds(int k, size_t message, size_t total, int passes) {
    MPI_Request rq[64];
    double sum = 0;
    for (int r = 0; r <= passes; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t = MPI_Wtime();
        for (size_t s = 0; s < total / message; s += k) {
            int n = 0;
            for (int j = 0; j < k; j++) {
                size_t off = ((s + j) * message) % total;
                MPI_Irecv(out + off, (int)message, MPI_BYTE, peer, 0, MPI_COMM_WORLD, &rq[n++]);
                MPI_Isend(in + off, (int)message, MPI_BYTE, peer, 0, MPI_COMM_WORLD, &rq[n++]);
            }
            MPI_Waitall(n, rq, MPI_STATUSES_IGNORE);
        }
        t = MPI_Wtime() - t;
        if (r > 0) sum += t; /* the first pass warms up */
    }
    return sum / passes;
}

int main(int argc, char **argv) {
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        if (rank == 0) fprintf(stderr, "inflight-reference: run it on 2 ranks, not %d\n", size);
        MPI_Finalize();
        return 2;
    }
    peer = 1 - rank;
    size_t total = (size_t)(argc > 1 ? atoi(argv[1]) : 16) << 20;
    size_t message = (size_t)(argc > 2 ? atoi(argv[2]) : 1024) << 10;
    int passes = argc > 3 ? atoi(argv[3]) : 4, rounds = argc > 4 ? atoi(argv[4]) : 2;
    if (message == 0 || total < 16 * message || passes < 1 || rounds < 1) {
        if (rank == 0) fprintf(stderr, "inflight-reference: need MiB >= 16 x the message, passes and rounds >= 1\n");
        MPI_Finalize();
        return 2;
    }
    in = malloc(total);
    out = malloc(total);
    memset(in, 1, total);
    memset(out, 0, total);
    const int ks[] = {1, 2, 4, 8, 16};
    double rate[5] = {0};
    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < 5; i++) {
            int j = round % 2 ? 4 - i : i;
            rate[j] += 2.0 * total / pass_seconds(ks[j], message, total, passes) / 1e9 / rounds;
        }
    }
    if (rank == 0) {
        for (int i = 0; i < 5; i++) printf("%d %.3f\n", ks[i], rate[i]);
    }
    free(in);
    free(out);
    MPI_Finalize();
    return 0;
}
