/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Allocation-failure sweeps of the operations outside one space (test
 * builds only: mmrt_test_fail_alloc_after()): the runtime's start-up, the
 * dma_mmrt driver's probe and start, and a fenced consumer's quarantine.
 * test_allocfail.c sweeps the operations on a space; the rule is the
 * same: for N = 0, 1, ... the allocation after the first N fails, and the
 * operation either succeeds (the failure was absorbed) or fails whole
 * with -ENOMEM, leaks nothing (rte_malloc heap, memzones, frames) and
 * leaves the runtime usable; the sweep ends at the first N the operation
 * passes without reaching the failure.
 *
 * Every public operation that allocates, and its sweep
 * (allocfail/X: test_allocfail.c; allocsweep/X: this file):
 *
 *   mmrt_init()                      allocsweep/init (a forked child per N:
 *                                    the EAL comes up once per process)
 *   mmrt_attach(), mmrt_fini() after allocsweep/attach (one EAL, attach
 *     a failed one                   per N; a following attach succeeds)
 *   mmrt_as_create()                 allocfail/as_create
 *   mmrt_as_fork()                   allocfail/as_fork
 *   mmrt_map()                       allocfail/map, map_populate,
 *                                    map_huge_populate
 *   mmrt_fault(), mmrt_read(),       allocfail/fault_write, fault_new_tables,
 *     mmrt_write()                   write_pages, object_page_in
 *   mmrt_protect()                   allocfail/protect_split,
 *                                    protect_huge_split
 *   mmrt_unmap()                     allocfail/unmap_middle, unmap_huge_part,
 *                                    unmap_large
 *   mmrt_advise()                    allocfail/advise_dontneed, advise_large
 *   mmrt_remap()                     allocfail/remap
 *   mmrt_merge()                     allocfail/merge
 *   mmrt_map_host()                  allocfail/map_host
 *   mmrt_as_mirror_dpdk()            allocfail/as_mirror_dpdk; also
 *                                    allocsweep/dma_mmrt_mirror (the
 *                                    driver makes it at start)
 *   mmrt_object_create(),            allocfail/object_create,
 *     mmrt_object_create_fd()        object_create_fd
 *   mmrt_map_object()                allocfail/map_object
 *   mmrt_object_write()              allocfail/object_write
 *   mmrt_uffd_create()               allocfail/uffd_create
 *   mmrt_uffd_register()             allocfail/uffd_register
 *   mmrt_uffd_copy(),                allocfail/uffd_copy, uffd_zeropage
 *     mmrt_uffd_zeropage()
 *   mmrt_uffd_continue(),            allocfail/uffd_continue, uffd_poison,
 *     mmrt_uffd_poison(),            uffd_writeprotect (markers on empty
 *     mmrt_uffd_writeprotect(),      entries), uffd_move (into a range
 *     mmrt_uffd_move()               without tables yet)
 *   mmrt_mirror_dma_map()            allocfail/mirror_dma_map (also
 *     (and rte_dev_dma_map() on a    through the driver: test_extmem.c),
 *     mirror-mode dma_mmrt)          mirror_dma_map_two (two mirrors: a
 *                                    failure in the second one's tables
 *                                    takes the range out of the first)
 *   mmrt_as_mirror_sync()            allocfail/mirror_sync
 *   mmrt_host_lookup(),              allocfail/host_lookup (its scan list)
 *     mmrt_host_to_va()
 *   mmrt_consumer_create()           allocfail/consumer_create
 *   mmrt_consumer_bind()             allocfail/consumer_bind
 *   mmrt_consumer_translate()        allocfail/consumer_translate
 *     (+ serve_faults)
 *   mmrt_pin()                       allocfail/pin
 *   mmrt_translate_sg()              allocfail/translate_sg
 *   mmrt_dirty_harvest(),            allocfail/dirty_harvest
 *     mmrt_dirty_clear()
 *   swdma_create(), swdma_bind()     allocfail/swdma_create, swdma_bind
 *     (internal, behind dma_mmrt)
 *   rte_vdev_init("dma_mmrtN"),      allocsweep/dma_mmrt_as_lcore,
 *     rte_dma_configure(),           dma_mmrt_as_service, dma_mmrt_mirror,
 *     rte_dma_vchan_setup(),         dma_mmrt_dev (dev=dma_skeleton0: the
 *     rte_dma_start()                bridge's create and bind),
 *                                    dma_mmrt_mirror_attach (mmrt down:
 *                                    the start attaches it, the close
 *                                    takes it down)
 *   the invalidation of a fenced     allocsweep/quarantine_growth (an
 *     consumer's pages (any unmap,   unmap; the growth of the quarantine
 *     protect, ...: the quarantine)  fails)
 *
 * Not swept: the dma_mmrt probe and start in a DPDK secondary (they need
 * real hugepages; the secondary's allocation is one calloc, hooked), and
 * the host-IOVA table's memzone (lib/mm host.c, made on the first host
 * mapping of IOVA-as-PA memory: hooked, but this machine runs IOVA as VA).
 * The registries' memzones (consumers, objects, pins) are made at start-up:
 * allocsweep/init and attach reach them.
 *
 * One EAL per test process (Criterion forks per test); every wait is
 * bounded, nothing asserts on elapsed time.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <rte_bus_vdev.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memzone.h>
