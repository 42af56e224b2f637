/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * perf-fault: a userfault resolved by a polling handler, as a device-TLB
 * consumer sees it, against the kernel's userfaultfd round trip.
 *
 * mmrt: a consumer on the main lcore (a registered poller) translates a
 * page of a MISSING-registered region that is not there: the miss posts a
 * fault to the uffd and translate returns -EAGAIN. A handler on the second
 * lcore spins on mmrt_uffd_read() and answers with a 4 KiB mmrt_uffd_copy().
 * The consumer polls (mmrt_consumer_poll(), rte_pause()) and retries until
 * the translation succeeds. Sample: first translate to successful translate.
 *
 * kernel: a thread on the main lcore reads a page of an anonymous mapping
 * registered with UFFDIO_REGISTER_MODE_MISSING; a handler on the second
 * lcore spins on read() of a non-blocking userfaultfd (no poll()) and
 * answers with UFFDIO_COPY, which wakes the faulting thread. Sample: from
 * before the load to after it returned.
 *
 * Pages are fresh for every pass (MADV_DONTNEED / MMRT_ADV_DONTNEED between
 * passes, not timed); the passes of the sides (mmrt, kernel, floor) take
 * turns going first.
 * The handlers stamp the page address into the page they copy (the floor
 * its pass number too), and the requester checks it. The handlers also
 * timestamp the message read and the copy returned of each page's
 * successful copy, which splits the round trip into delivery (miss to
 * message read), resolution (the copy call) and resume (copy returned to
 * requester resumed; negative when the requester sees the page before the
 * copy call returns). A cache-line ping-pong between the two lcores,
 * printed first, shows how far apart the two vCPUs landed in this run.
 *
 * floor (uffd-fault-4k-floor, report only): the same round trip reduced
 * to what any handler on the other lcore must do: a mailbox line to the
 * handler, its 4 KiB copy into a fresh frame of the pool, a done line
 * back (see fault_fl below). Its ratio is the best the row could reach.
 *
 * The scaling curves (report only): with N = 1, 2, 4, 8, 16 faulting
 * consumers and the one handler. mmrt: N consumers on the main lcore, each
 * with a fault of its own outstanding (consumer k takes pages k, k + N,
 * ...; the requester sweeps them, polling and retrying each). kernel: N
 * threads pinned to the main lcore's cpu, thread k loading pages k, k + N,
 * ... (a blocked thread lets another fault). Per point: the wall time of a
 * pass per fault (fault-tput-cN, 1/throughput) and the p99 of the faults'
 * round trips (fault-p99-cN), each beside the kernel's with N threads.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <mmrt_uffd.h>

#include "perf_common.h"

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(UFFDIO, 0x00)
#endif

#define FAULT_PROG "perf-fault"
#define FAULT_POOL_MB 128
#define FAULT_VA UINT64_C(0x100000000000)
#define FAULT_PASS_PAGES 2048u         /* fresh pages per pass (8 MiB) */
#define FAULT_MSGS 16u                 /* messages per read */
#define FAULT_TARGET 0.05
#define FAULT_ACK_DEADLINE_US 1000000  /* 1 s: no fence on VM jitter */
#define FAULT_CURVE_MAX 16u            /* faulting consumers / threads */

enum fault_side {
	FAULT_KERNEL,
	FAULT_MMRT,
	FAULT_FLOOR,
	FAULT_NSIDES,
};

static const char * const fault_side_name[] = {
	[FAULT_KERNEL] = "kernel",
	[FAULT_MMRT] = "mmrt",
	[FAULT_FLOOR] = "floor",
};

/*
 * The floor: what any userfault round trip with the handler on the other
 * lcore must do, and nothing else. The requester stores the page's index
 * in a mailbox line (the message) and spins; the handler spins on the
 * mailbox, stamps the source page as the other handlers do, copies it
 * with the same memcpy() into the page's fresh frame and stores the index
 * in a done line (release: the bytes before the flag); the requester sees
 * it (acquire) and is done. Two cross-core line transfers and a 4 KiB
 * copy into a frame of the pool, as on the mmrt side, but no lookup, no
 * page table, no dedup, no queue and no wake. The frames are taken from
 * the pool before the pass and given back after it (not timed), so they
 * are the frames the mmrt side's fills get, in the same cache state.
 */
#define FAULT_FLOOR_IDLE UINT64_MAX

static struct {
	uint64_t req __rte_cache_aligned;   /* requester -> handler */
	uint64_t done __rte_cache_aligned;  /* handler -> requester */
} fault_fl;

static uint32_t fault_fl_pfn[FAULT_PASS_PAGES];
/*
 * The floor's pass number, stamped beside the address: a pass may get
 * the last pass's frames back at the same places, with its stamps.
 */
static uint64_t fault_fl_pass;

/* Cache-line ping-pong between the two lcores (info: vCPU placement). */
#define FAULT_PP_ROUNDS 20000u
#define FAULT_PP_STOP UINT64_MAX

static struct {
	uint64_t ping __rte_cache_aligned;  /* main -> worker */
	uint64_t pong __rte_cache_aligned;  /* worker -> main */
} fault_pp;

/* One pass: the requester on the main lcore, the handler on the worker. */
struct fault_pass {
	uint32_t stop __rte_cache_aligned; /* main -> handler */
	uint32_t ready;                    /* handler spins */
	enum fault_side side;
	uint64_t base;       /* first page: host address or space VA */
	uint64_t npages;
	unsigned int nreq;   /* requesters: consumers or threads (curve) */
	bool curve;          /* a curve pass: the *_touch_n() requesters */
	uint64_t *t_read;    /* handler: message read, per page */
	uint64_t *t_done;    /* handler: copy returned, per page */
	/* handler counters */
	uint64_t msgs;
	uint64_t copies;
	uint64_t eexist;
	uint64_t empty_reads;
};

/* What the requester measured in one pass. */
struct fault_req {
	uint64_t *t_start;   /* per page: before the first try */
	uint64_t *t_post;    /* mmrt, per page: the first try returned */
	uint64_t *t_end;     /* per page: the page was usable */
	uint64_t tries;      /* mmrt: translate calls */
};

