/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_PERF_COMMON_H
#define MMRT_PERF_COMMON_H

/*
 * Shared scaffolding of the benchmark harnesses: argument parsing, runtime
 * bring-up on the embedded default, TSC timing, sample sets, the result
 * table and the JSON file. Percentiles, table and JSON primitives and the
 * worker-lcore launch come from apps/common (app_common.h).
 *
 * Every harness measures an mmrt operation and an anchor (the thing it is
 * compared with) in the same process run, and reports ratio =
 * value / anchor_value (lower is better) against a target ratio: PASS or
 * MISS. A result without a target (PERF_REPORT_ONLY) is a report: it has
 * no verdict of pass or miss.
 */

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_cycles.h>

#include "app_common.h"

#define PERF_NAME_SIZE 48

/** perf_result.target of a result that is reported, not judged. */
#define PERF_REPORT_ONLY INFINITY

/** Harness command line. */
struct perf_opts {
	bool quick;        /**< --quick: shorter run (under 15 s). */
	const char *json;  /**< --json FILE, or NULL. */
	unsigned int pool_mb; /**< --pool-mb N: frame pool size in MiB;
	                       *   0: the harness's default. */
};

/** A growable array of samples (ns, per unit of work). */
struct perf_samples {
	double *v;
	size_t n;
	size_t cap;
};

/** One measured result, with its anchor. */
struct perf_result {
	char name[PERF_NAME_SIZE];
	const char *unit;          /**< e.g. "ns/lookup". */
	double value;              /**< The mmrt figure. */
	char anchor[PERF_NAME_SIZE];
	double anchor_value;       /**< The anchor's figure, same unit. */
	double target;             /**< Maximum ratio value / anchor_value,
	                            *   or PERF_REPORT_ONLY. */
	struct app_pct pct;        /**< Percentiles of the mmrt samples. */
	struct app_pct anchor_pct; /**< Percentiles of the anchor samples. */
	/**
	 * A point of a scaling curve: the curve's name ("" if the result is
	 * not one) and the point's abscissa @c x in @c x_unit (e.g. 4
	 * "consumers"). The points of a curve share name prefix and unit.
	 */
	char curve[PERF_NAME_SIZE];
	double x;
	const char *x_unit;
};

/**
 * Fill @p r as a curve point of @p curve at @p x (@p x_unit). The name
 * and the rest are the caller's.
 */
void perf_result_point(struct perf_result *r, const char *curve, double x,
	const char *x_unit);

/**
 * Fill @p r (cleared first) from samples: names, @p unit, @p target, the
 * percentiles of @p sm and of @p sa (NULL: none), and as its values the
 * two medians (p50). A caller that judges another figure (a p99, a
 * median of rounds) sets value and anchor_value after.
 */
void perf_result_set(struct perf_result *r, const char *name,
	const char *anchor, const char *unit, double target,
	const struct perf_samples *sm, const struct perf_samples *sa);

/** @return the pool size to use: --pool-mb if given, else @p def. */
unsigned int perf_pool_mb(const struct perf_opts *opts, unsigned int def);

/**
 * Parse "[--quick] [--json FILE] [--pool-mb N]". Parsing stops at "--"
 * (the rest is left to the caller); any other argument prints the usage
 * and exits with 2.
 */
void perf_parse_args(int argc, char **argv, const char *prog,
	struct perf_opts *opts);

/**
 * Bring the runtime up on the embedded default with a pool of @p pool_mb
 * MiB (--pool-mb overrides it) and print the header line (harness, TSC
 * Hz, hugepages). Exits with 1 on failure.
 */
void perf_init(const char *prog, unsigned int pool_mb,
	const struct perf_opts *opts);

/** Most EAL words perf_init_eal() takes. */
#define PERF_EAL_ARGS_MAX 24

/**
 * As perf_init(), with explicit EAL arguments instead of the embedded
 * default: @p eal_args is a NULL-terminated list of at most
 * PERF_EAL_ARGS_MAX EAL words, without the program name (NULL: the
 * embedded default, as perf_init()). The words must outlive the runtime.
 */
void perf_init_eal(const char *prog, unsigned int pool_mb,
	const struct perf_opts *opts, const char *const *eal_args);

/** Tear the runtime down (warns on failure). */
void perf_fini(void);

struct mmrt_as;
struct mmrt_consumer;
struct mmrt_consumer_conf;

/**
 * Create a consumer from @p conf and bind it to @p as. Dies on failure.
 */
struct mmrt_consumer *perf_consumer(struct mmrt_as *as,
	const struct mmrt_consumer_conf *conf);

/*
 * Memory for a kernel anchor: an anonymous private mapping of @len bytes
 * with transparent huge pages off, so the kernel works on 4 KiB pages as
 * mmrt does; with @populate every page is written first
 * (MADV_POPULATE_WRITE, or one store per page where the kernel lacks it).
 * Dies on failure.
 */
void *perf_kernel_map(uint64_t len, bool populate);

/*
 * The kernel anchor of an unmap: munmap() of a populated mapping of @len
 * bytes (perf_kernel_map()), timed. @return ns per 4 KiB page.
 */
double perf_kernel_unmap_ns(uint64_t len);

/*
 * If the EAL has fewer than @n lcores: say that @prog skips and why,
 * perf_fini(), and return true (the harness then exits 0).
 */
bool perf_skip_lcores(const char *prog, unsigned int n);

struct mmrt_mem_stats;

/* mmrt_as_create(), mmrt_as_destroy() and mmrt_mem_stats(); die on failure. */
struct mmrt_as *perf_as_create(const char *name);
void perf_as_destroy(struct mmrt_as *as);
void perf_mem_stats(struct mmrt_mem_stats *st);

/** Print a message and abort: a correctness check failed. */
struct mmrt_as;

/*
 * @p n downgrades of the 4 KiB page at @p va of @p as to read-only, each
 * timed into @p s (NULL: untimed) after an untimed re-arm (writable and
 * present again): with a consumer caching the page, each is one
 * invalidation round trip. Dies on any error.
 */
void perf_downgrades(struct mmrt_as *as, uint64_t va, unsigned int n,
	struct perf_samples *s);

void perf_die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
	noreturn));

/** Timestamp for intervals (serialising rdtsc). */
static inline uint64_t
perf_now(void)
{
	return rte_rdtsc_precise();
}

/** @return nanoseconds of @p cycles TSC cycles. */
double perf_ns(uint64_t cycles);

int perf_samples_init(struct perf_samples *s, size_t cap);
void perf_samples_add(struct perf_samples *s, double v);
void perf_samples_free(struct perf_samples *s);

/** Percentiles (nearest rank) of @p s; @p s is left unsorted. */
void perf_percentiles(const struct perf_samples *s, struct app_pct *out);

/** Print the table header once, then one aligned row per result. */
void perf_print_header(void);
void perf_print_result(const struct perf_result *r);

/**
 * Write @p n results as a JSON array to @p file.
 * @return 0, or -errno (a message is printed).
 */
int perf_write_json(const char *file, const struct perf_result *r,
	unsigned int n, bool quick);

/**
 * Print every result, and write the JSON file if --json was given.
 * @return the exit status for main(): 0, or 1 if the JSON file failed.
 */
int perf_report(const struct perf_opts *opts, const struct perf_result *r,
	unsigned int n);

/** Deterministic pseudo-random numbers (64-bit LCG, Knuth's MMIX). */
static inline uint64_t
perf_lcg(uint64_t *state)
{
	*state = *state * UINT64_C(6364136223846793005) +
		UINT64_C(1442695040888963407);
	return *state >> 17;
}

#endif /* MMRT_PERF_COMMON_H */
