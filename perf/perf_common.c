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
#include <dirent.h>
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>

#include <rte_errno.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#include "perf_common.h"

static double perf_ns_per_cycle;

static void
perf_usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s [--quick] [--json FILE] [--pool-mb N]\n"
		"  --quick      short run (under 15 s)\n"
		"  --json FILE  also write the results as a JSON array to "
		"FILE\n"
		"  --pool-mb N  frame pool of N MiB instead of the harness's "
		"default\n", prog);
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
		} else if (strcmp(argv[i], "--pool-mb") == 0) {
			char *end = NULL;
			unsigned long v = 0;

			if (i + 1 < argc) {
				errno = 0;
				v = strtoul(argv[i + 1], &end, 10);
			}
			if (i + 1 >= argc || end == argv[i + 1] ||
					*end != '\0' || errno != 0 || v == 0 ||
					v > 1024 * 1024) {
				fprintf(stderr, "%s: --pool-mb needs a size in "
					"MiB (1..1048576)\n", prog);
				perf_usage(stderr, prog);
				exit(2);
			}
			opts->pool_mb = (unsigned int)v;
			i++;
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

/*
 * The EAL's runtime directory of a harness that chose its own
 * --file-prefix: DPDK leaves it behind, so perf_fini() removes it (mmrt
 * removes only the embedded default's).
 */
static char perf_rundir[PATH_MAX];

static void
perf_rundir_remove(void)
{
	char path[PATH_MAX + 260];
	struct dirent *e;
	DIR *d;

	if (perf_rundir[0] == '\0')
		return;
	d = opendir(perf_rundir);
	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_type == DT_DIR)
				continue;
			snprintf(path, sizeof(path), "%s/%s", perf_rundir,
				e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(perf_rundir);
	perf_rundir[0] = '\0';
}

void
perf_init_eal(const char *prog, unsigned int pool_mb,
	const struct perf_opts *opts, const char *const *eal_args)
{
	struct mmrt_mem_stats st;
	char pool[16];
	char *argv[PERF_EAL_ARGS_MAX + 7];
	uint64_t hz;
	bool own_prefix = false;
	int argc = 0, ret;

	pool_mb = perf_pool_mb(opts, pool_mb);
	argv[argc++] = (char *)(uintptr_t)prog;
	while (eal_args != NULL && *eal_args != NULL) {
		if (argc > PERF_EAL_ARGS_MAX) {
			fprintf(stderr, "%s: too many EAL arguments\n", prog);
			exit(1);
		}
		if (strncmp(*eal_args, "--file-prefix", 13) == 0)
			own_prefix = true;
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
	if (own_prefix)
		snprintf(perf_rundir, sizeof(perf_rundir), "%s",
			rte_eal_get_runtime_dir());
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
	perf_rundir_remove();
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

void
perf_percentiles(const struct perf_samples *s, struct app_pct *out)
{
	double *v;

	memset(out, 0, sizeof(*out));
	if (s->n == 0)
		return;
	v = malloc(s->n * sizeof(*v));
	if (v == NULL)
		perf_die("out of memory for percentiles");
	memcpy(v, s->v, s->n * sizeof(*v));
	app_pct(v, s->n, out);
	free(v);
}

static double
perf_ratio(const struct perf_result *r)
{
	if (!(r->anchor_value > 0.0))
		return NAN;
	return r->value / r->anchor_value;
}

/* A result is judged against its target, or only reported. */
enum perf_verdict {
	PERF_PASS,
	PERF_MISS,
	PERF_REPORT,
};

static enum perf_verdict
perf_verdict(const struct perf_result *r)
{
	if (!isfinite(r->target))
		return PERF_REPORT;
	/* a ratio without an anchor (NAN) misses */
	return perf_ratio(r) <= r->target ? PERF_PASS : PERF_MISS;
}

static const char * const perf_verdict_table[] = {
	[PERF_PASS] = "PASS", [PERF_MISS] = "MISS", [PERF_REPORT] = "report",
};

static const char * const perf_verdict_json[] = {
	[PERF_PASS] = "pass", [PERF_MISS] = "miss", [PERF_REPORT] = "report",
};

/* The result table's columns. */
enum {
	COL_NAME, COL_UNIT, COL_VALUE, COL_ANCHOR, COL_ANCHOR_VAL, COL_RATIO,
	COL_TARGET, COL_VERDICT, COL_P50, COL_P99, COL_P999, COL_MAX, COL_NUM
};

static const struct app_col perf_cols[COL_NUM] = {
	[COL_NAME] = { "name", -20, 0, 0 },
	[COL_UNIT] = { "unit", -10, 0, 1 },
	[COL_VALUE] = { "value", 10, 2, 1 },
	[COL_ANCHOR] = { "anchor", -22, 0, 2 },
	[COL_ANCHOR_VAL] = { "anchor_val", 10, 2, 1 },
	[COL_RATIO] = { "ratio", 8, 3, 1 },
	[COL_TARGET] = { "target", 7, 2, 1 },
	[COL_VERDICT] = { "", -6, 0, 1 },
	[COL_P50] = { "p50", 10, 2, 1 },
	[COL_P99] = { "p99", 10, 2, 1 },
	[COL_P999] = { "p999", 10, 2, 1 },
	[COL_MAX] = { "max", 10, 2, 1 },
};

/* The percentile cells of a row. */
static void
perf_print_pct(const struct app_pct *p)
{
	app_table_num(stdout, &perf_cols[COL_P50], p->p50);
	app_table_num(stdout, &perf_cols[COL_P99], p->p99);
	app_table_num(stdout, &perf_cols[COL_P999], p->p999);
	app_table_num(stdout, &perf_cols[COL_MAX], p->max);
}

void
perf_print_header(void)
{
	app_table_header(stdout, perf_cols, COL_NUM);
}

void
perf_print_result(const struct perf_result *r)
{
	enum perf_verdict v = perf_verdict(r);
	unsigned int c;

	app_table_str(stdout, &perf_cols[COL_NAME], r->name);
	app_table_str(stdout, &perf_cols[COL_UNIT], r->unit);
	app_table_num(stdout, &perf_cols[COL_VALUE], r->value);
	app_table_str(stdout, &perf_cols[COL_ANCHOR], r->anchor);
	app_table_num(stdout, &perf_cols[COL_ANCHOR_VAL], r->anchor_value);
	app_table_num(stdout, &perf_cols[COL_RATIO], perf_ratio(r));
	if (v == PERF_REPORT)
		app_table_str(stdout, &perf_cols[COL_TARGET], "-");
	else
		app_table_num(stdout, &perf_cols[COL_TARGET], r->target);
	app_table_str(stdout, &perf_cols[COL_VERDICT], perf_verdict_table[v]);
	if (r->pct.n > 0)
		perf_print_pct(&r->pct);
	app_table_end(stdout);
	if (r->anchor_pct.n == 0)
		return;
	/* the anchor's percentiles, on a line of their own */
	for (c = COL_NAME; c < COL_P50; c++)
		app_table_str(stdout, &perf_cols[c],
			c == COL_ANCHOR ? "  (anchor percentiles)" : "");
	perf_print_pct(&r->anchor_pct);
	app_table_end(stdout);
}

/* The percentile members of a result, with their key prefix. */
static void
perf_json_pct(struct app_json_obj *o, const char *prefix,
	const struct app_pct *p)
{
	static const char * const names[] = { "p50", "p99", "p999", "max" };
	const double v[] = { p->p50, p->p99, p->p999, p->max };
	char key[32];
	unsigned int i;

	if (p->n == 0)
		return;
	for (i = 0; i < RTE_DIM(names); i++) {
		snprintf(key, sizeof(key), "%s%s", prefix, names[i]);
		app_json_obj_num(o, key, v[i]);
	}
	snprintf(key, sizeof(key), "%ssamples", prefix);
	app_json_obj_u64(o, key, p->n);
	/* the sketch: quantiles at the levels of "sketch_levels" */
	snprintf(key, sizeof(key), "%ssketch", prefix);
	app_json_obj_nums(o, key, p->q, APP_PCT_Q);
}

void
perf_result_point(struct perf_result *r, const char *curve, double x,
	const char *x_unit)
{
	snprintf(r->curve, sizeof(r->curve), "%s", curve);
	r->x = x;
	r->x_unit = x_unit;
}

void
perf_result_set(struct perf_result *r, const char *name, const char *anchor,
	const char *unit, double target, const struct perf_samples *sm,
	const struct perf_samples *sa)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->anchor, sizeof(r->anchor), "%s", anchor);
	r->unit = unit;
	r->target = target;
	perf_percentiles(sm, &r->pct);
	if (sa != NULL)
		perf_percentiles(sa, &r->anchor_pct);
	r->value = r->pct.p50;
	r->anchor_value = r->anchor_pct.p50;
}

unsigned int
perf_pool_mb(const struct perf_opts *opts, unsigned int def)
{
	return opts->pool_mb != 0 ? opts->pool_mb : def;
}

int
perf_write_json(const char *file, const struct perf_result *r,
	unsigned int n, bool quick)
{
	struct app_json_obj o;
	enum perf_verdict v;
	unsigned int i;
	FILE *f;

	f = app_json_open(file);
	if (f == NULL)
		return -errno;
	fprintf(f, "[\n");
	for (i = 0; i < n; i++) {
		fprintf(f, "  ");
		app_json_obj_begin(&o, f);
		app_json_obj_str(&o, "name", r[i].name);
		app_json_obj_str(&o, "unit", r[i].unit);
		app_json_obj_num(&o, "value", r[i].value);
		app_json_obj_str(&o, "anchor", r[i].anchor);
		app_json_obj_num(&o, "anchor_value", r[i].anchor_value);
		app_json_obj_num(&o, "ratio", perf_ratio(&r[i]));
		/* a report has no target and no pass: both null */
		v = perf_verdict(&r[i]);
		app_json_obj_num(&o, "target", r[i].target);
		app_json_obj_str(&o, "verdict", perf_verdict_json[v]);
		if (v == PERF_REPORT)
			app_json_obj_null(&o, "pass");
		else
			app_json_obj_bool(&o, "pass", v == PERF_PASS);
		perf_json_pct(&o, "", &r[i].pct);
		perf_json_pct(&o, "anchor_", &r[i].anchor_pct);
		if (r[i].pct.n > 0 || r[i].anchor_pct.n > 0)
			app_json_obj_nums(&o, "sketch_levels",
				app_pct_levels, APP_PCT_Q);
		if (r[i].curve[0] != '\0') {
			app_json_obj_str(&o, "curve", r[i].curve);
			app_json_obj_num(&o, "x", r[i].x);
			app_json_obj_str(&o, "x_unit", r[i].x_unit != NULL ?
				r[i].x_unit : "");
		}
		app_json_obj_bool(&o, "quick", quick);
		app_json_obj_end(&o);
		fprintf(f, "%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "]\n");
	return app_json_close(f, file);
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

struct mmrt_consumer *
perf_consumer(struct mmrt_as *as, const struct mmrt_consumer_conf *conf)
{
	struct mmrt_consumer *c;
	int ret;

	c = mmrt_consumer_create(conf);
	if (c == NULL)
		perf_die("mmrt_consumer_create(%s): %s", conf->name,
			strerror(rte_errno));
	ret = mmrt_consumer_bind(c, as);
	if (ret < 0)
		perf_die("mmrt_consumer_bind(%s): %s", conf->name,
			strerror(-ret));
	return c;
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

double
perf_kernel_unmap_ns(uint64_t len)
{
	uint64_t t0, t1;
	void *addr;

	addr = perf_kernel_map(len, true);
	t0 = perf_now();
	if (munmap(addr, len) != 0)
		perf_die("munmap: %s", strerror(errno));
	t1 = perf_now();
	return perf_ns(t1 - t0) / (double)(len / MMRT_PAGE_SIZE);
}

bool
perf_skip_lcores(const char *prog, unsigned int n)
{
	if (rte_lcore_count() >= n)
		return false;
	printf("%s: skipped: needs %u lcores, the EAL has %u\n", prog, n,
		rte_lcore_count());
	perf_fini();
	return true;
}

struct mmrt_as *
perf_as_create(const char *name)
{
	struct mmrt_as *as = mmrt_as_create(name);

	if (as == NULL)
		perf_die("mmrt_as_create(%s): %s", name, strerror(rte_errno));
	return as;
}

void
perf_as_destroy(struct mmrt_as *as)
{
	int ret = mmrt_as_destroy(as);

	if (ret < 0)
		perf_die("mmrt_as_destroy: %s", strerror(-ret));
}

void
perf_mem_stats(struct mmrt_mem_stats *st)
{
	int ret = mmrt_mem_stats(st);

	if (ret < 0)
		perf_die("mmrt_mem_stats: %s", strerror(-ret));
}

void
perf_downgrades(struct mmrt_as *as, uint64_t va, unsigned int n,
	struct perf_samples *s)
{
	uint64_t t0, t1;
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = mmrt_protect(as, va, MMRT_PAGE_SIZE,
			MMRT_PROT_READ | MMRT_PROT_WRITE);
		if (ret == 0)
			ret = mmrt_fault(as, va, MMRT_ACCESS_WRITE);
		if (ret < 0)
			perf_die("re-arm: %s", strerror(-ret));
		t0 = perf_now();
		ret = mmrt_protect(as, va, MMRT_PAGE_SIZE, MMRT_PROT_READ);
		t1 = perf_now();
		if (ret < 0)
			perf_die("mmrt_protect(READ): %s", strerror(-ret));
		if (s != NULL)
			perf_samples_add(s, perf_ns(t1 - t0));
	}
}