/* Sample sets of one side. */
struct fault_acc {
	struct perf_samples rt;       /* ns per fault, the result */
	struct perf_samples deliver;  /* miss -> message read */
	struct perf_samples post;     /* mmrt: miss -> first try returned */
	struct perf_samples resolve;  /* message read -> copy returned */
	struct perf_samples resume;   /* copy returned -> requester resumed */
	uint64_t pages;
	uint64_t tries;
	uint64_t msgs;
	uint64_t copies;
	uint64_t eexist;
	uint64_t empty_reads;
};

static struct {
	int kfd;                 /* the kernel's userfaultfd, -1: skipped */
	uint8_t *kbase;          /* its registered region */
	struct mmrt_as *as;
	struct mmrt_uffd *u;
	struct mmrt_consumer *cons;      /* == cs[0] */
	/* the consumers that fault (the curve binds more) */
	struct mmrt_consumer *cs[FAULT_CURVE_MAX];
	unsigned int ncons;
	unsigned int worker;
} fx = { .kfd = -1 };

static struct fault_pass fault_p;

/* Pages per pass of the curves (fewer with --quick). */
static uint64_t fault_curve_pages = FAULT_PASS_PAGES;

/* The handler's source page (written by the handler only). */
static uint8_t fault_src[MMRT_PAGE_SIZE] __rte_aligned(MMRT_PAGE_SIZE);

/*
 * Open a non-blocking userfaultfd and do the API handshake. On failure
 * @p why says why and -1 is returned.
 */
static int
fault_kernel_open(char *why, size_t len, const char **how)
{
	struct uffdio_api api;
	int fd, dev, err;

	*how = "userfaultfd(2)";
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		*how = "/dev/userfaultfd";
		dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev < 0) {
			snprintf(why, len, "userfaultfd(2): %s; "
				"/dev/userfaultfd: %s", strerror(err),
				strerror(errno));
			return -1;
		}
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			snprintf(why, len, "userfaultfd(2): %s; "
				"USERFAULTFD_IOC_NEW: %s", strerror(err),
				strerror(errno));
			close(dev);
			return -1;
		}
		close(dev);
	}
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	if (ioctl(fd, UFFDIO_API, &api) != 0) {
		snprintf(why, len, "UFFDIO_API: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The kernel side's region: 4 KiB pages (THP off), MISSING-registered. */
static int
fault_kernel_setup(char *why, size_t len)
{
	struct uffdio_register reg;
	const char *how;
	uint64_t size = (uint64_t)FAULT_PASS_PAGES * MMRT_PAGE_SIZE;

	fx.kfd = fault_kernel_open(why, len, &how);
	if (fx.kfd < 0)
		return -1;
	fx.kbase = perf_kernel_map(size, false);
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)fx.kbase;
	reg.range.len = size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(fx.kfd, UFFDIO_REGISTER, &reg) != 0) {
		snprintf(why, len, "UFFDIO_REGISTER: %s", strerror(errno));
		goto fail;
	}
	if (!(reg.ioctls & (UINT64_C(1) << _UFFDIO_COPY))) {
		snprintf(why, len, "UFFDIO_COPY not allowed in the range");
		goto fail;
	}
	printf("kernel anchor: %s, O_NONBLOCK, region of %u pages "
		"registered MISSING\n", how, FAULT_PASS_PAGES);
	return 0;
fail:
	munmap(fx.kbase, size);
	fx.kbase = NULL;
	close(fx.kfd);
	fx.kfd = -1;
	return -1;
}

/* Page index of a fault address, or die. */
static uint64_t
fault_page(const struct fault_pass *p, uint64_t addr)
{
	uint64_t idx = (addr - p->base) >> MMRT_PAGE_SHIFT;

	if (unlikely(addr < p->base || idx >= p->npages))
		perf_die("%s handler: fault at 0x%" PRIx64 " outside the "
			"region", fault_side_name[p->side], addr);
	return idx;
}

/*
 * A handler took message @p event (at @p address): counted; anything but a
 * page fault is fatal. The faulting page in *@p addr, stamped into the
 * source page (the copy carries its address); the read time in *@p t.
 * @return the page's index in the pass.
 */
static inline uint64_t
fault_take(struct fault_pass *p, bool pagefault, unsigned int event,
	uint64_t address, uint64_t *addr, uint64_t *t)
{
	uint64_t idx;

	p->msgs++;
	if (unlikely(!pagefault))
		perf_die("%s handler: event 0x%x", fault_side_name[p->side],
			event);
	*addr = address & ~(uint64_t)(MMRT_PAGE_SIZE - 1);
	idx = fault_page(p, *addr);
	*t = perf_now();
	memcpy(fault_src, addr, sizeof(*addr));
	return idx;
}

/* The copy of page @p idx, read at @p t, is done. */
static inline void
fault_copied(struct fault_pass *p, uint64_t idx, uint64_t t)
{
	p->t_done[idx] = perf_now();
	p->t_read[idx] = t;
	p->copies++;
}

/* Floor handler: spin on the mailbox, copy, store done. */
static void
fault_floor_handler(struct fault_pass *p)
{
	uint64_t idx, addr, t, seen = FAULT_FLOOR_IDLE;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		idx = __atomic_load_n(&fault_fl.req, __ATOMIC_ACQUIRE);
		if (idx == seen) {
			p->empty_reads++;
			rte_pause();
			continue;
		}
		seen = idx;
		idx = fault_take(p, true, 0, p->base + idx * MMRT_PAGE_SIZE,
			&addr, &t);
		memcpy(fault_src + sizeof(addr), &fault_fl_pass,
			sizeof(fault_fl_pass));
		memcpy(mmrt_frame_addr_unchecked(fault_fl_pfn[idx]), fault_src,
			MMRT_PAGE_SIZE);
		/* the copy's bytes before the flag: pairs with the load */
		__atomic_store_n(&fault_fl.done, idx, __ATOMIC_RELEASE);
		fault_copied(p, idx, t);
	}
}