#include <rte_service.h>

#include <mmrt_dev.h>
#include <mmrt_dma_mmrt.h>

#include "common.h"
#include "mm_gather.h"   /* mm_gather_cache_drain() (internal) */

#define POOL_MB 64
#define MAX_N 512
#define WAIT_S 30
#define SRC_VA UINT64_C(0x10000000)
#define DST_VA UINT64_C(0x20000000)
#define RGN_PAGES 16
#define NB_DESC 64

/* The rte_malloc heap in use (the gather's batch cache emptied first
 * while the runtime is up: see test_allocfail.c). */
static uint64_t
heap_used(void)
{
	if (mmrt_is_up())
		mm_gather_cache_drain();
	return mmrt_test_heap_bytes();
}

/* Blocks of the rte_malloc heaps in use, over every socket. */
static uint64_t
heap_blocks(void)
{
	struct rte_malloc_socket_stats ms;
	uint64_t n = 0;
	int i;

	if (mmrt_is_up())
		mm_gather_cache_drain();
	for (i = 0; i < RTE_MAX_NUMA_NODES; i++)
		if (rte_malloc_get_socket_stats(i, &ms) == 0)
			n += ms.alloc_count;
	return n;
}

/*
 * The heap after a failed dmadev bring-up, against @bytes0 in @blocks0
 * before: the same number of blocks, and bytes within HEAP_PAD_SLACK. A
 * cache-aligned element freed and allocated again at another place gets
 * other alignment padding (seen: 64 bytes less, same block count, in
 * dma_mmrt_dev at N=1 once the space struct's layout changed), which is
 * no leak; a leak adds a block.
 */
#define HEAP_PAD_SLACK 128
static bool
heap_as_before(uint64_t bytes0, uint64_t blocks0)
{
	uint64_t b = heap_used();

	return heap_blocks() == blocks0 && b <= bytes0 + HEAP_PAD_SLACK &&
		b + HEAP_PAD_SLACK >= bytes0;
}

static void
mz_count_cb(const struct rte_memzone *mz, void *arg)
{
	RTE_SET_USED(mz);
	(*(unsigned int *)arg)++;
}

static unsigned int
memzones(void)
{
	unsigned int n = 0;

	rte_memzone_walk(mz_count_cb, &n);
	return n;
}

static void
report(const char *what, uint64_t sites, unsigned int fails,
	unsigned int absorbed)
{
	cr_log_info("%s: %" PRIu64 " allocation sites; %u failed whole with "
		"-ENOMEM, %u absorbed", what, sites, fails, absorbed);
	printf("allocsweep %s: %" PRIu64 " sites, %u -ENOMEM, %u absorbed\n",
		what, sites, fails, absorbed);
}

