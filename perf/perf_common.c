/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_cycles.h>

#include <mmrt_core.h>
#include <mmrt_mem.h>

#include "perf_common.h"

static double perf_ns_per_cycle;

static void
perf_usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s [--quick] [--json FILE]\n"
		"  --quick      short run (under 15 s)\n"
		"  --json FILE  also write the results as a JSON array to FILE\n",
		prog);
}

void
perf_parse_args(int argc, char **argv, const char *prog,
	struct perf_opts *opts)
{
	int i;

	memset(opts, 0, sizeof(*opts));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--quick") == 0) {
			opts->quick = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0') {
				fprintf(stderr, "%s: --json needs a file\n",
					prog);
				perf_usage(stderr, prog);
				exit(2);
			}
			opts->json = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 ||
				strcmp(argv[i], "-h") == 0) {
			perf_usage(stdout, prog);
			exit(0);
		} else {
			fprintf(stderr, "%s: unknown argument '%s'\n", prog,
				argv[i]);
			perf_usage(stderr, prog);
			exit(2);
		}
	}
}

void
perf_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "FATAL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

/*
 * Fault in the pool's memory once (not timed). On --no-huge EAL memory the
 * frames are anonymous pages the kernel only backs on first touch; with
 * hugepages they are backed up front. Allocate every frame zeroed (huge
 * frames first, so none is split) and give them all back.
 */
static void
perf_pool_prefault(const struct mmrt_mem_stats *st)
{
	uint32_t *pfns, *huge;
	uint64_t n4k = 0, nhuge = 0, used0, i;
	int64_t pfn;
	int ret;

	used0 = mmrt_mem_used();
	pfns = malloc(st->frames_total * sizeof(*pfns));
	huge = malloc((st->huge_total + 1) * sizeof(*huge));
	if (pfns == NULL || huge == NULL)
		perf_die("out of memory for the pool warm-up");
	while (nhuge <= st->huge_total &&
			(pfn = mmrt_huge_alloc(MMRT_ALLOC_ZERO)) >= 0)
		huge[nhuge++] = (uint32_t)pfn;
	while (n4k + MMRT_HUGE_NR <= st->frames_total &&
			mmrt_frame_alloc_bulk(&pfns[n4k], MMRT_HUGE_NR,
				MMRT_ALLOC_ZERO) > 0)
		n4k += MMRT_HUGE_NR;
	while (n4k < st->frames_total &&
			(pfn = mmrt_frame_alloc(MMRT_ALLOC_ZERO)) >= 0)
		pfns[n4k++] = (uint32_t)pfn;
	for (i = 0; i < nhuge; i++)
		if (mmrt_frame_put(huge[i]) != 1)
			perf_die("pool warm-up: huge frame %u not freed",
				huge[i]);
	ret = mmrt_frame_put_bulk(pfns, n4k);
	if (ret < 0 || (uint64_t)ret != n4k)
		perf_die("pool warm-up: freed %d of %" PRIu64 " frames", ret,
			n4k);
	free(pfns);
	free(huge);
	mmrt_mem_cache_flush();
	if (mmrt_mem_used() != used0)
		perf_die("pool warm-up: %" PRIu64 " frames in use, %" PRIu64
			" before", mmrt_mem_used(), used0);
	printf("pool warm-up (no-huge memory): faulted in %" PRIu64
		" huge + %" PRIu64 " 4 KiB frames\n", nhuge, n4k);
}

void
perf_init(const char *prog, unsigned int pool_mb,
	const struct perf_opts *opts)
{
	perf_init_eal(prog, pool_mb, opts, NULL);
}