/* Kernel handler: spin on read() of the O_NONBLOCK userfaultfd. */
static void
fault_kernel_handler(struct fault_pass *p)
{
	struct uffd_msg msgs[FAULT_MSGS];
	struct uffdio_copy c = {
		.src = (uintptr_t)fault_src, .len = MMRT_PAGE_SIZE,
	};
	struct uffdio_range r = { .len = MMRT_PAGE_SIZE };
	uint64_t addr, idx, t;
	unsigned int i, n;
	ssize_t got;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		got = read(fx.kfd, msgs, sizeof(msgs));
		if (got < 0) {
			if (unlikely(errno != EAGAIN))
				perf_die("kernel handler: read: %s",
					strerror(errno));
			p->empty_reads++;
			rte_pause();
			continue;
		}
		n = (unsigned int)((size_t)got / sizeof(msgs[0]));
		for (i = 0; i < n; i++) {
			idx = fault_take(p,
				msgs[i].event == UFFD_EVENT_PAGEFAULT,
				msgs[i].event, msgs[i].arg.pagefault.address,
				&addr, &t);
			c.dst = addr;
			c.copy = 0;
			if (ioctl(fx.kfd, UFFDIO_COPY, &c) == 0) {
				fault_copied(p, idx, t);
			} else if (errno == EEXIST) {
				/* raced: still wake the range */
				p->eexist++;
				r.start = addr;
				if (ioctl(fx.kfd, UFFDIO_WAKE, &r) != 0)
					perf_die("UFFDIO_WAKE: %s",
						strerror(errno));
			} else {
				perf_die("UFFDIO_COPY: %s", strerror(errno));
			}
		}
	}
}

/* mmrt handler: spin on mmrt_uffd_read(), answer with mmrt_uffd_copy(). */
static void
fault_mmrt_handler(struct fault_pass *p)
{
	struct mmrt_uffd_msg msgs[FAULT_MSGS];
	struct mmrt_uffd_range r = { .len = MMRT_PAGE_SIZE };
	struct mmrt_uffd_copy c = { .src = fault_src, .len = MMRT_PAGE_SIZE };
	uint64_t addr, idx, t;
	int i, n, ret;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		n = mmrt_uffd_read(fx.u, msgs, FAULT_MSGS);
		if (n <= 0) {
			if (unlikely(n < 0))
				perf_die("mmrt_uffd_read: %s", strerror(-n));
			p->empty_reads++;
			rte_pause();
			continue;
		}
		for (i = 0; i < n; i++) {
			idx = fault_take(p,
				msgs[i].event == MMRT_UFFD_EVENT_PAGEFAULT,
				msgs[i].event, msgs[i].arg.pagefault.address,
				&addr, &t);
			c.dst = addr;
			c.copy = 0;
			ret = mmrt_uffd_copy(fx.u, &c);
			if (ret == 0) {
				fault_copied(p, idx, t);
			} else if (ret == -EEXIST) {
				p->eexist++;
				r.start = addr;
				ret = mmrt_uffd_wake(fx.u, &r);
				if (ret < 0)
					perf_die("mmrt_uffd_wake: %s",
						strerror(-ret));
			} else {
				perf_die("mmrt_uffd_copy(0x%" PRIx64 "): %s "
					"(copy %" PRId64 ")", addr,
					strerror(-ret), c.copy);
			}
		}
	}
}

static int
fault_handler(void *arg)
{
	struct fault_pass *p = arg;

	__atomic_store_n(&p->ready, 1, __ATOMIC_RELEASE);
	if (p->side == FAULT_KERNEL)
		fault_kernel_handler(p);
	else if (p->side == FAULT_FLOOR)
		fault_floor_handler(p);
	else
		fault_mmrt_handler(p);
	return 0;
}

/* Kernel requester: one load per fresh page; the load takes the fault. */
/*
 * Touch pages first, first + step, ... of the kernel pass, timing each
 * fault; every page must read back its own address (the handler's copy).
 */
static void
fault_kernel_touch_pages(const struct fault_pass *p, struct fault_req *q,
	uint64_t first, uint64_t step)
{
	uint64_t i, addr, v, t0, t1;

	for (i = first; i < p->npages; i += step) {
		addr = p->base + i * MMRT_PAGE_SIZE;
		t0 = perf_now();
		v = *(volatile uint64_t *)(uintptr_t)addr;
		t1 = perf_now();
		if (unlikely(v != addr))
			perf_die("kernel: page 0x%" PRIx64 " reads 0x%" PRIx64
				" (not the copy)", addr, v);
		q->t_start[i] = t0;
		q->t_end[i] = t1;
	}
}

static void
fault_kernel_touch(const struct fault_pass *p, struct fault_req *q)
{
	fault_kernel_touch_pages(p, q, 0, 1);
}

/*
 * Floor requester: post each page's index, spin until the handler says
 * its frame holds the copy; the page must read back its own address.
 */
static void
fault_floor_touch(const struct fault_pass *p, struct fault_req *q)
{
	uint64_t i, va, v, t0, t1;
	const uint64_t *page;

	for (i = 0; i < p->npages; i++) {
		va = p->base + i * MMRT_PAGE_SIZE;
		t0 = perf_now();
		__atomic_store_n(&fault_fl.req, i, __ATOMIC_RELEASE);
		while (__atomic_load_n(&fault_fl.done, __ATOMIC_ACQUIRE) != i)
			rte_pause();
		t1 = perf_now();
		page = mmrt_frame_addr_unchecked(fault_fl_pfn[i]);
		v = page[0];
		if (unlikely(v != va || page[1] != fault_fl_pass))
			perf_die("floor: page 0x%" PRIx64 " reads 0x%" PRIx64
				", pass %" PRIu64 " (not this pass's copy)",
				va, v, page[1]);
		q->t_start[i] = t0;
		q->t_end[i] = t1;
	}
}

