/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_TESTS_COMMON_H
#define MMRT_TESTS_COMMON_H

/*
 * Shared test scaffolding: one EAL per test process (Criterion forks per
 * test), brought up on the embedded default (--no-huge, unique prefix).
 */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_log.h>
#include <rte_pause.h>

#include <mmrt_core.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#include "dpdk_common.h"

/*
 * Shorthands every suite uses: page sizes, protections, and three 1 GiB
 * aligned bases, each in its own level-3 entry (a suite that needs more
 * bases, or another layout, defines its own names).
 */
#define PG MMRT_PAGE_SIZE
#define HPG MMRT_HUGE_SIZE
#define RW (MMRT_PROT_READ | MMRT_PROT_WRITE)
#define RO MMRT_PROT_READ
#define VA (UINT64_C(1) << 30)
#define VB (UINT64_C(2) << 30)
#define VC (UINT64_C(3) << 30)

/* @p len bytes of host memory aligned to @p align (free()); asserts. */
static inline void *
xalign(size_t align, size_t len)
{
	void *p = aligned_alloc(align, len);

	cr_assert_not_null(p);
	return p;
}

/*
 * An EAL --lcores value for @p n lcores (0 .. n-1), each free to run on
 * either of the first two cpus this process may use (one if it has one).
 *
 * Tests do not pin a thread to one cpu: on a shared or overcommitted
 * machine (a VM whose host is busy) a thread pinned to one vCPU was seen
 * not to run for 15 to 37 s while that vCPU ran others, though runnable
 * (docs/guide.md, "Pinned lcores on a shared machine"); a test whose
 * threads wait for one another then stalls past its bound. Floating
 * lcores let the scheduler run each where it can. Production deployments
 * pin (usertools/).
 */
static inline const char *
mmrt_test_lcores(char *buf, size_t len, unsigned int n)
{
	char set[32];
	int cpu[2], c, k = 0;
	unsigned int i;
	size_t o = 0;
	cpu_set_t cs;

	CPU_ZERO(&cs);
	if (sched_getaffinity(0, sizeof(cs), &cs) != 0)
		CPU_SET(0, &cs);
	for (c = 0; c < CPU_SETSIZE && k < 2; c++)
		if (CPU_ISSET(c, &cs))
			cpu[k++] = c;
	if (k == 0)
		cpu[k++] = 0;
	if (k == 2)
		snprintf(set, sizeof(set), "(%d,%d)", cpu[0], cpu[1]);
	else
		snprintf(set, sizeof(set), "(%d)", cpu[0]);
	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%u@%s",
			i > 0 ? "," : "", i, set);
	return buf;
}

/*
 * Bring the runtime up on the embedded default; pool of @p pool_mb MiB.
 * Its lcores float (mmrt_test_lcores()) unless @p pinned: the race
 * suites pin lcore 0 and 1 to two cpus (the embedded default's own
 * placement) so that their threads really run at once, and bound every
 * wait of theirs.
 */
static inline void
mmrt_test_up_placed(unsigned int pool_mb, bool pinned)
{
	char pool[32], lcores[96];
	char *argv[] = { (char *)"mmrt-test", (char *)"--lcores", lcores,
		(char *)"--", (char *)"--pool-mb", pool, (char *)"--log-level",
		(char *)"4", NULL };
	char **a = argv;
	int n = (int)RTE_DIM(argv) - 1;

	mmrt_test_lcores(lcores, sizeof(lcores), 2);
	snprintf(pool, sizeof(pool), "%u", pool_mb);
	if (pinned) {
		/* no --lcores: the embedded default's pinned lcores */
		argv[2] = argv[0];
		a = argv + 2;
		n -= 2;
	}
	cr_assert_geq(mmrt_init(n, a), 0, "mmrt_init failed");
}

/*
 * mmrt_test_up(): floating lcores, unless the suite defines
 * MMRT_TEST_PINNED_LCORES before this header (test-swdma: its park checks
 * need the engine's lcore running on a cpu of its own).
 */
#ifdef MMRT_TEST_PINNED_LCORES
#define MMRT_TEST_PINNED true
#else
#define MMRT_TEST_PINNED false
#endif

static inline void
mmrt_test_up(unsigned int pool_mb)
{
	mmrt_test_up_placed(pool_mb, MMRT_TEST_PINNED);
}