void
perf_init_eal(const char *prog, unsigned int pool_mb,
	const struct perf_opts *opts, const char *const *eal_args)
{
	struct mmrt_mem_stats st;
	char pool[16];
	char *argv[PERF_EAL_ARGS_MAX + 7];
	uint64_t hz;
	int argc = 0, ret;

	argv[argc++] = (char *)(uintptr_t)prog;
	while (eal_args != NULL && *eal_args != NULL) {
		if (argc > PERF_EAL_ARGS_MAX) {
			fprintf(stderr, "%s: too many EAL arguments\n", prog);
			exit(1);
		}
		argv[argc++] = (char *)(uintptr_t)*eal_args++;
	}
	snprintf(pool, sizeof(pool), "%u", pool_mb);
	argv[argc++] = (char *)(uintptr_t)"--";
	argv[argc++] = (char *)(uintptr_t)"--pool-mb";
	argv[argc++] = pool;
	argv[argc++] = (char *)(uintptr_t)"--log-level";
	argv[argc++] = (char *)(uintptr_t)"4";
	argv[argc] = NULL;
	ret = mmrt_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "%s: mmrt_init failed: %s\n", prog,
			strerror(-ret));
		exit(1);
	}
	hz = rte_get_tsc_hz();
	if (hz == 0) {
		fprintf(stderr, "%s: unknown TSC frequency\n", prog);
		exit(1);
	}
	perf_ns_per_cycle = 1e9 / (double)hz;
	ret = mmrt_mem_stats(&st);
	if (ret < 0) {
		fprintf(stderr, "%s: mmrt_mem_stats failed: %s\n", prog,
			strerror(-ret));
		exit(1);
	}
	printf("%s: tsc_hz=%" PRIu64 " hugepages=%s pool_mb=%u "
		"frames=%" PRIu64 " huge_frames=%" PRIu64 " mode=%s\n",
		prog, hz, st.hugepages ? "yes" : "no", pool_mb,
		st.frames_total, st.huge_total,
		opts->quick ? "quick" : "full");
	if (!st.hugepages)
		perf_pool_prefault(&st);
	fflush(stdout);
}

void
perf_fini(void)
{
	int ret;

	ret = mmrt_fini();
	if (ret < 0)
		fprintf(stderr, "warning: mmrt_fini: %s\n", strerror(-ret));
}

double
perf_ns(uint64_t cycles)
{
	return (double)cycles * perf_ns_per_cycle;
}

int
perf_samples_init(struct perf_samples *s, size_t cap)
{
	if (cap == 0)
		cap = 16;
	s->v = malloc(cap * sizeof(*s->v));
	if (s->v == NULL)
		return -ENOMEM;
	s->n = 0;
	s->cap = cap;
	return 0;
}

void
perf_samples_add(struct perf_samples *s, double v)
{
	double *nv;

	if (s->n == s->cap) {
		nv = realloc(s->v, 2 * s->cap * sizeof(*s->v));
		if (nv == NULL)
			perf_die("out of memory for samples");
		s->v = nv;
		s->cap *= 2;
	}
	s->v[s->n++] = v;
}

void
perf_samples_free(struct perf_samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->cap = 0;
}

static int
perf_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values: the smallest value with at
 * least p of the samples at or below it. */
static double
perf_rank(const double *sorted, size_t n, double p)
{
	double x = p * (double)n;
	size_t k = (size_t)x;

	if ((double)k < x)
		k++;
	if (k == 0)
		k = 1;
	if (k > n)
		k = n;
	return sorted[k - 1];
}

void
perf_percentiles(const struct perf_samples *s, struct perf_pct *out)
{
	double *v;

	memset(out, 0, sizeof(*out));
	if (s->n == 0)
		return;
	v = malloc(s->n * sizeof(*v));
	if (v == NULL)
		perf_die("out of memory for percentiles");
	memcpy(v, s->v, s->n * sizeof(*v));
	qsort(v, s->n, sizeof(*v), perf_cmp_double);
	out->p50 = perf_rank(v, s->n, 0.50);
	out->p99 = perf_rank(v, s->n, 0.99);
	out->p999 = perf_rank(v, s->n, 0.999);
	out->max = v[s->n - 1];
	out->n = s->n;
	free(v);
}

double
perf_median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), perf_cmp_double);
	if (n % 2 == 1)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static double
perf_ratio(const struct perf_result *r)
{
	if (!(r->anchor_value > 0.0))
		return NAN;
	return r->value / r->anchor_value;
}

void
perf_print_header(void)
{
	printf("%-20s %-10s %10s  %-22s %10s %8s %7s %-4s %10s %10s %10s %10s\n",
		"name", "unit", "value", "anchor", "anchor_val", "ratio",
		"target", "", "p50", "p99", "p999", "max");
}

void
perf_print_result(const struct perf_result *r)
{
	double ratio = perf_ratio(r);
	const char *verdict = ratio <= r->target ? "PASS" : "MISS";

	printf("%-20s %-10s %10.2f  %-22s %10.2f %8.3f %7.2f %-4s",
		r->name, r->unit, r->value, r->anchor, r->anchor_value,
		ratio, r->target, verdict);
	if (r->pct.n > 0)
		printf(" %10.2f %10.2f %10.2f %10.2f", r->pct.p50,
			r->pct.p99, r->pct.p999, r->pct.max);
	printf("\n");
	if (r->anchor_pct.n > 0)
		printf("%-20s %-10s %10s  %-22s %10s %8s %7s %-4s"
			" %10.2f %10.2f %10.2f %10.2f\n",
			"", "", "", "  (anchor percentiles)", "", "", "", "",
			r->anchor_pct.p50, r->anchor_pct.p99,
			r->anchor_pct.p999, r->anchor_pct.max);
}