/*
 * mmrt requester (the consumer's owner, a registered poller): translate
 * each fresh page, polling between tries until the fill is visible.
 */
static void
fault_mmrt_touch(const struct fault_pass *p, struct fault_req *q)
{
	struct mmrt_xlate x;
	uint64_t i, va, t0, t1, tries = 0;
	int ret;

	for (i = 0; i < p->npages; i++) {
		va = p->base + i * MMRT_PAGE_SIZE;
		t0 = perf_now();
		ret = mmrt_consumer_translate(fx.cons, va, MMRT_ACCESS_READ,
			&x);
		q->t_post[i] = perf_now();
		if (unlikely(ret != -EAGAIN))
			perf_die("mmrt: first translate of 0x%" PRIx64
				" returned %d, not -EAGAIN (page not fresh?)",
				va, ret);
		tries++;
		do {
			mmrt_consumer_poll(fx.cons);
			rte_pause();
			ret = mmrt_consumer_translate(fx.cons, va,
				MMRT_ACCESS_READ, &x);
			tries++;
		} while (ret == -EAGAIN);
		t1 = perf_now();
		if (unlikely(ret != 0))
			perf_die("mmrt: translate 0x%" PRIx64 ": %s", va,
				strerror(-ret));
		if (unlikely(*(const uint64_t *)x.addr != va))
			perf_die("mmrt: page 0x%" PRIx64 " reads 0x%" PRIx64
				" (not the copy)", va,
				*(const uint64_t *)x.addr);
		q->t_start[i] = t0;
		q->t_end[i] = t1;
	}
	/* The last translation is not used past this point. */
	mmrt_consumer_poll(fx.cons);
	q->tries = tries;
}

/*
 * mmrt requester with p->nreq consumers, each with one fault of its own
 * outstanding: consumer k takes pages k, k + nreq, ... The sweep polls and
 * retries every consumer whose page is not there yet.
 */
static void
fault_mmrt_touch_n(const struct fault_pass *p, struct fault_req *q)
{
	uint64_t cur[FAULT_CURVE_MAX];
	struct mmrt_xlate x;
	uint64_t va, t, tries = 0, done = 0;
	unsigned int k, n = p->nreq;
	int ret;

	for (k = 0; k < n; k++) {
		cur[k] = k;
		va = p->base + cur[k] * MMRT_PAGE_SIZE;
		q->t_start[cur[k]] = perf_now();
		ret = mmrt_consumer_translate(fx.cs[k], va, MMRT_ACCESS_READ,
			&x);
		tries++;
		if (unlikely(ret != -EAGAIN))
			perf_die("mmrt: first translate of 0x%" PRIx64
				" returned %d, not -EAGAIN", va, ret);
	}
	while (done < p->npages) {
		for (k = 0; k < n; k++) {
			if (cur[k] >= p->npages)
				continue;
			va = p->base + cur[k] * MMRT_PAGE_SIZE;
			mmrt_consumer_poll(fx.cs[k]);
			ret = mmrt_consumer_translate(fx.cs[k], va,
				MMRT_ACCESS_READ, &x);
			tries++;
			if (ret == -EAGAIN)
				continue;
			t = perf_now();
			if (unlikely(ret != 0))
				perf_die("mmrt: translate 0x%" PRIx64 ": %s",
					va, strerror(-ret));
			if (unlikely(*(const uint64_t *)x.addr != va))
				perf_die("mmrt: page 0x%" PRIx64 " reads 0x%"
					PRIx64 " (not the copy)", va,
					*(const uint64_t *)x.addr);
			q->t_end[cur[k]] = t;
			done++;
			cur[k] += n;
			if (cur[k] >= p->npages)
				continue;
			va = p->base + cur[k] * MMRT_PAGE_SIZE;
			q->t_start[cur[k]] = perf_now();
			ret = mmrt_consumer_translate(fx.cs[k], va,
				MMRT_ACCESS_READ, &x);
			tries++;
			if (unlikely(ret != -EAGAIN))
				perf_die("mmrt: first translate of 0x%" PRIx64
					" returned %d, not -EAGAIN", va, ret);
		}
		rte_pause();
	}
	for (k = 0; k < n; k++)
		mmrt_consumer_poll(fx.cs[k]);
	q->tries = tries;
}

/* A kernel requester thread of the curve: pages k, k + nreq, ... */
struct fault_kthread {
	pthread_t tid;
	const struct fault_pass *p;
	struct fault_req *q;
	pthread_barrier_t *start;
	unsigned int k;
};

static void *
fault_kernel_thread(void *arg)
{
	struct fault_kthread *kt = arg;

	pthread_barrier_wait(kt->start);
	fault_kernel_touch_pages(kt->p, kt->q, kt->k, kt->p->nreq);
	return NULL;
}

/*
 * Kernel requester with p->nreq threads, all pinned to the main lcore's
 * cpus (the handler has the other core, as in the 1-thread anchor).
 */
static void
fault_kernel_touch_n(const struct fault_pass *p, struct fault_req *q)
{
	struct fault_kthread kt[FAULT_CURVE_MAX];
	rte_cpuset_t cpus = rte_lcore_cpuset(rte_get_main_lcore());
	pthread_barrier_t start;
	pthread_attr_t attr;
	unsigned int k;
	int ret;

	if (pthread_barrier_init(&start, NULL, p->nreq + 1) != 0 ||
			pthread_attr_init(&attr) != 0 ||
			pthread_attr_setaffinity_np(&attr, sizeof(cpus),
				&cpus) != 0)
		perf_die("kernel requesters: thread set-up failed");
	for (k = 0; k < p->nreq; k++) {
		kt[k].p = p;
		kt[k].q = q;
		kt[k].start = &start;
		kt[k].k = k;
		ret = pthread_create(&kt[k].tid, &attr, fault_kernel_thread,
			&kt[k]);
		if (ret != 0)
			perf_die("pthread_create: %s", strerror(ret));
	}
	pthread_barrier_wait(&start);
	for (k = 0; k < p->nreq; k++)
		pthread_join(kt[k].tid, NULL);
	pthread_attr_destroy(&attr);
	pthread_barrier_destroy(&start);
}

