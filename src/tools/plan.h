/*
 * plan.h — the cost model of `mpct plan` (src/tools/PLAN.md), shared by
 * plan_calib.c (reading calibrations, fitting the model), plan_predict.c
 * (run time, bytes, memory and placement of a job) and cmd_plan.c (options
 * and output).
 *
 * The symbols (alpha, rho, c_k, s_k, sigma, beta, t0) are those of PLAN.md.
 * Shape letters: L layers, H hidden, A heads, F ffn, V vocabulary, T padded
 * sequence length of a block, B rows per block, R replicas.
 *
 * Invariants: nothing here uses MPI; every function that reports a bad input
 * prints one message naming the file and the field and returns non-zero.
 */
#ifndef MPCT_PLAN_H
#define MPCT_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define PLAN_MAX_CAL 16
#define PLAN_DEFAULT_ALPHA 1e-4    /* s per round when no calibration pair fits one (PLAN.md) */
#define PLAN_DEFAULT_STARTUP 0.5   /* s: mpirun launch, key exchange, reading and tokenizing */
#define PLAN_MEM_LIMIT (2.0 * 1073741824.0) /* without peak RSS calibrated: one-hot bytes per rank a batch may take */
#define PLAN_BASE_RSS (40.0 * 1048576.0) /* process without weights (MPI, HDF5, OpenSSL), measured (PLAN.md) */
#define PLAN_MEM_MARGIN 1.2            /* #SBATCH --mem = margin x predicted node peak */

/* Op classes of PLAN.md; each scales with its own size s_k(cfg, T). */
enum {
    PLAN_K_INPUT, PLAN_K_EMBED, PLAN_K_MATMUL, PLAN_K_SOFTMAX, PLAN_K_GELU, PLAN_K_LAYERNORM, PLAN_K_POOL, PLAN_K_OTHER,
    PLAN_K_N
};

typedef struct mpct_plan_shape {
    double L, H, A, F, V;
} mpct_plan_shape;

typedef struct mpct_plan_calib {
    char path[512];
    mpct_plan_shape sh;
    double T, B;
    double batch_s, setup_s, bytes_total, bytes_party[3], rounds;
    double wall[PLAN_K_N]; /* op wall time per class (party 0), per batch */
    double slowdown[65]; /* optional "replica_slowdown": {"2": 1.9}; 0 = absent */
    double startup_s;    /* optional "startup_s"; <0 = absent */
    double latency_s;    /* optional "round_latency_s" (measured 8-byte rounds); <0 = absent */
    double peak_rss;     /* largest party peak RSS of the secure passes, bytes; 0 = absent */
    double rss_weights;  /* largest party RSS after weight sharing, bytes; 0 = absent */
} mpct_plan_calib;

/* ---- the cost model (PLAN.md) ---- */
typedef struct mpct_plan_model {
    mpct_plan_shape sh;               /* target */
    const mpct_plan_calib *base;      /* the calibration the per-inference work is scaled from */
    double alpha;                     /* s per round */
    const char *alpha_source;         /* "flag", "fitted", "measured" (round_latency_s) or "default" */
    double latency;                   /* measured s per round of the base calibration; <0 = none */
    double mem_c0;                    /* bytes per party without activations at the target shape: process + 16 P */
    double mem_k;                     /* factor on the largest activation's share bytes (fitted from peak RSS) */
    int mem_ok;                       /* 1: a memory model (the calibrations have peak RSS) */
    double rho;                       /* rounds per block, target */
    double c[PLAN_K_N];               /* per-inference work of class k at the base calibration, s */
    double b0, b1;                    /* bytes per block (all parties) = b0 + B*b1 at the base shape */
    double beta;                      /* weight-sharing throughput, weight elements per s */
    double t0;                        /* startup, s */
    double sigma_cal[65];
    double net_rate, net_one_way;     /* --network: a link of that rate (bit/s) and delay (s); 0 = none */
    double cal_batch[PLAN_MAX_CAL];   /* the batch sizes calibrated at the base's shape and seq, ascending */
    int ncal_batch;
} mpct_plan_model;

typedef struct mpct_plan_prediction {
    int R, B, nodes;
    double sigma, setup_s, infer_s, wall_s, bytes_total, bytes_party_max, setup_bytes, mem_onehot;
    double mem_party, mem_node; /* predicted peak RSS per party and per node (0 = no memory model) */
} mpct_plan_prediction;

/* Where and how the job runs: the placement options and the inputs' token
 * counts (count NULL: each of the n inputs at seq_len tokens). */
typedef struct mpct_plan_setup {
    long cores, maxr;       /* cores per node; the largest R --deadline considers */
    int single_node;        /* --single-node */
    int nodes_flag;         /* --nodes N; 0 = the spread placement */
    double sigma_flag;      /* --slowdown; 0 = calibrated or PLAN.md's formula */
    double node_mem;        /* bytes of a node; 0 = unknown */
    double deadline;        /* s; <= 0 = none */
    const int32_t *count;
    size_t n;
    int seq_len;
} mpct_plan_setup;

/* ---- plan_calib.c ---- */
/* A calibration file: one object, or the array `bench model --batch 1,8
 * --json` prints (one object per batch size, each a calibration, named
 * FILE[i]). Appends to cal[*n] (at most max); 1 on error, with a message. */
int mpct_plan_load_calib(const char *path, mpct_plan_calib *cal, int *n, int max);
/* The model of the target shape for a job of mean padded length T_job from
 * the ncal calibrations (flags < 0: not given); warns on stderr unless quiet. */
void mpct_plan_model_build(mpct_plan_model *m, const mpct_plan_shape *target, double T_job, double seq_len,
                           const mpct_plan_calib *cal, int ncal, double alpha_flag, double startup_flag, int quiet);

/* ---- plan_predict.c ---- */
/* Bytes of the largest activation's shares of a block of B rows at padded length T (one party). */
double mpct_plan_act_bytes(const mpct_plan_shape *s, double B, double T);
/* Weight elements of a model shape. */
double mpct_plan_param_count(const mpct_plan_shape *s);
/* Seconds of one block of B rows with padded length T (one replica, no contention). */
double mpct_plan_block_time(const mpct_plan_model *m, double B, double T);
/* 1 when a calibration measured batch size B at the base's shape and seq. */
int mpct_plan_batch_calibrated(const mpct_plan_model *m, int B);
/* The prediction for R replicas at batch B, or with batch = auto (batch_auto)
 * the fastest of the run's candidates min, 2 min, ..., max that fits the node
 * memory. */
mpct_plan_prediction mpct_plan_row(const mpct_plan_model *m, const mpct_plan_setup *s, int R, int B, int batch_auto,
                                   int batch_min, int batch_max);
/* The recommendation for s->deadline: the smallest R, then the fewest nodes,
 * whose fastest batch predicted x1.25 fits the deadline and the node memory.
 * *have_rec: one found (*rec); *min_party: the smallest per-party peak tried.
 * Returns 1 when some placement fits the memory at all. */
int mpct_plan_recommend(const mpct_plan_model *m, const mpct_plan_setup *s, mpct_plan_prediction *rec, int *have_rec,
                        double *min_party);

#endif