/* For an operation that must not fail: every failure absorbed. */
static void
report_absorbed(const char *what, uint64_t sites, unsigned int absorbed)
{
	cr_log_info("%s: %" PRIu64 " allocation sites, every failure "
		"absorbed (%u)", what, sites, absorbed);
	printf("allocsweep %s: %" PRIu64 " sites, %u absorbed\n", what,
		sites, absorbed);
}

/*
 * The result @p rc of a call swept at N = @p n (@p hit: a failure was
 * injected): success, an injected failure absorbed counting in
 * *@p absorbed, or a whole -ENOMEM failure, only with a failure
 * injected. @return whether the call failed.
 */
static bool
failed_whole(const char *what, int64_t n, int rc, bool hit,
	unsigned int *absorbed)
{
	if (rc == 0) {
		*absorbed += hit;
		return false;
	}
	cr_assert(hit, "%s: %d without an injected failure", what, rc);
	cr_assert_eq(rc, -ENOMEM, "%s N=%" PRId64 ": %d (%s)", what, n, rc,
		strerror(-rc));
	return true;
}

/* ---- mmrt_attach() on a running EAL ---------------------------------- */

/* The EAL alone (no mmrt): @p nlcores floating lcores, --no-huge. */
static void
eal_only(const char *tag, unsigned int nlcores)
{
	static struct mmrt_test_argv a;

	mmrt_test_argv_start(&a, "test-allocsweep", nlcores);
	mmrt_test_argv_eal(&a, tag, 256, true, "3");
	cr_assert_geq(rte_eal_init(a.argc, a.argv), 0, "rte_eal_init: %d",
		rte_errno);
}

/*
 * mmrt_attach() (core_start(): the shared state, QSBR, the pool and its
 * rings, the space registry, the gather; the configuration file's
 * entries) with its Nth allocation failing: -ENOMEM, the runtime down
 * (mmrt_fini() says so), the heap and the memzones as before, and an
 * attach without the failure works. mmrt_init() runs the same steps
 * after rte_eal_init(); see allocsweep/init for its own.
 */
Test(allocsweep, attach, .timeout = 600)
{
	static const char ini[] = "[mem]\npool_mb = 16\n";
	char path[] = "/tmp/mmrt-allocsweep-XXXXXX";
	unsigned int fails = 0, absorbed = 0, mz0;
	uint64_t heap0, sites = 0;
	bool hit;
	int64_t n;
	int fd, rc;

	eal_only("afat", 2);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
	close(fd);
	/* warm-up: what the runtime keeps for the EAL's life (the consumer
	 * registry) exists from here on */
	cr_assert_eq(mmrt_attach(path), 0);
	cr_assert_eq(mmrt_fini(), 0);
	heap0 = heap_used();
	mz0 = memzones();
	for (n = 0; n < MAX_N; n++) {
		mmrt_test_fail_alloc_after(n);
		rc = mmrt_attach(path);
		sites = mmrt_test_alloc_sites(&hit);
		mmrt_test_fail_alloc_after(-1);
		if (failed_whole("attach", n, rc, hit, &absorbed)) {
			cr_assert_not(mmrt_is_up());
			cr_assert_eq(mmrt_fini(), -ENODEV);
			cr_assert_eq(heap_used(), heap0, "attach N=%" PRId64
				": heap %" PRIu64 " bytes, %" PRIu64 " before",
				n, heap_used(), heap0);
			cr_assert_eq(memzones(), mz0, "attach N=%" PRId64
				": %u memzones, %u before", n, memzones(), mz0);
			fails++;
			/* a following attach works */
			rc = mmrt_attach(path);
			cr_assert_eq(rc, 0, "attach after N=%" PRId64 ": %d",
				n, rc);
		}
		cr_assert_eq(mmrt_fini(), 0);
		cr_assert_eq(heap_used(), heap0, "attach N=%" PRId64 ": heap %"
			PRIu64 " bytes after fini, %" PRIu64 " before", n,
			heap_used(), heap0);
		cr_assert_eq(memzones(), mz0);
		if (!hit)
			break;
	}
	unlink(path);
	cr_assert_lt(n, MAX_N);
	cr_assert_gt(fails, 0);
	report("attach", sites, fails, absorbed);
	rte_eal_cleanup();
}