static int
fault_pp_worker(void *arg)
{
	uint64_t last = 0, v;

	RTE_SET_USED(arg);
	for (;;) {
		while ((v = __atomic_load_n(&fault_pp.ping, __ATOMIC_ACQUIRE))
				== last)
			rte_pause();
		if (v == FAULT_PP_STOP)
			return 0;
		__atomic_store_n(&fault_pp.pong, v, __ATOMIC_RELEASE);
		last = v;
	}
}

/*
 * Info: the p50 of a cross-core cache-line round trip between the two
 * lcores, which moves with where the vCPUs land and bounds every handoff
 * of the fault round trip.
 */
static double
fault_pingpong(void)
{
	struct perf_samples s;
	struct app_pct pct;
	uint64_t t0, t1, seq;
	unsigned int i;
	int ret;

	if (perf_samples_init(&s, FAULT_PP_ROUNDS) < 0)
		perf_die("out of memory for samples");
	fault_pp.ping = 0;
	fault_pp.pong = 0;
	ret = app_worker_launch(fault_pp_worker, NULL, fx.worker);
	if (ret < 0)
		perf_die("rte_eal_remote_launch(lcore %u): %s", fx.worker,
			strerror(-ret));
	for (i = 0; i < FAULT_PP_ROUNDS + FAULT_PP_ROUNDS / 10; i++) {
		seq = i + 1;
		t0 = perf_now();
		__atomic_store_n(&fault_pp.ping, seq, __ATOMIC_RELEASE);
		while (__atomic_load_n(&fault_pp.pong, __ATOMIC_ACQUIRE) !=
				seq)
			rte_pause();
		t1 = perf_now();
		if (i >= FAULT_PP_ROUNDS / 10)
			perf_samples_add(&s, perf_ns(t1 - t0));
	}
	__atomic_store_n(&fault_pp.ping, FAULT_PP_STOP, __ATOMIC_RELEASE);
	ret = app_worker_wait(fx.worker);
	if (ret < 0)
		perf_die("ping-pong worker: %s", strerror(-ret));
	perf_percentiles(&s, &pct);
	perf_samples_free(&s);
	return pct.p50;
}

/* Not timed: make every page of the side's region missing again. */
static void
fault_reset(enum fault_side side)
{
	struct mmrt_as_stats st;
	unsigned int i;
	int ret;

	if (side == FAULT_FLOOR) {
		/* fresh frames from the pool; the last pass's went back */
		ret = mmrt_frame_alloc_bulk(fault_fl_pfn, FAULT_PASS_PAGES, 0);
		if (ret < 0)
			perf_die("mmrt_frame_alloc_bulk: %s", strerror(-ret));
		fault_fl.req = FAULT_FLOOR_IDLE;
		fault_fl.done = FAULT_FLOOR_IDLE;
		fault_fl_pass++;
		return;
	}
	if (side == FAULT_KERNEL) {
		if (madvise(fx.kbase, (size_t)FAULT_PASS_PAGES *
				MMRT_PAGE_SIZE, MADV_DONTNEED) != 0)
			perf_die("madvise(MADV_DONTNEED): %s",
				strerror(errno));
		return;
	}
	/*
	 * The consumer's owner is this thread: unbind so the advise's
	 * invalidation does not wait for a poll we cannot make meanwhile.
	 */
	for (i = 0; i < fx.ncons; i++) {
		ret = mmrt_consumer_unbind(fx.cs[i]);
		if (ret < 0 && ret != -ENOTCONN)
			perf_die("mmrt_consumer_unbind: %s", strerror(-ret));
	}
	ret = mmrt_advise(fx.as, FAULT_VA, (uint64_t)FAULT_PASS_PAGES *
		MMRT_PAGE_SIZE, MMRT_ADV_DONTNEED);
	if (ret < 0)
		perf_die("mmrt_advise(DONTNEED): %s", strerror(-ret));
	ret = mmrt_as_stats(fx.as, &st);
	if (ret < 0)
		perf_die("mmrt_as_stats: %s", strerror(-ret));
	if (st.rss_pages != 0)
		perf_die("%" PRIu64 " pages still present after DONTNEED",
			st.rss_pages);
	for (i = 0; i < fx.ncons; i++) {
		ret = mmrt_consumer_bind(fx.cs[i], fx.as);
		if (ret < 0)
			perf_die("mmrt_consumer_bind: %s", strerror(-ret));
	}
}

static void
fault_acc_init(struct fault_acc *a, size_t cap)
{
	memset(a, 0, sizeof(*a));
	if (perf_samples_init(&a->rt, cap) < 0 ||
			perf_samples_init(&a->deliver, cap) < 0 ||
			perf_samples_init(&a->post, cap) < 0 ||
			perf_samples_init(&a->resolve, cap) < 0 ||
			perf_samples_init(&a->resume, cap) < 0)
		perf_die("out of memory for samples");
}

static void
fault_acc_free(struct fault_acc *a)
{
	perf_samples_free(&a->rt);
	perf_samples_free(&a->deliver);
	perf_samples_free(&a->post);
	perf_samples_free(&a->resolve);
	perf_samples_free(&a->resume);
}

/* ns of a signed TSC difference. */
static double
fault_sns(uint64_t from, uint64_t to)
{
	int64_t d = (int64_t)(to - from);

	return d < 0 ? -perf_ns((uint64_t)-d) : perf_ns((uint64_t)d);
}

/* One pass of @p side over fresh pages; samples into @p a unless NULL. */
static void
fault_run_pass(enum fault_side side, struct fault_pass *p,
	struct fault_req *q, struct fault_acc *a)
{
	uint64_t i;
	int ret;

