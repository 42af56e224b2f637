/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * perf-dirty: harvest-and-clear of the dirty pages of 1 GiB (256 MiB with
 * --quick) with 1% of its pages dirty, against the kernel's own dirty
 * tracking of the same memory in the same run.
 *
 * The memory is one anonymous mapping (transparent huge pages off), both
 * the kernel's and mmrt's: mmrt maps it into a space as a host mapping
 * (mmrt_map_host(), at a VA not 2 MiB congruent with it, so its leaves are
 * 4 KiB, as the kernel's are), so no frame pool as large is needed under
 * --no-huge. Each round picks 1% of the pages at random and, per side:
 *
 *   mmrt:   write one byte of each through mmrt_write() (not timed), then
 *           time mmrt_dirty_harvest() of the whole range into a bitmap
 *           (clearing, with its invalidation; no consumer bound);
 *   kernel soft-dirty: write "4" to /proc/self/clear_refs (not timed),
 *           store one byte into each page (not timed), then time what a
 *           harvest-and-clear costs there: pread() of the range's
 *           /proc/self/pagemap entries, the scan of bit 55, and the
 *           clear_refs write that clears them (which walks the whole
 *           process, the 1 GiB dominating);
 *   kernel PAGEMAP_SCAN (Linux 6.7+, where userfaultfd's WP_ASYNC is
 *           available): the range registered for async write-protect;
 *           store one byte into each page (not timed), then time one
 *           PAGEMAP_SCAN ioctl with PM_SCAN_WP_MATCHING that returns the
 *           written pages and write-protects them again.
 *
 * Each timed figure is the calling thread's CPU time (user and kernel,
 * CLOCK_THREAD_CPUTIME_ID; other work sharing the vCPUs is not counted
 * against either side) divided by the pages of the range (ns per page
 * scanned). Every harvest is checked: it must find exactly the pages
 * written. Target (issue 11): mmrt <= 0.1x the kernel, per page.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include <rte_common.h>
#include <rte_errno.h>

#include <mmrt_core.h>
#include <mmrt_mm.h>

#include "perf_common.h"

#define DIRTY_PROG "perf-dirty"
#define DIRTY_POOL_MB 64
#define DIRTY_PCT 1
#define DIRTY_TARGET 0.1
#define DIRTY_VA (UINT64_C(1) << 40)
#define PM_SOFT_DIRTY (UINT64_C(1) << 55)

/* PAGEMAP_SCAN (linux/fs.h of 6.7+); the build's headers may predate it. */
#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start;
	uint64_t end;
	uint64_t categories;
};

struct pm_scan_arg {
	uint64_t size;
	uint64_t flags;
	uint64_t start;
	uint64_t end;
	uint64_t walk_end;
	uint64_t vec;
	uint64_t vec_len;
	uint64_t max_pages;
	uint64_t category_inverted;
	uint64_t category_mask;
	uint64_t category_anyof_mask;
	uint64_t return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WRITTEN (1 << 1)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

struct dirty_run {
	uint8_t *mem;          /* the anonymous mapping */
	uint64_t len;
	uint64_t npages;
	uint64_t va;           /* where mmrt maps it */
	struct mmrt_as *as;
	uint64_t *bitmap;
	uint64_t *pm;          /* pagemap entries of the range */
	uint64_t *pick;        /* this round's dirty pages */
	uint64_t npick;
	int pagemap_fd;
	int clear_refs_fd;
	bool softdirty;        /* the kernel has CONFIG_MEM_SOFT_DIRTY */
	int uffd;              /* -1: no PAGEMAP_SCAN anchor */
	struct page_region *vec;
	uint64_t vec_len;
	uint64_t pm_calls;     /* PAGEMAP_SCAN ioctls made */
};

/*
 * CPU time of the calling thread, ns (user and kernel): the machine's
 * vCPUs are shared, and a system call is a point where the kernel may
 * schedule other work in, which wall-clock time would count against the
 * kernel's side only.
 */
static uint64_t
dirty_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		perf_die("clock_gettime: %s", strerror(errno));
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) +
		(uint64_t)ts.tv_nsec;
}