static void
perf_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void
perf_json_num(FILE *f, const char *key, double v)
{
	fprintf(f, ", \"%s\": ", key);
	if (isfinite(v))
		fprintf(f, "%.4f", v);
	else
		fprintf(f, "null");
}

static void
perf_json_pct(FILE *f, const char *prefix, const struct perf_pct *p)
{
	char key[32];

	if (p->n == 0)
		return;
	snprintf(key, sizeof(key), "%sp50", prefix);
	perf_json_num(f, key, p->p50);
	snprintf(key, sizeof(key), "%sp99", prefix);
	perf_json_num(f, key, p->p99);
	snprintf(key, sizeof(key), "%sp999", prefix);
	perf_json_num(f, key, p->p999);
	snprintf(key, sizeof(key), "%smax", prefix);
	perf_json_num(f, key, p->max);
	snprintf(key, sizeof(key), "%ssamples", prefix);
	fprintf(f, ", \"%s\": %zu", key, p->n);
}

int
perf_write_json(const char *file, const struct perf_result *r,
	unsigned int n, bool quick)
{
	unsigned int i;
	FILE *f;
	int ret;

	f = fopen(file, "w");
	if (f == NULL) {
		ret = -errno;
		fprintf(stderr, "cannot write %s: %s\n", file, strerror(errno));
		return ret;
	}
	fprintf(f, "[\n");
	for (i = 0; i < n; i++) {
		fprintf(f, "  {\"name\": ");
		perf_json_str(f, r[i].name);
		fprintf(f, ", \"unit\": ");
		perf_json_str(f, r[i].unit);
		perf_json_num(f, "value", r[i].value);
		fprintf(f, ", \"anchor\": ");
		perf_json_str(f, r[i].anchor);
		perf_json_num(f, "anchor_value", r[i].anchor_value);
		perf_json_num(f, "ratio", perf_ratio(&r[i]));
		perf_json_num(f, "target", r[i].target);
		fprintf(f, ", \"pass\": %s",
			perf_ratio(&r[i]) <= r[i].target ? "true" : "false");
		perf_json_pct(f, "", &r[i].pct);
		perf_json_pct(f, "anchor_", &r[i].anchor_pct);
		fprintf(f, ", \"quick\": %s}%s\n", quick ? "true" : "false",
			i + 1 < n ? "," : "");
	}
	fprintf(f, "]\n");
	if (ferror(f) != 0) {
		fclose(f);
		fprintf(stderr, "error writing %s\n", file);
		return -EIO;
	}
	if (fclose(f) != 0) {
		ret = -errno;
		fprintf(stderr, "error closing %s: %s\n", file,
			strerror(errno));
		return ret;
	}
	return 0;
}

int
perf_report(const struct perf_opts *opts, const struct perf_result *r,
	unsigned int n)
{
	unsigned int i;

	printf("\n");
	perf_print_header();
	for (i = 0; i < n; i++)
		perf_print_result(&r[i]);
	fflush(stdout);
	if (opts->json != NULL) {
		if (perf_write_json(opts->json, r, n, opts->quick) < 0)
			return 1;
		printf("results written to %s\n", opts->json);
	}
	return 0;
}

void *
perf_kernel_map(uint64_t len, bool populate)
{
	static bool populate_ok = true;
	volatile uint8_t *m;
	uint64_t off;
	void *addr;

	addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr == MAP_FAILED)
		perf_die("mmap(%" PRIu64 " KiB): %s", len >> 10,
			strerror(errno));
	if (madvise(addr, len, MADV_NOHUGEPAGE) != 0)
		perf_die("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	if (!populate)
		return addr;
	if (populate_ok && madvise(addr, len, MADV_POPULATE_WRITE) != 0) {
		printf("  MADV_POPULATE_WRITE: %s; touching pages instead\n",
			strerror(errno));
		populate_ok = false;
	}
	if (!populate_ok) {
		m = addr;
		for (off = 0; off < len; off += 4096)
			m[off] = 1;
	}
	return addr;
}