	fault_reset(side);
	p->stop = 0;
	p->ready = 0;
	p->side = side;
	p->base = side == FAULT_KERNEL ? (uintptr_t)fx.kbase : FAULT_VA;
	p->npages = p->curve ? fault_curve_pages : FAULT_PASS_PAGES;
	if (p->nreq == 0)
		p->nreq = 1;
	p->msgs = p->copies = p->eexist = p->empty_reads = 0;
	memset(p->t_read, 0, p->npages * sizeof(*p->t_read));
	memset(p->t_done, 0, p->npages * sizeof(*p->t_done));
	q->tries = 0;

	ret = app_worker_launch(fault_handler, p, fx.worker);
	if (ret < 0)
		perf_die("rte_eal_remote_launch(lcore %u): %s", fx.worker,
			strerror(-ret));
	while (!__atomic_load_n(&p->ready, __ATOMIC_ACQUIRE))
		rte_pause();
	if (side == FAULT_KERNEL && p->curve)
		fault_kernel_touch_n(p, q);
	else if (side == FAULT_KERNEL)
		fault_kernel_touch(p, q);
	else if (side == FAULT_FLOOR)
		fault_floor_touch(p, q);
	else if (p->curve)
		fault_mmrt_touch_n(p, q);
	else
		fault_mmrt_touch(p, q);
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
	ret = app_worker_wait(fx.worker);
	if (ret < 0)
		perf_die("handler: %s", strerror(-ret));
	if (side == FAULT_FLOOR) {
		ret = mmrt_frame_put_bulk(fault_fl_pfn, FAULT_PASS_PAGES);
		if (ret < 0)
			perf_die("mmrt_frame_put_bulk: %s", strerror(-ret));
	}
	/* Late duplicate messages are allowed (EEXIST, then a wake). */
	if (p->copies != p->npages)
		perf_die("%s: %" PRIu64 " copies (and %" PRIu64 " EEXIST) for %"
			PRIu64 " fresh pages", fault_side_name[side],
			p->copies, p->eexist, p->npages);
	if (a == NULL)
		return;
	for (i = 0; i < p->npages; i++) {
		perf_samples_add(&a->rt, fault_sns(q->t_start[i],
			q->t_end[i]));
		perf_samples_add(&a->deliver, fault_sns(q->t_start[i],
			p->t_read[i]));
		if (side == FAULT_MMRT && !p->curve)
			perf_samples_add(&a->post, fault_sns(q->t_start[i],
				q->t_post[i]));
		perf_samples_add(&a->resolve, fault_sns(p->t_read[i],
			p->t_done[i]));
		perf_samples_add(&a->resume, fault_sns(p->t_done[i],
			q->t_end[i]));
	}
	a->pages += p->npages;
	a->tries += q->tries;
	a->msgs += p->msgs;
	a->copies += p->copies;
	a->eexist += p->eexist;
	a->empty_reads += p->empty_reads;
}

static void
fault_print_breakdown(const char *side, const struct fault_acc *a)
{
	struct app_pct d, r, s;

	perf_percentiles(&a->deliver, &d);
	perf_percentiles(&a->resolve, &r);
	perf_percentiles(&a->resume, &s);
	printf("%-6s breakdown p50 (p99) ns: miss->msg read %.0f (%.0f), "
		"copy call %.0f (%.0f), copy returned->resumed %.0f (%.0f)\n",
		side, d.p50, d.p99, r.p50, r.p99, s.p50, s.p99);
	if (a->post.n > 0) {
		perf_percentiles(&a->post, &d);
		/* the requester's own part of the delivery */
		printf("%-6s   of which the first translate (miss, probe, "
			"post) %.0f (%.0f)\n", side, d.p50, d.p99);
	}
	printf("%-6s handler: %" PRIu64 " messages, %" PRIu64 " copies, %"
		PRIu64 " EEXIST, %" PRIu64 " empty reads (%.1f per fault)\n",
		side, a->msgs, a->copies, a->eexist, a->empty_reads,
		a->pages != 0 ? (double)a->empty_reads / a->pages : 0.0);
}