static inline void
mmrt_test_up_ini(unsigned int pool_mb, unsigned int log_level,
	const char *ini)
{
	char path[] = "/tmp/mmrt-test-ini-XXXXXX", pool[32], level[16];
	char lcores[96];
	char *argv[] = { (char *)"mmrt-test", (char *)"--lcores", lcores,
		(char *)"--", (char *)"--pool-mb", pool, (char *)"--log-level",
		level, (char *)"--config", path, NULL };
	size_t len = strlen(ini);
	int fd, ret;

	mmrt_test_lcores(lcores, sizeof(lcores), 2);
	snprintf(pool, sizeof(pool), "%u", pool_mb);
	snprintf(level, sizeof(level), "%u", log_level);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, ini, len), (ssize_t)len);
	close(fd);
	ret = mmrt_init((int)RTE_DIM(argv) - 1, argv);
	unlink(path);
	cr_assert_geq(ret, 0, "mmrt_init with [%s]: %d", ini, ret);
}

static inline void
mmrt_test_down(void)
{
	mmrt_fini();
}

/*
 * EAL runtime directories of the prefixes this process made up: a DPDK
 * process leaves /var/run/dpdk/<prefix>/ behind (rte_eal_cleanup() does
 * not remove it), so tests that bring up their own EAL name their prefix
 * with mmrt_test_prefix() and the directory goes when the process exits
 * (not when a child forked from it does). The embedded default's
 * directory is mmrt's own business (mmrt_fini() or exit).
 */
#define MMRT_TEST_MAX_RUNDIRS 8
static char mmrt_test_rundirs[MMRT_TEST_MAX_RUNDIRS][128];
static unsigned int mmrt_test_nrundirs;
static pid_t mmrt_test_rundir_pid;