/* ---- mmrt_init(): a child per N ------------------------------------- */

struct init_res {
	int rc;          /* mmrt_init()'s */
	int rc2;         /* a second mmrt_init() in the same process */
	uint64_t sites;
	bool hit;
	bool up;         /* mmrt_is_up() after a failure */
	int fini;        /* mmrt_fini() after a failure */
	bool rundir;     /* the embedded default's run dir left behind */
	char dir[128];
};

static void
init_child(int64_t n, int wfd)
{
	static struct mmrt_test_argv a;
	char *argv2[MMRT_TEST_ARGV_MAX + 1];
	struct init_res r;
	const char *dir;
	struct stat sb;

	memset(&r, 0, sizeof(r));
	mmrt_test_argv_start(&a, "mmrt-sweep", 2);
	mmrt_test_argv_add(&a, "--");
	mmrt_test_argv_add(&a, "--pool-mb");
	mmrt_test_argv_add(&a, "16");
	mmrt_test_argv_add(&a, "--log-level");
	mmrt_test_argv_add(&a, "1");
	memcpy(argv2, a.argv, sizeof(argv2));
	mmrt_test_fail_alloc_after(n);
	r.rc = mmrt_init(a.argc, a.argv);
	r.sites = mmrt_test_alloc_sites(&r.hit);
	mmrt_test_fail_alloc_after(-1);
	if (r.rc < 0) {
		r.up = mmrt_is_up();
		r.fini = mmrt_fini();
		/* the embedded default's runtime directory went with it */
		dir = rte_eal_get_runtime_dir();
		if (dir != NULL && dir[0] != '\0') {
			snprintf(r.dir, sizeof(r.dir), "%s", dir);
			r.rundir = stat(dir, &sb) == 0;
		}
		/* again: works if the EAL did not come up (the failure was
		 * before it), else -EALREADY (an EAL comes up once) */
		r.rc2 = mmrt_init(a.argc, argv2);
	}
	if (mmrt_is_up() && mmrt_fini() != 0)
		r.fini = -EBUSY;
	(void)!write(wfd, &r, sizeof(r));
	_exit(0);
}

/* Run the child for @p n; @return its result. */
static struct init_res
init_run(int64_t n)
{
	struct timespec now, dl;
	struct init_res r;
	int p[2], st = 0;
	unsigned long it = 0;
	pid_t pid, w;
	ssize_t got;

	cr_assert_eq(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[0]);
		init_child(n, p[1]);
	}
	close(p[1]);
	/* a bound on a hang (no EAL here: the monotonic clock) */
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 120;
	while ((w = waitpid(pid, &st, WNOHANG)) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > dl.tv_sec) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			close(p[0]);
			cr_assert_fail("init N=%" PRId64 ": the child hangs", n);
		}
		mmrt_test_relax(it++, 0);
		usleep(1000);
	}
	cr_assert_eq(w, pid);
	memset(&r, 0, sizeof(r));
	got = read(p[0], &r, sizeof(r));
	close(p[0]);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
		got == (ssize_t)sizeof(r), "init N=%" PRId64 ": the child "
		"died (status %#x)", n, st);
	return r;
}

/*
 * mmrt_init() with its Nth allocation failing, in a child of this (EAL
 * free) process per N: -ENOMEM, the runtime down, its runtime directory
 * gone, and a second mmrt_init() in that process works when the failure
 * came before the EAL (else -EALREADY: DPDK initialises one EAL per
 * process); the last child, without a failure, comes up and down.
 */