/* Pick DIRTY_PCT% of the pages, distinct. */
static void
dirty_pick(struct dirty_run *d, uint64_t *lcg)
{
	uint64_t i, p;

	memset(d->bitmap, 0, (d->npages + 63) / 64 * 8);
	d->npick = 0;
	while (d->npick < d->npages * DIRTY_PCT / 100) {
		p = perf_lcg(lcg) % d->npages;
		if (d->bitmap[p / 64] & (UINT64_C(1) << (p % 64)))
			continue;
		d->bitmap[p / 64] |= UINT64_C(1) << (p % 64);
		d->pick[d->npick++] = p;
	}
	for (i = 0; i < d->npick; i++)
		d->bitmap[d->pick[i] / 64] = 0;
}

static double
dirty_round_mmrt(struct dirty_run *d)
{
	uint64_t i, t0, t1, n = 0;
	uint8_t b = 0xd1;
	int64_t got;

	for (i = 0; i < d->npick; i++)
		if (mmrt_write(d->as, d->va + d->pick[i] * MMRT_PAGE_SIZE, &b,
				1) != 0)
			perf_die("mmrt_write");
	memset(d->bitmap, 0, (d->npages + 63) / 64 * 8);
	t0 = dirty_cpu_ns();
	got = mmrt_dirty_harvest(d->as, d->va, d->len, d->bitmap, d->npages,
		0);
	t1 = dirty_cpu_ns();
	if (got != (int64_t)d->npick)
		perf_die("mmrt_dirty_harvest: %" PRId64 " pages, %" PRIu64
			" written", got, d->npick);
	for (i = 0; i < d->npick; i++)
		n += (d->bitmap[d->pick[i] / 64] >> (d->pick[i] % 64)) & 1;
	if (n != d->npick)
		perf_die("mmrt_dirty_harvest: wrong pages");
	return (double)(t1 - t0) / (double)d->npages;
}

static void
clear_refs(struct dirty_run *d)
{
	if (pwrite(d->clear_refs_fd, "4", 1, 0) != 1)
		perf_die("clear_refs: %s", strerror(errno));
}

/* Soft-dirty pages of the range, by pagemap. */
static uint64_t
softdirty_scan(struct dirty_run *d)
{
	uint64_t want = d->npages * 8, n = 0, i;
	off_t off = (off_t)((uintptr_t)d->mem / MMRT_PAGE_SIZE * 8);
	ssize_t r;

	r = pread(d->pagemap_fd, d->pm, want, off);
	if (r != (ssize_t)want)
		perf_die("pagemap read: %zd: %s", r, strerror(errno));
	for (i = 0; i < d->npages; i++)
		n += (d->pm[i] & PM_SOFT_DIRTY) != 0;
	return n;
}

static double
dirty_round_softdirty(struct dirty_run *d)
{
	volatile uint8_t *m = d->mem;
	uint64_t i, t0, t1, n;

	clear_refs(d);
	for (i = 0; i < d->npick; i++)
		m[d->pick[i] * MMRT_PAGE_SIZE + 1] = 0xd2;
	t0 = dirty_cpu_ns();
	n = softdirty_scan(d);
	clear_refs(d);
	t1 = dirty_cpu_ns();
	if (d->softdirty && n != d->npick)
		perf_die("soft-dirty: %" PRIu64 " pages, %" PRIu64 " written",
			n, d->npick);
	return (double)(t1 - t0) / (double)d->npages;
}

/*
 * PAGEMAP_SCAN with write-protect matching over the range, from where each
 * call stopped until the end (the kernel may stop early, with walk_end
 * before the end); @return pages written.
 */