static inline void
mmrt_test_rundirs_remove(void)
{
	unsigned int i;

	if (getpid() != mmrt_test_rundir_pid)
		return;
	for (i = 0; i < mmrt_test_nrundirs; i++) {
		const char *dir = mmrt_test_rundirs[i];
		char path[512];
		struct dirent *e;
		DIR *d = opendir(dir);

		if (d == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			if (e->d_type == DT_DIR)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
		rmdir(dir);
	}
}

/*
 * Write "--file-prefix=<tag>-<pid>" into @p buf and remove that prefix's
 * runtime directory when this process exits. @return @p buf.
 */
static inline char *
mmrt_test_prefix(char *buf, size_t len, const char *tag)
{
	const char *base = getuid() == 0 ? "/var/run" :
		getenv("XDG_RUNTIME_DIR") != NULL ?
		getenv("XDG_RUNTIME_DIR") : "/tmp";
	int pid = (int)getpid();
	unsigned int i;

	snprintf(buf, len, "--file-prefix=%s-%d", tag, pid);
	if (mmrt_test_rundir_pid != pid) {
		/* First prefix of this process (or of a forked child). */
		if (mmrt_test_rundir_pid == 0)
			atexit(mmrt_test_rundirs_remove);
		mmrt_test_rundir_pid = pid;
		mmrt_test_nrundirs = 0;
	}
	for (i = 0; i < mmrt_test_nrundirs; i++)
		if (strcmp(strrchr(mmrt_test_rundirs[i], '/') + 1,
		    buf + strlen("--file-prefix=")) == 0)
			return buf;
	if (mmrt_test_nrundirs < MMRT_TEST_MAX_RUNDIRS)
		snprintf(mmrt_test_rundirs[mmrt_test_nrundirs++],
			sizeof(mmrt_test_rundirs[0]), "%s/dpdk/%s", base,
			buf + strlen("--file-prefix="));
	return buf;
}

/*
 * An EAL command line built word by word, for the tests that bring up
 * their own EAL (a prefix of their own, --vdev words): start it with
 * mmrt_test_argv_start(), add the isolation words with
 * mmrt_test_argv_eal(), then any word with mmrt_test_argv_add() or
 * mmrt_test_argv_addf(); argc/argv are ready for rte_eal_init() or
 * mmrt_init() after each call (argv[argc] is NULL). The words live in the
 * struct: keep it alive (static) while the EAL may look at them.
 */
#define MMRT_TEST_ARGV_MAX 32
#define MMRT_TEST_ARGV_WORDS 6

struct mmrt_test_argv {
	int argc;
	char *argv[MMRT_TEST_ARGV_MAX + 1];
	char lcores[96];
	char prefix[64];
	char word[MMRT_TEST_ARGV_WORDS][256];
	unsigned int nword;
};

/* Add @p w (not copied) to @p a. */
static inline void
mmrt_test_argv_add(struct mmrt_test_argv *a, const char *w)
{
	cr_assert_lt(a->argc, MMRT_TEST_ARGV_MAX, "argv full at %s", w);
	a->argv[a->argc++] = (char *)(uintptr_t)w;
	a->argv[a->argc] = NULL;
}

/* Add a word formatted from @p fmt, kept in @p a. */
static inline void __rte_format_printf(2, 3)
mmrt_test_argv_addf(struct mmrt_test_argv *a, const char *fmt, ...)
{
	va_list ap;
	char *w;

	cr_assert_lt(a->nword, MMRT_TEST_ARGV_WORDS, "argv words full");
	w = a->word[a->nword++];
	va_start(ap, fmt);
	vsnprintf(w, sizeof(a->word[0]), fmt, ap);
	va_end(ap);
	mmrt_test_argv_add(a, w);
}

/*
 * Start @p a afresh: program name @p prog and --lcores for @p nlcores
 * floating lcores (mmrt_test_lcores()).
 */
static inline void
mmrt_test_argv_start(struct mmrt_test_argv *a, const char *prog,
	unsigned int nlcores)
{
	memset(a, 0, sizeof(*a));
	mmrt_test_argv_add(a, prog);
	mmrt_test_argv_add(a, "--lcores");
	mmrt_test_argv_add(a, mmrt_test_lcores(a->lcores, sizeof(a->lcores),
		nlcores));
}

/*
 * The words that keep a test's EAL to itself: --no-huge, -m @p mem_mb,
 * --no-pci, --no-shconf (unless @p shconf), --no-telemetry, a prefix
 * of its own from @p tag (mmrt_test_prefix()) and --log-level=@p level.
 */
static inline void
mmrt_test_argv_eal(struct mmrt_test_argv *a, const char *tag,
	unsigned int mem_mb, bool shconf, const char *level)
{
	char prefix[sizeof(a->prefix)];

	/* (a buffer of its own size: gcc sizes the format checks by it) */
	memcpy(a->prefix, mmrt_test_prefix(prefix, sizeof(prefix), tag),
		sizeof(prefix));
	mmrt_test_argv_add(a, "--no-huge");
	mmrt_test_argv_add(a, "-m");
	mmrt_test_argv_addf(a, "%u", mem_mb);
	mmrt_test_argv_add(a, "--no-pci");
	if (!shconf)
		mmrt_test_argv_add(a, "--no-shconf");
	mmrt_test_argv_add(a, "--no-telemetry");
	mmrt_test_argv_add(a, a->prefix);
	mmrt_test_argv_addf(a, "--log-level=%s", level);
}

/*
 * Define the usual suite fixtures: setup(), bringing the runtime up with
 * a pool of @p pool_mb MiB, and teardown(), taking it down.
 */
#define MMRT_TEST_FIXTURES(pool_mb)					\
static void								\
setup(void)								\
{									\
	mmrt_test_up(pool_mb);						\
}									\
									\
static void								\
teardown(void)								\
{									\
	mmrt_test_down();						\
}									\
struct mmrt_test_fixtures_semicolon

/*
 * One step of a bounded spin in a test thread: pause, and every
 * (@yield_mask + 1) steps give the CPU away, so that threads sharing one
 * core still make progress.
 */
static inline void
mmrt_test_relax(unsigned long i, unsigned long yield_mask)
{
	rte_pause();
	if ((i & yield_mask) == yield_mask)
		rte_delay_us_sleep(1); /* not a yield: lib/core/core_wait.h */
}

/* Next value of the xorshift64 generator whose state is *@p s (not 0). */
static inline uint64_t
mmrt_test_xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Free 2 MiB hugepages of the system, or -1 if it cannot be read. */
static inline long
mmrt_test_free_hugepages(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/"
		"free_hugepages", "r");
	long n = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/* Whether a hugetlbfs is mounted. */
static inline bool
mmrt_test_hugetlbfs_mounted(void)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[512];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, " hugetlbfs ") != NULL;
	fclose(f);
	return found;
}

/* Send rte_log output to a temporary file, which the test reads back. */
static inline FILE *
mmrt_test_log_capture(void)
{
	FILE *f = tmpfile();

	cr_assert_not_null(f, "tmpfile failed");
	cr_assert_eq(rte_openlog_stream(f), 0);
	return f;
}

/* The timer value @s seconds from now: a bound for a wait. */
static inline uint64_t
mmrt_test_deadline(unsigned int s)
{
	return rte_get_timer_cycles() + (uint64_t)s * rte_get_timer_hz();
}

/*
 * Where every thread of this process is, from /proc/self/task: name,
 * state, the cpu it last ran on, its cpu time and context switches, and
 * the kernel function it sleeps in. For a test that found an operation
 * stalled: tells a thread that never ran from one that waits.
 */