Test(allocsweep, init, .timeout = 900)
{
	unsigned int fails = 0, absorbed = 0;
	struct init_res r;
	int64_t n;

	for (n = 0; n < 64; n++) {
		r = init_run(n);
		if (r.rc >= 0) {
			absorbed += r.hit;
			cr_assert_eq(r.fini, 0);
		} else {
			cr_assert(r.hit, "init: %d without a failure", r.rc);
			cr_assert_eq(r.rc, -ENOMEM, "init N=%" PRId64 ": %d",
				n, r.rc);
			cr_assert_not(r.up);
			cr_assert_eq(r.fini, -ENODEV);
			cr_assert_not(r.rundir, "init N=%" PRId64 ": %s left",
				n, r.dir);
			cr_assert(r.rc2 >= 0 || r.rc2 == -EALREADY,
				"init N=%" PRId64 ": the second init: %d", n,
				r.rc2);
			fails++;
		}
		if (!r.hit)
			break;
	}
	cr_assert_lt(n, 64, "init: still failing at N=64");
	cr_assert_gt(fails, 0);
	report("init", r.sites, fails, absorbed);
}

/* ---- a fenced consumer's quarantine --------------------------------- */

#define QN 1000   /* pages unmapped under the fence: the quarantine grows */

/*
 * A consumer fenced (bound, never polled, a 1 ms ack deadline) and an
 * unmap of QN of its space's pages with the Nth allocation failing (the
 * gather's batches, the quarantine's growth): the unmap succeeds, and
 * every frame stays held (quarantine_held, no frame free or reused)
 * while the fenced consumer could still reach it; once the consumer is
 * destroyed the pool and the heap are back. Regression: the quarantine
 * used to keep a frame it could not record for good (never back in the
 * pool, even after the consumer went); its growth now waits for memory.
 */
Test(allocsweep, quarantine_growth, .timeout = 600)
{
	static uint32_t pfn[QN], gen[QN];
	struct mmrt_consumer_conf cc = {
		.name = "afq", .ack_deadline_us = 1000,
	};
	struct mmrt_consumer_stats cs;
	unsigned int absorbed = 0;
	uint64_t used0, heap0, sites = 0;
	struct mmrt_consumer *c;
	struct mmrt_xlate x;
	struct mmrt_as *as;
	unsigned int i;
	bool hit;
	int64_t n;
	int rc;

	mmrt_test_up(POOL_MB);
	cr_assert_geq(mmrt_thread_register(), 0);
	/* warm-up: the gather's batch cache */
	as = mmrt_as_create("afq");
	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, (QN + 1) * PG, RW, MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	used0 = mmrt_test_used();
	heap0 = heap_used();
	for (n = 0; n < MAX_N; n++) {
		as = mmrt_as_create("afq");
		cr_assert_not_null(as);
		cr_assert_eq(mmrt_map(as, VA, (QN + 1) * PG, RW,
			MMRT_MAP_POPULATE), 0);
		c = mmrt_consumer_create(&cc);
		cr_assert_not_null(c);
		cr_assert_gt(mmrt_consumer_bind(c, as), 0);
		/* never polled: the first unmap misses the deadline */
		cr_assert_eq(mmrt_unmap(as, VA, PG), 0);
		cr_assert(mmrt_consumer_fenced(c));
		for (i = 0; i < QN; i++) {
			cr_assert_eq(mmrt_translate(as, VA + (i + 1) * PG, 0,
				&x), 0);
			pfn[i] = x.pfn;
			gen[i] = mmrt_frame_meta(x.pfn)->gen;
		}
		mmrt_test_fail_alloc_after(n);
		rc = mmrt_unmap(as, VA + PG, QN * PG);
		sites = mmrt_test_alloc_sites(&hit);
		mmrt_test_fail_alloc_after(-1);
		cr_assert_eq(rc, 0, "unmap N=%" PRId64 ": %d", n, rc);
		cr_assert_eq(mmrt_consumer_stats(c, &cs), 0);
		cr_assert_eq(cs.quarantine_held, QN + 1, "N=%" PRId64 ": %"
			PRIu64 " frames quarantined of %u", n,
			cs.quarantine_held, QN + 1);
		for (i = 0; i < QN; i++)
			cr_assert(!(mmrt_frame_meta(pfn[i])->flags &
				MMRT_FRAME_FREE) &&
				mmrt_frame_meta(pfn[i])->gen == gen[i],
				"N=%" PRId64 ": frame %u freed under the fenced"
				" consumer", n, pfn[i]);
		cr_assert_eq(mmrt_consumer_destroy(c), 0);
		cr_assert_eq(mmrt_as_destroy(as), 0);
		cr_assert_eq(mmrt_test_used(), used0, "N=%" PRId64 ": %"
			PRIu64 " frames in use once the consumer went, %"
			PRIu64 " before", n, mmrt_test_used(), used0);
		cr_assert_eq(heap_used(), heap0, "N=%" PRId64 ": heap", n);
		if (!hit)
			break;
		absorbed++;
	}
	cr_assert_lt(n, MAX_N);
	cr_assert_gt(absorbed, 0);
	report_absorbed("quarantine_growth", sites, absorbed);
	cr_assert_eq(mmrt_thread_unregister(), 0);
	mmrt_test_down();
}