static uint64_t
pm_scan_wp(struct dirty_run *d)
{
	uint64_t n = 0, at = (uintptr_t)d->mem, end = at + d->len;
	struct pm_scan_arg a;
	long r, i;

	while (at < end) {
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
		a.start = at;
		a.end = end;
		a.vec = (uintptr_t)d->vec;
		a.vec_len = d->vec_len;
		a.category_mask = PAGE_IS_WRITTEN;
		a.return_mask = PAGE_IS_WRITTEN;
		r = ioctl(d->pagemap_fd, PAGEMAP_SCAN, &a);
		if (r < 0)
			perf_die("PAGEMAP_SCAN: %s", strerror(errno));
		for (i = 0; i < r; i++)
			n += (d->vec[i].end - d->vec[i].start) /
				MMRT_PAGE_SIZE;
		if (a.walk_end <= at)
			perf_die("PAGEMAP_SCAN made no progress");
		at = a.walk_end;
		d->pm_calls++;
	}
	return n;
}

/* The range under async uffd write-protect, for PAGEMAP_SCAN: 0 or -1. */
static int
pm_scan_setup(struct dirty_run *d)
{
	struct uffdio_api api;
	struct uffdio_register reg;
	int fd;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		printf("pagemap-scan: skipped: userfaultfd: %s\n",
			strerror(errno));
		return -1;
	}
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
	if (ioctl(fd, UFFDIO_API, &api) != 0) {
		printf("pagemap-scan: skipped: no UFFD_FEATURE_WP_ASYNC: %s\n",
			strerror(errno));
		close(fd);
		return -1;
	}
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)d->mem;
	reg.range.len = d->len;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(fd, UFFDIO_REGISTER, &reg) != 0) {
		printf("pagemap-scan: skipped: UFFDIO_REGISTER WP: %s\n",
			strerror(errno));
		close(fd);
		return -1;
	}
	d->uffd = fd;
	/* write-protect everything: a first scan that matches all */
	(void)pm_scan_wp(d);
	d->pm_calls = 0;
	return 0;
}

static double
dirty_round_pmscan(struct dirty_run *d)
{
	volatile uint8_t *m = d->mem;
	uint64_t i, t0, t1, n;

	for (i = 0; i < d->npick; i++)
		m[d->pick[i] * MMRT_PAGE_SIZE + 2] = 0xd3;
	t0 = dirty_cpu_ns();
	n = pm_scan_wp(d);
	t1 = dirty_cpu_ns();
	if (n != d->npick)
		perf_die("PAGEMAP_SCAN: %" PRIu64 " pages, %" PRIu64
			" written", n, d->npick);
	return (double)(t1 - t0) / (double)d->npages;
}

static void
dirty_result(struct perf_result *r, const char *name, const char *anchor,
	const double *v, const double *a, unsigned int rounds,
	struct perf_samples *sv, struct perf_samples *sa)
{
	perf_result_set(r, name, anchor, "ns/page", DIRTY_TARGET, sv, sa);
	r->value = app_median((double *)(uintptr_t)v, rounds);
	r->anchor_value = app_median((double *)(uintptr_t)a, rounds);
}