static inline void
mmrt_test_dump_threads(FILE *out)
{
	char path[300], line[512], comm[64], wchan[64], allowed[64];
	struct dirent *e;
	DIR *d = opendir("/proc/self/task");
	FILE *f;

	if (d == NULL)
		return;
	fprintf(out, "threads (tid comm state cpu utime stime vcsw ivcsw "
		"wchan):\n");
	while ((e = readdir(d)) != NULL) {
		unsigned long ut = 0, st = 0, vcs = 0, ivcs = 0;
		int cpu = -1;
		char state = '?';
		char *p;

		if (e->d_name[0] == '.')
			continue;
		comm[0] = wchan[0] = allowed[0] = '\0';
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat",
			e->d_name);
		f = fopen(path, "r");
		if (f != NULL && fgets(line, sizeof(line), f) != NULL &&
				(p = strrchr(line, ')')) != NULL) {
			char *q = strchr(line, '(');

			if (q != NULL)
				snprintf(comm, sizeof(comm), "%.*s",
					(int)(p - q - 1), q + 1);
			/* fields 3.. after the comm: state is 3, utime 14,
			 * stime 15, processor 39 */
			if (sscanf(p + 2, "%c %*s %*s %*s %*s %*s %*s %*s %*s"
					" %*s %*s %lu %lu %*s %*s %*s %*s %*s"
					" %*s %*s %*s %*s %*s %*s %*s %*s %*s"
					" %*s %*s %*s %*s %*s %*s %*s %*s %*s %d",
					&state, &ut, &st, &cpu) < 4)
				cpu = -1;
		}
		if (f != NULL)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/self/task/%s/status",
			e->d_name);
		f = fopen(path, "r");
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			sscanf(line, "voluntary_ctxt_switches: %lu", &vcs);
			sscanf(line, "nonvoluntary_ctxt_switches: %lu", &ivcs);
			sscanf(line, "Cpus_allowed_list: %63s", allowed);
		}
		if (f != NULL)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/self/task/%s/wchan",
			e->d_name);
		f = fopen(path, "r");
		if (f != NULL && fgets(wchan, sizeof(wchan), f) == NULL)
			wchan[0] = '\0';
		if (f != NULL)
			fclose(f);
		fprintf(out, "  %s %s %c cpu%d (may run on %s) %lu %lu %lu %lu "
			"%s\n", e->d_name, comm, state, cpu, allowed, ut, st,
			vcs, ivcs, wchan);
	}
	closedir(d);
}

/* Whether deadline @d (mmrt_test_deadline()) has passed. */
static inline bool
mmrt_test_expired(uint64_t d)
{
	return rte_get_timer_cycles() > d;
}

/* @len bytes read at @va (@got) must be @want: fail at the first that
 * differs. */
static inline void
mmrt_test_cmp_buf(const uint8_t *got, const uint8_t *want, size_t len,
	uint64_t va, const char *what)
{
	size_t i;

	if (memcmp(got, want, len) == 0)
		return;
	for (i = 0; i < len && got[i] == want[i]; i++)
		;
	cr_assert_fail("%s: contents differ at %#" PRIx64 " (%#x, want %#x)",
		what, va + i, got[i], want[i]);
}

/*
 * Check destination @p got (@p nops ops of @p oplen bytes each, at @p va)
 * after ops 0 .. @p first_bad - 1 copied @p src and the rest failed: a
 * failed op may have written only bytes of its own source (those before
 * its fault); every other byte is still @p guard. @p want is scratch of
 * the same size.
 */
static inline void
mmrt_test_cmp_ops(const uint8_t *got, const uint8_t *src, uint8_t *want,
	uint64_t nops, uint64_t oplen, uint64_t first_bad, int guard,
	uint64_t va, const char *what)
{
	uint64_t k, o, i;

	memset(want, guard, nops * oplen);
	for (k = 0; k < nops; k++) {
		o = k * oplen;
		if (k < first_bad) {
			memcpy(want + o, src + o, oplen);
			continue;
		}
		for (i = o; i < o + oplen; i++)
			if (got[i] == src[i])
				want[i] = got[i];
	}
	mmrt_test_cmp_buf(got, want, nops * oplen, va, what);
}

/* Frames in use, after flushing this lcore's cache and deferred tables. */
static inline uint64_t
mmrt_test_used(void)
{
	mmrt_mm_reclaim(true);
	mmrt_mem_cache_flush();
	return mmrt_mem_used();
}

/* Destroy @p as: the frames in use are back at @p used0 (none leaked). */
static inline void
mmrt_test_as_gone(struct mmrt_as *as, uint64_t used0)
{
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0, "frames leaked");
}

#endif /* MMRT_TESTS_COMMON_H */