/* ---- dma_mmrt: probe, configure, vchan setup, start ------------------ */

struct dsw {
	const char *tag;
	const char *args;          /* NULL: none (mirror mode, lcore=1) */
	bool service;
	bool mirror;
	bool skeleton;
	bool attach;               /* mmrt down: the driver attaches it */
};

#define SKEL "dma_skeleton0"
#define DMM "dma_mmrt7"

static struct mmrt_as *d_as;
static uint8_t *m_src, *m_dst;    /* mirror mode: rte_malloc memory */
static unsigned int d_round;

static uint8_t
sbyte(uint64_t i, unsigned int round)
{
	return (uint8_t)(i * 7 + (i >> 12) + round);
}

/* The EAL and mmrt for one dma_mmrt sweep. */
static void
dma_up(const struct dsw *s)
{
	static struct mmrt_test_argv a;
	static uint8_t buf[RGN_PAGES * PG];
	uint64_t i;

	mmrt_test_argv_start(&a, "test-allocsweep", s->skeleton ? 3 : 2);
	mmrt_test_argv_eal(&a, "afdm", 512, false, "3");
	if (s->skeleton)
		mmrt_test_argv_add(&a, "--vdev=" SKEL ",lcore=1");
	if (s->attach) {
		/* a stock DPDK application: the EAL only */
		cr_assert(mmrt_dma_mmrt_registered());
		cr_assert_geq(rte_eal_init(a.argc, a.argv), 0);
		goto buffers;
	}
	mmrt_test_argv_add(&a, "--");
	mmrt_test_argv_add(&a, "--pool-mb");
	mmrt_test_argv_add(&a, "64");
	cr_assert(mmrt_dma_mmrt_registered());
	cr_assert_geq(mmrt_init(a.argc, a.argv), 0, "mmrt_init failed");
	if (s->skeleton && rte_dma_get_dev_id_by_name(SKEL) < 0)
		cr_skip_test("no dmadev %s (is librte_dma_skeleton installed?)",
			SKEL);
	d_as = mmrt_as_create("afdm");
	cr_assert_not_null(d_as);
	/* both populated: a copy allocates no frame */
	cr_assert_eq(mmrt_map(d_as, SRC_VA, RGN_PAGES * PG, RW,
		MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(d_as, DST_VA, RGN_PAGES * PG, RW,
		MMRT_MAP_POPULATE), 0);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = sbyte(i, 0);
	cr_assert_eq(mmrt_write(d_as, SRC_VA, buf, sizeof(buf)), 0);
buffers:
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = sbyte(i, 0);
	m_src = rte_malloc("afdm_src", RGN_PAGES * PG, PG);
	m_dst = rte_zmalloc("afdm_dst", RGN_PAGES * PG, PG);
	cr_assert(m_src != NULL && m_dst != NULL);
	memcpy(m_src, buf, sizeof(buf));
}

static void
dma_down(const struct dsw *s)
{
	rte_free(m_src);
	rte_free(m_dst);
	if (s->attach) {
		/* the driver took the runtime down with the device */
		cr_assert_not(mmrt_is_up());
		rte_eal_cleanup();
		return;
	}
	cr_assert_eq(mmrt_as_destroy(d_as), 0);
	cr_assert_eq(mmrt_fini(), 0);
}

/* Frames in use (0 while the runtime is down). */
static uint64_t
used_frames(void)
{
	return mmrt_is_up() ? mmrt_test_used() : 0;
}

/* rte_vdev_init(), then mmrt_test_dma_start() */
static int
dma_bringup(const struct dsw *s, int16_t *idp)
{
	int rc, id;

	*idp = -1;
	rc = rte_vdev_init(DMM, s->args);
	if (rc != 0)
		return rc;
	id = rte_dma_get_dev_id_by_name(DMM);
	cr_assert_geq(id, 0, "probed, but no dmadev " DMM);
	*idp = (int16_t)id;
	return mmrt_test_dma_start(*idp, NB_DESC);
}

/* A started device copies: one copy, waited for, checked. */
static void
dma_copy_check(const struct dsw *s, int16_t id, int64_t n)
{
	enum rte_dma_status_code st = RTE_DMA_STATUS_SUCCESSFUL;
	static uint8_t got[3 * PG];
	uint64_t dl = mmrt_test_deadline(WAIT_S), i;
	const uint32_t len = 2 * PG + 100;
	uint64_t off = (uint64_t)(d_round++ % 7) * 131;
	unsigned long it = 0;
	rte_iova_t src, dst;
	uint32_t sid = 0;
	uint16_t last;
	int rc;

	if (s->service) {
		cr_assert_eq(rte_service_get_by_name(DMM, &sid), 0);
		cr_assert_eq(rte_service_runstate_set(sid, 1), 0);
	}
	if (s->mirror) {
		memset(m_dst, 0, 3 * PG);
		/* of the allocation's start: the element header says */
		src = rte_malloc_virt2iova(m_src) + off;
		dst = rte_malloc_virt2iova(m_dst);
	} else {
		memset(got, 0, sizeof(got));
		cr_assert_eq(mmrt_write(d_as, DST_VA, got, sizeof(got)), 0);
		src = SRC_VA + off;
		dst = DST_VA;
	}
	rc = rte_dma_copy(id, 0, src, dst, len, RTE_DMA_OP_FLAG_SUBMIT);
	cr_assert_geq(rc, 0, "N=%" PRId64 ": copy: %d", n, rc);
	while (rte_dma_completed_status(id, 0, 1, &last, &st) != 1) {
		cr_assert(!mmrt_test_expired(dl), "N=%" PRId64 ": the copy "
			"never completed", n);
		if (s->service)
			rte_service_run_iter_on_app_lcore(sid, 1);
		mmrt_test_relax(it++, 255);
	}
	cr_assert_eq(st, RTE_DMA_STATUS_SUCCESSFUL, "N=%" PRId64 ": status "
		"%d", n, st);
	if (s->mirror)
		memcpy(got, m_dst, sizeof(got));
	else
		cr_assert_eq(mmrt_read(d_as, DST_VA, got, sizeof(got)), 0);
	for (i = 0; i < sizeof(got); i++)
		cr_assert_eq(got[i], i < len ? sbyte(off + i, 0) : 0,
			"N=%" PRId64 ": byte %" PRIu64 " of the copy", n, i);
}

static void
dma_sweep(const struct dsw *s)
{
	unsigned int fails = 0, absorbed = 0, mz0;
	uint64_t used0, heap0, blocks0, sites = 0;
	bool hit;
	int16_t id;
	int64_t n;
	int rc;

	dma_up(s);
	/* warm-up: a whole cycle (the dmadev library's tables) */
	cr_assert_eq(dma_bringup(s, &id), 0);
	dma_copy_check(s, id, -1);
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(rte_vdev_uninit(DMM), 0);
	used0 = used_frames();
	heap0 = heap_used();
	blocks0 = heap_blocks();
	mz0 = memzones();
	for (n = 0; n < MAX_N; n++) {
		mmrt_test_fail_alloc_after(n);
		rc = dma_bringup(s, &id);
		sites = mmrt_test_alloc_sites(&hit);
		mmrt_test_fail_alloc_after(-1);
		if (failed_whole(s->tag, n, rc, hit, &absorbed)) {
			fails++;
			if (rte_dma_get_dev_id_by_name(DMM) < 0) {
				/* the probe failed: no device, no vdev */
				cr_assert_eq(id, -1);
				cr_assert_neq(rte_vdev_uninit(DMM), 0,
					"%s N=%" PRId64 ": a failed probe left "
					"its vdev", s->tag, n);
				goto check;
			}
			/* the device stays, stopped: it works as it is */
			cr_assert_eq(rte_vdev_init(DMM, s->args), -EEXIST);
			rc = mmrt_test_dma_start(id, NB_DESC);
			cr_assert_eq(rc, 0, "%s N=%" PRId64 ": configure and "
				"start after the failure: %d", s->tag, n, rc);
		}
		dma_copy_check(s, id, n);
		cr_assert_eq(rte_dma_stop(id), 0);
		cr_assert_eq(rte_vdev_uninit(DMM), 0);
check:
		cr_assert_eq(used_frames(), used0, "%s N=%" PRId64 ": %"
			PRIu64 " frames in use, %" PRIu64 " before", s->tag,
			n, used_frames(), used0);
		cr_assert(heap_as_before(heap0, blocks0), "%s N=%" PRId64
			": heap %" PRIu64 " bytes in %" PRIu64 " blocks, %"
			PRIu64 " in %" PRIu64 " before", s->tag, n,
			heap_used(), heap_blocks(), heap0, blocks0);
		cr_assert_eq(memzones(), mz0, "%s N=%" PRId64 ": memzones",
			s->tag, n);
		if (!hit)
			break;
	}
	cr_assert_lt(n, MAX_N);
	cr_assert_gt(fails, 0);
	report(s->tag, sites, fails, absorbed);
	dma_down(s);
}

Test(allocsweep, dma_mmrt_as_lcore, .timeout = 600)
{
	static const struct dsw s = {
		.tag = "dma_mmrt_as_lcore", .args = "as=afdm,lcore=1",
	};

	dma_sweep(&s);
}

Test(allocsweep, dma_mmrt_as_service, .timeout = 600)
{
	static const struct dsw s = {
		.tag = "dma_mmrt_as_service", .args = "as=afdm,service=1",
		.service = true,
	};

	dma_sweep(&s);
}

Test(allocsweep, dma_mmrt_mirror, .timeout = 600)
{
	static const struct dsw s = {
		.tag = "dma_mmrt_mirror", .args = "lcore=1", .mirror = true,
	};

	dma_sweep(&s);
}

Test(allocsweep, dma_mmrt_dev, .timeout = 600)
{
	static const struct dsw s = {
		.tag = "dma_mmrt_dev",
		.args = "as=afdm,dev=" SKEL ",lcore=2,ack_us=2000000",
		.skeleton = true,
	};

	dma_sweep(&s);
}

/*
 * Mirror mode in a stock DPDK application: mmrt is down, the start
 * attaches it (mmrt_attach(NULL), the built-in 256 MiB pool) and makes
 * the mirror; the close takes both down again.
 */
Test(allocsweep, dma_mmrt_mirror_attach, .timeout = 900)
{
	static const struct dsw s = {
		.tag = "dma_mmrt_mirror_attach", .args = "lcore=1",
		.mirror = true, .attach = true,
	};

	dma_sweep(&s);
}
