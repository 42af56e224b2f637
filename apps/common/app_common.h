/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_APP_COMMON_H
#define MMRT_APP_COMMON_H

/*
 * Helpers shared by the programs in apps/ and the harnesses in perf/,
 * built as one static library (apps/common/meson.build): percentiles of
 * sample sets, aligned tables, a JSON writer, and worker-lcore launch with
 * the happens-before edge ThreadSanitizer cannot see through the EAL.
 * Not part of mmrt's API; none of it is thread-safe unless said.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_launch.h>

/* ---- Percentiles ---- */

/** Quantiles in a sketch (app_pct.q): see app_pct_levels. */
#define APP_PCT_Q 54

/**
 * The probability levels of a sketch, ascending: 0 (the minimum), 0.02
 * to 0.98 in steps of 0.02, 0.99, 0.995, 0.999 and 1 (the maximum).
 */
extern const double app_pct_levels[APP_PCT_Q];

/** Percentiles of a sample set, in the samples' unit. */
struct app_pct {
	double p50;
	double p99;
	double p999;
	double max;
	size_t n;          /**< Samples; 0 if none (the others are then 0). */
	/**
	 * A compact sketch of the distribution: q[i] is the nearest-rank
	 * quantile at app_pct_levels[i] (enough to draw a CDF).
	 */
	double q[APP_PCT_Q];
};

/**
 * Sort @p n values in place and fill @p out with their nearest-rank
 * percentiles (the smallest value with at least that fraction of the
 * samples at or below it) and sketch; all zero if @p n is 0.
 */
void app_pct(double *v, size_t n, struct app_pct *out);

/** Median of @p n values (sorted in place): NAN if @p n is 0. */
double app_median(double *v, size_t n);

/* ---- Tables ---- */

/**
 * One column of an aligned text table. A cell prints @c gap spaces, then
 * the value in a printf field of @c width characters (negative: left
 * aligned); numbers get @c prec digits after the point.
 */
struct app_col {
	const char *title;
	int width;
	int prec;
	unsigned int gap;  /**< Spaces before the cell; 0 for the first. */
};

/** Print the titles of @p n columns, then a newline. */
void app_table_header(FILE *f, const struct app_col *cols, unsigned int n);

/** Print one text cell of column @p c (a row ends with app_table_end()). */
void app_table_str(FILE *f, const struct app_col *c, const char *s);

/** Print one number cell of column @p c with its precision. */
void app_table_num(FILE *f, const struct app_col *c, double v);

/** Print one integer cell of column @p c. */
void app_table_u64(FILE *f, const struct app_col *c, uint64_t v);

/** End the row. */
void app_table_end(FILE *f);

/* ---- JSON ---- */

/**
 * Open @p path for writing JSON. @return the stream, or NULL after a
 * message on stderr (errno set).
 */
FILE *app_json_open(const char *path);

/**
 * Flush and close a stream from app_json_open().
 * @return 0, or -errno after a message on stderr.
 */
int app_json_close(FILE *f, const char *path);

/** Write @p s as a JSON string (quoted, escaped). */
void app_json_str(FILE *f, const char *s);

/**
 * A JSON object written member by member on one line. Members are
 * separated by ", "; a key is written as given (keys are literals).
 */
struct app_json_obj {
	FILE *f;
	unsigned int members;
};

/** Write "{". */
void app_json_obj_begin(struct app_json_obj *o, FILE *f);
/** A string member. */
void app_json_obj_str(struct app_json_obj *o, const char *key,
	const char *s);
/** A number member with 4 decimals; null if @p v is not finite. */
void app_json_obj_num(struct app_json_obj *o, const char *key, double v);
/** An unsigned integer member. */
void app_json_obj_u64(struct app_json_obj *o, const char *key, uint64_t v);
/** A boolean member. */
void app_json_obj_bool(struct app_json_obj *o, const char *key, bool v);
/** An array member of @p n numbers (4 decimals; null if not finite). */
void app_json_obj_nums(struct app_json_obj *o, const char *key,
	const double *v, size_t n);
/** A null member. */
void app_json_obj_null(struct app_json_obj *o, const char *key);
/** Write "}". */
void app_json_obj_end(struct app_json_obj *o);

/* ---- Worker lcores ---- */

/**
 * rte_eal_remote_launch() of @p f(@p arg) on worker @p lcore, with the
 * happens-before edge TSan cannot see through the EAL: @p f's last step
 * releases a token that app_worker_wait() acquires (MMRT_TSAN_RELEASE
 * and MMRT_TSAN_ACQUIRE, mmrt_core.h; no-ops outside TSan builds). Only
 * the main lcore launches and waits. @return as rte_eal_remote_launch().
 */
int app_worker_launch(lcore_function_t *f, void *arg, unsigned int lcore);

/**
 * rte_eal_wait_lcore(@p lcore), then everything the worker's function did
 * happens before the return. @return the function's return value, as
 * rte_eal_wait_lcore().
 */
int app_worker_wait(unsigned int lcore);

#endif /* MMRT_APP_COMMON_H */