int
main(int argc, char **argv)
{
	struct perf_samples sm, ss, sp;
	struct perf_result res[2];
	struct perf_opts opts;
	struct dirty_run d;
	unsigned int rounds, r, nres = 0;
	double *vm, *vs, *vp;
	uint64_t lcg = 0xd1e7, off;
	int ret;

	perf_parse_args(argc, argv, DIRTY_PROG, &opts);
	perf_init(DIRTY_PROG, DIRTY_POOL_MB, &opts);
	memset(&d, 0, sizeof(d));
	d.uffd = -1;
	d.len = (opts.quick ? UINT64_C(256) : UINT64_C(1024)) << 20;
	d.npages = d.len / MMRT_PAGE_SIZE;
	rounds = opts.quick ? 4 : 9;
	d.mem = perf_kernel_map(d.len, true);
	d.bitmap = calloc((d.npages + 63) / 64, 8);
	d.pm = calloc(d.npages, 8);
	d.pick = calloc(d.npages, 8);
	d.vec_len = d.npages;
	d.vec = calloc(d.vec_len, sizeof(*d.vec));
	vm = calloc(rounds, sizeof(double));
	vs = calloc(rounds, sizeof(double));
	vp = calloc(rounds, sizeof(double));
	if (d.bitmap == NULL || d.pm == NULL || d.pick == NULL ||
			d.vec == NULL || vm == NULL || vs == NULL ||
			vp == NULL || perf_samples_init(&sm, rounds) < 0 ||
			perf_samples_init(&ss, rounds) < 0 ||
			perf_samples_init(&sp, rounds) < 0)
		perf_die("out of memory");
	d.pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	d.clear_refs_fd = open("/proc/self/clear_refs", O_WRONLY);
	if (d.pagemap_fd < 0 || d.clear_refs_fd < 0)
		perf_die("/proc/self/pagemap, clear_refs: %s", strerror(errno));

	/* 4 KiB leaves: a VA that is not 2 MiB congruent with the memory */
	off = ((uintptr_t)d.mem & (MMRT_HUGE_SIZE - 1)) ^ MMRT_PAGE_SIZE;
	d.va = DIRTY_VA + off;
	d.as = perf_as_create("perf-dirty");
	ret = mmrt_map_host(d.as, d.va, d.mem, d.len,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (ret != 0)
		perf_die("mmrt_map_host: %s", strerror(-ret));
	if (mmrt_dirty_clear(d.as, d.va, d.len) < 0)
		perf_die("mmrt_dirty_clear");
	printf("range %" PRIu64 " MiB (%" PRIu64 " pages), %d%% dirty per"
		" round, %u rounds; mmrt: a host mapping of the kernel's"
		" anonymous memory, 4 KiB leaves\n", d.len >> 20, d.npages,
		DIRTY_PCT, rounds);

	/* is soft-dirty there? */
	clear_refs(&d);
	d.mem[5 * MMRT_PAGE_SIZE] = 1;
	d.softdirty = softdirty_scan(&d) == 1;
	if (!d.softdirty)
		printf("kernel-soft-dirty: the kernel has no soft-dirty bit"
			" (CONFIG_MEM_SOFT_DIRTY off): the anchor is the"
			" pagemap read and clear_refs write alone, the part of"
			" the soft-dirty harvest that stays without it (a lower"
			" bound of its cost), named kernel-pagemap-read\n");
	(void)pm_scan_setup(&d);

	for (r = 0; r < rounds; r++) {
		dirty_pick(&d, &lcg);
		vm[r] = dirty_round_mmrt(&d);
		vs[r] = dirty_round_softdirty(&d);
		if (d.uffd >= 0)
			vp[r] = dirty_round_pmscan(&d);
		perf_samples_add(&sm, vm[r]);
		perf_samples_add(&ss, vs[r]);
		if (d.uffd >= 0)
			perf_samples_add(&sp, vp[r]);
		printf("round %u: %" PRIu64 " dirty: mmrt harvest %.3f ns/page"
			"  soft-dirty %.3f ns/page  PAGEMAP_SCAN %.3f ns/page\n",
			r, d.npick, vm[r], vs[r], d.uffd >= 0 ? vp[r] : 0.0);
	}
	if (d.uffd >= 0)
		printf("PAGEMAP_SCAN: %.1f ioctls per harvest (the kernel"
			" stops early; each call resumes at walk_end)\n",
			(double)d.pm_calls / rounds);
	dirty_result(&res[nres++], "dirty-harvest-1pct", d.softdirty ?
		"kernel-soft-dirty" : "kernel-pagemap-read", vm, vs, rounds,
		&sm, &ss);
	if (d.uffd >= 0)
		dirty_result(&res[nres++], "dirty-harvest-1pct",
			"kernel-pagemap-scan-wp", vm, vp, rounds, &sm, &sp);

	perf_as_destroy(d.as);
	if (d.uffd >= 0)
		close(d.uffd);
	close(d.pagemap_fd);
	close(d.clear_refs_fd);
	munmap(d.mem, d.len);
	ret = perf_report(&opts, res, nres);
	perf_samples_free(&sm);
	perf_samples_free(&ss);
	perf_samples_free(&sp);
	free(vm);
	free(vs);
	free(vp);
	free(d.vec);
	free(d.pick);
	free(d.pm);
	free(d.bitmap);
	perf_fini();
	return ret;
}