static void
fault_mmrt_setup(void)
{
	const struct mmrt_consumer_conf cconf = { .name = "perf-fault",
		.ack_deadline_us = FAULT_ACK_DEADLINE_US };
	uint64_t features = 0, ops = 0;
	int ret;

	fx.as = perf_as_create("perf-fault");
	ret = mmrt_map(fx.as, FAULT_VA, (uint64_t)FAULT_PASS_PAGES *
		MMRT_PAGE_SIZE, MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (ret < 0)
		perf_die("mmrt_map: %s", strerror(-ret));
	fx.u = mmrt_uffd_create(fx.as, MMRT_UFFD_API, &features, NULL);
	if (fx.u == NULL)
		perf_die("mmrt_uffd_create: %s", strerror(rte_errno));
	ret = mmrt_uffd_register(fx.u, FAULT_VA, (uint64_t)FAULT_PASS_PAGES *
		MMRT_PAGE_SIZE, MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
	if (ret < 0)
		perf_die("mmrt_uffd_register: %s", strerror(-ret));
	if (!(ops & MMRT_UFFD_OP_COPY))
		perf_die("mmrt_uffd_register: COPY not allowed (ops 0x%"
			PRIx64 ")", ops);

	fx.cons = perf_consumer(fx.as, &cconf);
	fx.cs[0] = fx.cons;
	fx.ncons = 1;
	printf("mmrt: region of %u pages registered MISSING, consumer "
		"(default TLB) on the main lcore\n", FAULT_PASS_PAGES);
}

static void
fault_mmrt_teardown(void)
{
	struct mmrt_consumer_stats cst;
	struct mmrt_uffd_stats ust;
	int ret;

	ret = mmrt_uffd_stats(fx.u, &ust);
	if (ret < 0)
		perf_die("mmrt_uffd_stats: %s", strerror(-ret));
	ret = mmrt_consumer_stats(fx.cons, &cst);
	if (ret < 0)
		perf_die("mmrt_consumer_stats: %s", strerror(-ret));
	printf("mmrt uffd: %" PRIu64 " faults posted, %" PRIu64 " dedup, %"
		PRIu64 " ring full, %" PRIu64 " wakes, %" PRIu64 " pages "
		"filled, %" PRIu64 " pending\n", ust.faults, ust.faults_dedup,
		ust.faults_full, ust.wakes, ust.filled_pages, ust.pending);
	printf("mmrt consumer: %" PRIu64 " misses, %" PRIu64 " hits, %"
		PRIu64 " userfaults, %" PRIu64 " page requests, %" PRIu64
		" fences\n", cst.tlb_misses, cst.tlb_hits, cst.userfaults,
		cst.page_requests, cst.fences);
	if (ust.pending != 0)
		perf_die("%" PRIu64 " faults still pending", ust.pending);
	if (cst.fences != 0)
		perf_die("the consumer was fenced");

	ret = mmrt_consumer_destroy(fx.cons);
	if (ret < 0)
		perf_die("mmrt_consumer_destroy: %s", strerror(-ret));
	ret = mmrt_uffd_destroy(fx.u);
	if (ret < 0)
		perf_die("mmrt_uffd_destroy: %s", strerror(-ret));
	perf_as_destroy(fx.as);
}

/* Wall time of the last pass per page: first start to last end. */
static double
fault_wall_per_page(const struct fault_pass *p, const struct fault_req *q)
{
	uint64_t t0 = UINT64_MAX, t1 = 0, i;

	for (i = 0; i < p->npages; i++) {
		t0 = RTE_MIN(t0, q->t_start[i]);
		t1 = RTE_MAX(t1, q->t_end[i]);
	}
	return perf_ns(t1 - t0) / (double)p->npages;
}

static void
fault_curve_row(struct perf_result *r, const char *name, const char *anchor,
	const char *curve, unsigned int n, struct perf_samples *sm,
	struct perf_samples *sa, bool p99)
{
	char rname[PERF_NAME_SIZE], aname[PERF_NAME_SIZE];

	snprintf(rname, sizeof(rname), "%s-c%u", name, n);
	snprintf(aname, sizeof(aname), "%s-t%u", anchor, n);
	perf_result_set(r, rname, aname, "ns/fault", PERF_REPORT_ONLY, sm, sa);
	if (p99) {
		r->value = r->pct.p99;
		r->anchor_value = r->anchor_pct.p99;
	} else {
		r->value = app_median(sm->v, sm->n);
		r->anchor_value = app_median(sa->v, sa->n);
	}
	perf_result_point(r, curve, n, "faulting consumers");
}

/*
 * The curves: 1..FAULT_CURVE_MAX faulting consumers (kernel: threads)
 * and one handler, @p passes passes of each side per point. Two results
 * per point into @p res (throughput, p99). @return results written.
 */
static unsigned int
fault_curve(struct fault_pass *p, struct fault_req *q, unsigned int passes,
	struct perf_result *res, bool kernel)
{
	struct mmrt_consumer_conf cconf = {
		.ack_deadline_us = FAULT_ACK_DEADLINE_US };
	struct perf_samples wall[2];
	struct fault_acc acc[2];
	enum fault_side side;
	unsigned int n, i, r, s, np = 0;
	char name[32];
	int ret;

	for (n = 1; n <= FAULT_CURVE_MAX; n *= 2) {
		for (i = fx.ncons; i < n; i++) {
			snprintf(name, sizeof(name), "perf-fault-%u", i);
			cconf.name = name;
			fx.cs[i] = perf_consumer(fx.as, &cconf);
		}
		fx.ncons = n;
		for (s = 0; s < 2; s++) {
			fault_acc_init(&acc[s], (size_t)passes *
				FAULT_PASS_PAGES);
			if (perf_samples_init(&wall[s], passes) < 0)
				perf_die("out of memory for samples");
		}
		for (r = 0; r < passes; r++) {
			for (s = 0; s < 2; s++) {
				side = (r + s) % 2 == 0 ? FAULT_MMRT :
					FAULT_KERNEL;
				if (side == FAULT_KERNEL && !kernel)
					continue;
				p->nreq = n;
				p->curve = true;
				fault_run_pass(side, p, q, &acc[side]);
				perf_samples_add(&wall[side],
					fault_wall_per_page(p, q));
			}
		}
		p->nreq = 1;
		p->curve = false;
		fault_curve_row(&res[np], "fault-tput", "kernel-uffd-tput",
			"fault-throughput", n, &wall[FAULT_MMRT],
			&wall[FAULT_KERNEL], false);
		fault_curve_row(&res[np + 1], "fault-p99", "kernel-uffd-p99",
			"fault-p99", n, &acc[FAULT_MMRT].rt,
			&acc[FAULT_KERNEL].rt, true);
		printf("fault curve, %u faulting: mmrt %.2f Mfaults/s p99 %.0f "
			"ns (%.1f translates per fault); kernel %.2f Mfaults/s "
			"p99 %.0f ns\n", n, 1e3 / res[np].value,
			res[np + 1].value, (double)acc[FAULT_MMRT].tries /
			(double)acc[FAULT_MMRT].pages, 1e3 /
			res[np].anchor_value, res[np + 1].anchor_value);
		for (s = 0; s < 2; s++) {
			fault_acc_free(&acc[s]);
			perf_samples_free(&wall[s]);
		}
		np += 2;
	}
	for (i = 1; i < fx.ncons; i++) {
		if (mmrt_consumer_fenced(fx.cs[i]))
			perf_die("consumer %u was fenced", i);
		ret = mmrt_consumer_destroy(fx.cs[i]);
		if (ret < 0)
			perf_die("mmrt_consumer_destroy: %s", strerror(-ret));
	}
	fx.ncons = 1;
	return np;
}

int
main(int argc, char **argv)
{
	struct fault_acc acc[FAULT_NSIDES];
	struct fault_pass *p;
	struct fault_req q;
	struct perf_result res[2 + 10];
	struct perf_opts opts;
	struct app_pct pct;
	enum fault_side side;
	unsigned int rounds, warm = 1, r, s, nres = 0, ncurve;
	size_t cap;
	char why[256];
	bool kernel;
	int ret;

	perf_parse_args(argc, argv, FAULT_PROG, &opts);
	perf_init(FAULT_PROG, FAULT_POOL_MB, &opts);

	if (perf_skip_lcores(FAULT_PROG, 2))
		return 0;
	fx.worker = rte_get_next_lcore(-1, 1, 0);
	rounds = opts.quick ? 5 : 40;
	cap = (size_t)rounds * FAULT_PASS_PAGES;
	printf("requester on lcore %u, handler on lcore %u; %u rounds of %u "
		"fresh pages per side (+%u warm-up)\n", rte_lcore_id(),
		fx.worker, rounds, FAULT_PASS_PAGES, warm);

	printf("info: cache-line round trip between the two lcores: p50 %.0f "
		"ns (moves with where the vCPUs land)\n", fault_pingpong());
	kernel = fault_kernel_setup(why, sizeof(why)) == 0;
	if (!kernel)
		printf("kernel anchor: SKIP: %s\n", why);
	fault_mmrt_setup();
	ret = mmrt_thread_register();
	if (ret < 0)
		perf_die("mmrt_thread_register: %s", strerror(-ret));

	p = &fault_p;
	p->t_read = calloc(FAULT_PASS_PAGES, sizeof(uint64_t));
	p->t_done = calloc(FAULT_PASS_PAGES, sizeof(uint64_t));
	q.t_start = calloc(FAULT_PASS_PAGES, sizeof(uint64_t));
	q.t_post = calloc(FAULT_PASS_PAGES, sizeof(uint64_t));
	q.t_end = calloc(FAULT_PASS_PAGES, sizeof(uint64_t));
	if (p->t_read == NULL || p->t_done == NULL || q.t_start == NULL ||
			q.t_post == NULL || q.t_end == NULL)
		perf_die("out of memory");
	for (s = 0; s < FAULT_NSIDES; s++)
		fault_acc_init(&acc[s], cap);

	/* the three sides in turn, each going first in one round of three */
	for (r = 0; r < warm + rounds; r++) {
		for (s = 0; s < FAULT_NSIDES; s++) {
			side = (enum fault_side)((r + s) % FAULT_NSIDES);
			if (side == FAULT_KERNEL && !kernel)
				continue;
			fault_run_pass(side, p, &q,
				r < warm ? NULL : &acc[side]);
		}
	}

	/* the curves, before the statistics are read and checked */
	fault_curve_pages = opts.quick ? FAULT_PASS_PAGES / 4 :
		FAULT_PASS_PAGES;
	ncurve = fault_curve(p, &q, opts.quick ? 2 : 8, &res[2], kernel);

	ret = mmrt_thread_unregister();
	if (ret < 0)
		perf_die("mmrt_thread_unregister: %s", strerror(-ret));
	printf("mmrt   translate calls per fault: %.1f\n",
		(double)acc[FAULT_MMRT].tries / acc[FAULT_MMRT].pages);
	fault_print_breakdown("mmrt", &acc[FAULT_MMRT]);
	fault_print_breakdown("floor", &acc[FAULT_FLOOR]);
	if (kernel)
		fault_print_breakdown("kernel", &acc[FAULT_KERNEL]);
	fault_mmrt_teardown();

	memset(&res[0], 0, sizeof(res[0]));
	snprintf(res[0].name, sizeof(res[0].name), "uffd-fault-4k");
	snprintf(res[0].anchor, sizeof(res[0].anchor), "kernel-uffd-rt");
	res[0].unit = "ns/fault";
	res[0].target = FAULT_TARGET;
	perf_percentiles(&acc[FAULT_MMRT].rt, &res[0].pct);
	perf_percentiles(&acc[FAULT_KERNEL].rt, &res[0].anchor_pct);
	res[0].value = res[0].pct.p50;
	res[0].anchor_value = res[0].anchor_pct.p50;
	/*
	 * The floor row: what the same round trip costs with nothing but the
	 * two transfers and the copy, against the same kernel anchor (its
	 * ratio is the best uffd-fault-4k could reach on this machine).
	 */
	perf_result_set(&res[1], "uffd-fault-4k-floor", "kernel-uffd-rt",
		"ns/fault", PERF_REPORT_ONLY, &acc[FAULT_FLOOR].rt,
		&acc[FAULT_KERNEL].rt);
	printf("uffd-fault-4k-floor: p50 %.0f ns p99 %.0f ns; mmrt p50 is "
		"%.2fx the floor (mmrt above the floor: %.0f ns)\n",
		res[1].pct.p50, res[1].pct.p99, res[0].pct.p50 /
		res[1].pct.p50, res[0].pct.p50 - res[1].pct.p50);
	if (kernel) {
		nres = 2 + ncurve;
		printf("uffd-fault-4k: p50 %.0f ns p99 %.0f ns p999 %.0f ns; "
			"kernel p50 %.0f ns p99 %.0f ns p999 %.0f ns (%zu / "
			"%zu samples)\n", res[0].pct.p50, res[0].pct.p99,
			res[0].pct.p999, res[0].anchor_pct.p50,
			res[0].anchor_pct.p99, res[0].anchor_pct.p999,
			res[0].pct.n, res[0].anchor_pct.n);
	} else {
		pct = res[0].pct;
		printf("uffd-fault-4k: p50 %.0f ns p99 %.0f ns p999 %.0f ns "
			"(%zu samples); no result: the kernel anchor was "
			"skipped (%s)\n", pct.p50, pct.p99, pct.p999, pct.n,
			why);
	}

	for (s = 0; s < FAULT_NSIDES; s++)
		fault_acc_free(&acc[s]);
	free(p->t_read);
	free(p->t_done);
	free(q.t_start);
	free(q.t_post);
	free(q.t_end);
	if (kernel) {
		munmap(fx.kbase, (size_t)FAULT_PASS_PAGES * MMRT_PAGE_SIZE);
		close(fx.kfd);
	}

	ret = perf_report(&opts, res, nres);
	perf_fini();
	return ret;
}
