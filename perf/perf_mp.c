/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * perf-mp: mmrt across DPDK processes (issue 14, "Benchmarks"). Each
 * figure of a secondary is measured against the same figure with both
 * sides in one process, in the same run, on the same cpus.
 *
 * Processes. The harness forks a supervisor from the primary: the
 * supervisor (the process started) mounts a private hugetlbfs, reserves
 * the missing 2 MiB pages, forks the primary (its own process group), waits
 * for it (bounded) and then, however it ended, kills what is left of the
 * group, removes /var/run/dpdk/<prefix>, unmounts and gives back exactly
 * the pages it reserved. The primary (EAL lcores 0@cpu0 and 1@cpu1) starts
 * its secondaries by exec of itself ("perf-mp --secondary ROLE PREFIX
 * HUGEDIR"), each on lcore 2@cpu1: the same cpu as the primary's worker
 * lcore, another lcore id (ids must not collide across processes).
 * Control words live in a memzone ("perf_mp_ctl") both processes map.
 *
 * Servers. Two "sides" serve the main lcore: side 0 the primary's worker
 * lcore (a thread of the primary, cpu 1), side 1 the secondary (cpu 1).
 * Each runs the same loop (mp_serve()) in the mode main sets: IDLE (poll
 * its consumer, report quiescent, sleep MP_IDLE_US: the other side has the
 * cpu), POLL (poll its consumer, rte_pause()), HANDLE (read its uffd,
 * answer with mmrt_uffd_copy()), STOP. Main waits until both sides show
 * the mode it set before timing (bounded).
 *
 * mp-inval-rt: mmrt_protect(READ) of a present writable page of a space
 * whose one consumer is polled by the side in POLL mode (space "mp.inv.0"
 * for side 0, "mp.inv.1" for side 1; each consumer made by its side's
 * process). Timed per call, re-armed (protect READ|WRITE, write fault)
 * untimed, as perf-inval. Blocks of each side alternate which goes first.
 *
 * mp-fault-rt: a consumer owned by the main lcore translates fresh pages
 * of a MISSING-registered region ("mp.uf.0" / "mp.uf.1", a uffd each, made
 * by the primary); the miss posts a fault; the side in HANDLE mode reads
 * it and copies a page stamped with its address; the main lcore polls and
 * retries until the translation succeeds (checked against the stamp).
 * Sample: first translate to successful retry, as perf-fault; every
 * fault is in the row, and the first faults of the passes (the turn's
 * cost, see mp_fault_pass()) are also shown apart.
 *
 * mp-death-to-reclaim: a victim secondary binds a consumer (ack deadline
 * MP_VICTIM_DEADLINE_US) to "mp.kill", caches the translations of
 * MP_KILL_PAGES populated pages and polls. The primary sends SIGKILL,
 * unmaps the pages at once (the dead consumer misses its ack deadline: it
 * is fenced and the frames are quarantined), then calls mmrt_reap_dead()
 * until it reclaims the process and the pool's free count is back at its
 * value from before the pages were mapped. Sample: SIGKILL to that point.
 * Report only; the anchor is the ack deadline. mp-death-to-reclaim-reaped:
 * the same with the reap first (a housekeeping loop calling
 * mmrt_reap_dead() from the SIGKILL until it finds the process dead),
 * then the unmap, which has no consumer left to wait for. The rounds of
 * the two orders alternate; a line gives the part after each order's
 * first step.
 */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <rte_memzone.h>
#include <rte_pause.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <mmrt_uffd.h>

#include "perf_common.h"

#define MP_PROG "perf-mp"
#define MP_POOL_MB 64
#define MP_EAL_MB "256"
#define MP_HUGE_PAGES 160          /* -m 256 and room */
#define MP_HP "/sys/kernel/mm/hugepages/hugepages-2048kB"
#define MP_CTL "perf_mp_ctl"
#define MP_TARGET 1.2
#define MP_ACK_DEADLINE_US 1000000 /* 1 s: no fence on VM jitter */
#define MP_VICTIM_DEADLINE_US 10000 /* the default ack deadline */
#define MP_INV_VA UINT64_C(0x100000000000)
#define MP_UF_VA UINT64_C(0x200000000000)
#define MP_KILL_VA UINT64_C(0x300000000000)
#define MP_KILL_PAGES 64u
/*
 * Faults per pass. The first one pays the turn (see mp_fault_pass()):
 * 256 keeps those first faults under 1% of the samples, so the p99 is
 * not a percentile of them, and passes short (about 0.5 ms), so the
 * sides remain finely interleaved.
 */
#define MP_UF_PAGES 256u
#define MP_MSGS 16u
#define MP_BLOCKS 100u              /* inval turns of each side */
#define MP_WAIT_S 30                /* bound of every wait for a peer */
#define MP_SERVE_S 600              /* a secondary's life, at most */
#define MP_RUN_S 600                /* the primary's, at most */
/*
 * An idle server's sleep between polls. It shares the cpu with the
 * active one, and each of its wake-ups delays the active one's round
 * trip in progress by a few us: at 200 us that was the p99 of the fault
 * round trip (a few % of the samples); at 2 ms it is under 0.5%.
 */
#define MP_IDLE_US 2000

enum mp_mode {
	MP_IDLE = 1,
	MP_POLL,
	MP_HANDLE,
	MP_STOP,
};

/* One server of the main lcore: 0 the primary's worker, 1 the secondary. */
struct mp_side {
	uint32_t mode __rte_cache_aligned; /* enum mp_mode, set by main */
	uint32_t seen;                     /* the mode the server is in */
	uint32_t ready;                    /* consumer bound, uffd found */
	int32_t error;                     /* -errno, the server's failure */
	uint64_t polls;
	uint64_t msgs;
	uint64_t copies;
	uint64_t eexist;
};

/* In the memzone: the same address in every process. */
struct mp_ctl {
	struct mp_side side[2];
	int32_t victim_pid __rte_cache_aligned; /* set when bound and cached */
	int32_t victim_error;
};

static struct mp_ctl *ctl;
static uint8_t mp_src[MMRT_PAGE_SIZE] __rte_aligned(MMRT_PAGE_SIZE);

/* ------------------------------------------------------------------ */
/* The servers (both processes). */

static double
mp_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
mp_serve_handle(struct mp_side *s, struct mmrt_uffd *u)
{
	struct mmrt_uffd_msg msgs[MP_MSGS];
	struct mmrt_uffd_range r;
	struct mmrt_uffd_copy c;
	uint64_t addr;
	int i, n, ret;

	n = mmrt_uffd_read(u, msgs, MP_MSGS);
	if (n < 0 && n != -EAGAIN)
		return n;
	if (n <= 0) {
		rte_pause();
		return 0;
	}
	for (i = 0; i < n; i++) {
		s->msgs++;
		if (msgs[i].event != MMRT_UFFD_EVENT_PAGEFAULT)
			continue;
		addr = msgs[i].arg.pagefault.address &
			~(uint64_t)(MMRT_PAGE_SIZE - 1);
		memcpy(mp_src, &addr, sizeof(addr));
		c.dst = addr;
		c.src = mp_src;
		c.len = MMRT_PAGE_SIZE;
		c.mode = 0;
		c.copy = 0;
		ret = mmrt_uffd_copy(u, &c);
		if (ret == 0) {
			s->copies++;
		} else if (ret == -EEXIST) {
			s->eexist++;
			r.start = addr;
			r.len = MMRT_PAGE_SIZE;
			ret = mmrt_uffd_wake(u, &r);
			if (ret < 0)
				return ret;
		} else {
			return ret;
		}
	}
	return 0;
}

/*
 * The server loop, in the mode main sets, until MP_STOP or @p life
 * seconds. The thread is a registered poller (its consumer's owner):
 * every mode reports the quiescent state, so grace periods end while it
 * idles or handles.
 */
static int
mp_serve(struct mp_side *s, struct mmrt_consumer *c, struct mmrt_uffd *u,
	double life)
{
	double end = mp_wall() + life;
	uint32_t m, seen = 0;
	unsigned int k = 0;
	int ret = 0;

	while ((m = __atomic_load_n(&s->mode, __ATOMIC_ACQUIRE)) != MP_STOP) {
		if (m != seen) {
			seen = m;
			__atomic_store_n(&s->seen, m, __ATOMIC_RELEASE);
		}
		switch (m) {
		case MP_POLL:
			ret = mmrt_consumer_poll(c);
			s->polls++;
			rte_pause();
			break;
		case MP_HANDLE:
			ret = mp_serve_handle(s, u);
			if ((++k & 1023) == 0)
				mmrt_quiescent();
			break;
		default:
			ret = mmrt_consumer_poll(c);
			usleep(MP_IDLE_US);
			break;
		}
		if (ret < 0)
			break;
		if ((++k & 4095) == 0 && mp_wall() > end) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (ret < 0)
		s->error = ret;
	__atomic_store_n(&s->seen, MP_STOP, __ATOMIC_RELEASE);
	return ret;
}

static int
mp_uffd_pick(struct mmrt_uffd *u, unsigned int pos, void *arg)
{
	RTE_SET_USED(pos);
	*(struct mmrt_uffd **)arg = u;
	return 1;
}

/* Consumer "mp.cons.N" bound to "mp.inv.N", and the uffd of "mp.uf.N". */
static int
mp_side_setup(unsigned int n, struct mmrt_consumer **cp,
	struct mmrt_uffd **up)
{
	struct mmrt_consumer_conf cconf = {
		.ack_deadline_us = MP_ACK_DEADLINE_US };
	struct mmrt_as *inv, *uf;
	char name[32];
	int ret;

	snprintf(name, sizeof(name), "mp.inv.%u", n);
	inv = mmrt_as_lookup(name);
	snprintf(name, sizeof(name), "mp.uf.%u", n);
	uf = mmrt_as_lookup(name);
	if (inv == NULL || uf == NULL)
		return -ENOENT;
	*up = NULL;
	mmrt_uffd_foreach(uf, mp_uffd_pick, up);
	if (*up == NULL)
		return -ENOENT;
	snprintf(name, sizeof(name), "mp.cons.%u", n);
	cconf.name = name;
	*cp = mmrt_consumer_create(&cconf);
	if (*cp == NULL)
		return -rte_errno;
	ret = mmrt_consumer_bind(*cp, inv);
	if (ret < 0) {
		mmrt_consumer_destroy(*cp);
		*cp = NULL;
		return ret;
	}
	return 0;
}

/* Secondary EAL words: PREFIX HUGEDIR, lcore 2 on cpu 1. */
static int
mp_attach(const char *prog, const char *prefix, const char *huge)
{
	char *argv[] = {
		(char *)(uintptr_t)prog,
		(char *)(uintptr_t)"--proc-type=secondary",
		(char *)(uintptr_t)"--file-prefix", (char *)(uintptr_t)prefix,
		(char *)(uintptr_t)"--huge-dir", (char *)(uintptr_t)huge,
		(char *)(uintptr_t)"--no-pci",
		(char *)(uintptr_t)"--no-telemetry",
		(char *)(uintptr_t)"--lcores=2@1",
		(char *)(uintptr_t)"--log-level=lib.eal:error",
		NULL,
	};
	const struct rte_memzone *mz;
	int ret;

	ret = mmrt_init((int)RTE_DIM(argv) - 1, argv);
	if (ret < 0) {
		fprintf(stderr, "%s: secondary: mmrt_init: %s\n", prog,
			strerror(-ret));
		return ret;
	}
	mz = rte_memzone_lookup(MP_CTL);
	if (mz == NULL) {
		fprintf(stderr, "%s: secondary: no %s\n", prog, MP_CTL);
		mmrt_fini();
		return -ENOENT;
	}
	ctl = mz->addr;
	return 0;
}

static int
mp_touch_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms,
	void *arg)
{
	uint64_t off;

	RTE_SET_USED(msl);
	RTE_SET_USED(arg);
	/* an atomic or of 0: mapped for writing, no byte changed */
	for (off = 0; off < ms->len; off += ms->hugepage_sz)
		__atomic_fetch_or((uint8_t *)ms->addr + off, 0,
			__ATOMIC_RELAXED);
	return 0;
}

/* "server": side 1 of the inval and fault rows. */
static int
mp_secondary_server(void)
{
	struct mmrt_consumer *c = NULL;
	struct mmrt_uffd *u = NULL;
	struct mp_side *s = &ctl->side[1];
	int ret;

	/*
	 * DPDK maps the primary's hugepages into a secondary without
	 * touching them: the first access to each takes a kernel fault here,
	 * which the primary took at its start. Take them now, untimed, as
	 * the harnesses prefault a --no-huge pool.
	 */
	rte_memseg_walk(mp_touch_seg, NULL);
	ret = mmrt_thread_register();
	if (ret >= 0)
		ret = mp_side_setup(1, &c, &u);
	if (ret < 0) {
		s->error = ret;
		__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
		return ret;
	}
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	ret = mp_serve(s, c, u, MP_SERVE_S);
	mmrt_consumer_destroy(c);
	mmrt_thread_unregister();
	return ret;
}

/* "victim": bind, cache MP_KILL_PAGES translations, poll until killed. */
static int
mp_secondary_victim(void)
{
	const struct mmrt_consumer_conf cconf = { .name = "mp.victim",
		.tlb_sets = 64, .tlb_ways = 4,
		.ack_deadline_us = MP_VICTIM_DEADLINE_US };
	struct mmrt_consumer *c = NULL;
	struct mmrt_xlate x;
	struct mmrt_as *as;
	double end;
	unsigned int i;
	int ret;

	ret = mmrt_thread_register();
	as = mmrt_as_lookup("mp.kill");
	if (ret < 0 || as == NULL) {
		ctl->victim_error = ret < 0 ? ret : -ENOENT;
		return 1;
	}
	c = mmrt_consumer_create(&cconf);
	if (c == NULL || (ret = mmrt_consumer_bind(c, as)) < 0) {
		ctl->victim_error = c == NULL ? -rte_errno : ret;
		return 1;
	}
	for (i = 0; i < MP_KILL_PAGES; i++) {
		ret = mmrt_consumer_translate(c, MP_KILL_VA +
			(uint64_t)i * MMRT_PAGE_SIZE, MMRT_ACCESS_READ, &x);
		if (ret < 0) {
			ctl->victim_error = ret;
			return 1;
		}
	}
	__atomic_store_n(&ctl->victim_pid, (int32_t)getpid(),
		__ATOMIC_RELEASE);
	/* until SIGKILL; bounded should the primary be gone */
	end = mp_wall() + MP_WAIT_S;
	for (i = 0; ; i++) {
		mmrt_consumer_poll(c);
		rte_pause();
		if ((i & 4095) == 0 && mp_wall() > end)
			break;
	}
	mmrt_consumer_destroy(c);
	mmrt_thread_unregister();
	return 1;
}

/* perf-mp --secondary server|victim PREFIX HUGEDIR */
static int
mp_secondary(int argc, char **argv)
{
	int ret;

	if (argc != 5)
		return 2;
	if (mp_attach(argv[0], argv[3], argv[4]) < 0)
		return 1;
	if (strcmp(argv[2], "server") == 0)
		ret = mp_secondary_server() < 0 ? 1 : 0;
	else if (strcmp(argv[2], "victim") == 0)
		ret = mp_secondary_victim();
	else
		ret = 2;
	if (mmrt_fini() < 0 && ret == 0)
		ret = 1;
	return ret;
}

/* ------------------------------------------------------------------ */
/* The primary. */

static const char *mp_prefix;
static const char *mp_huge;

/* exec this program as a secondary of @p role; @return its pid. */
static pid_t
mp_spawn(const char *role)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		perf_die("fork: %s", strerror(errno));
	if (pid == 0) {
		execl("/proc/self/exe", MP_PROG, "--secondary", role,
			mp_prefix, mp_huge, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Wait for @p pid to exit, at most @p secs; @return its status or -1. */
static int
mp_reap_child(pid_t pid, double secs)
{
	double end = mp_wall() + secs;
	int st;
	pid_t r;

	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && mp_wall() < end)
		usleep(1000);
	if (r == pid)
		return st;
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void
mp_set_mode(unsigned int side, enum mp_mode m)
{
	__atomic_store_n(&ctl->side[side].mode, m, __ATOMIC_RELEASE);
}

/* Put @p active in @p m and the other side in IDLE; wait until both are. */
static void
mp_turn(int active, enum mp_mode m)
{
	double end = mp_wall() + MP_WAIT_S;
	unsigned int i;

	for (i = 0; i < 2; i++)
		mp_set_mode(i, (int)i == active ? m : MP_IDLE);
	for (i = 0; i < 2; i++) {
		while (__atomic_load_n(&ctl->side[i].seen, __ATOMIC_ACQUIRE) !=
				((int)i == active ? (uint32_t)m : MP_IDLE)) {
			if (ctl->side[i].error < 0)
				perf_die("side %u: %s", i,
					strerror(-ctl->side[i].error));
			if (mp_wall() > end)
				perf_die("side %u did not take mode %u in %d s",
					i, (unsigned int)m, MP_WAIT_S);
			usleep(50);
		}
	}
}

static int
mp_worker(void *arg)
{
	struct mmrt_consumer *c = NULL;
	struct mmrt_uffd *u = NULL;
	struct mp_side *s = &ctl->side[0];
	int ret;

	RTE_SET_USED(arg);
	ret = mmrt_thread_register();
	if (ret >= 0)
		ret = mp_side_setup(0, &c, &u);
	if (ret < 0) {
		s->error = ret;
		__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
		return ret;
	}
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	ret = mp_serve(s, c, u, MP_RUN_S);
	/* the primary's consumer is destroyed by its thread, unbound */
	mmrt_consumer_destroy(c);
	mmrt_thread_unregister();
	return ret;
}

static void
mp_wait_ready(unsigned int side, pid_t pid)
{
	double end = mp_wall() + MP_WAIT_S;

	while (!__atomic_load_n(&ctl->side[side].ready, __ATOMIC_ACQUIRE)) {
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			perf_die("the secondary exited before it was ready");
		if (mp_wall() > end)
			perf_die("side %u not ready in %d s", side, MP_WAIT_S);
		usleep(1000);
	}
	if (ctl->side[side].error < 0)
		perf_die("side %u: setup: %s", side,
			strerror(-ctl->side[side].error));
}

struct mp_spaces {
	struct mmrt_as *inv[2];
	struct mmrt_as *uf[2];
	struct mmrt_uffd *u[2];
	struct mmrt_consumer *fc[2]; /* the main lcore's faulting consumers */
	struct mmrt_as *kill;
	uint64_t uf_pages;
};

static void
mp_spaces_setup(struct mp_spaces *sp, uint64_t uf_pages)
{
	struct mmrt_consumer_conf cconf = {
		.ack_deadline_us = MP_ACK_DEADLINE_US };
	uint64_t features, ops;
	char name[32];
	unsigned int i;
	int ret;

	sp->uf_pages = uf_pages;
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "mp.inv.%u", i);
		sp->inv[i] = mmrt_as_create(name);
		snprintf(name, sizeof(name), "mp.uf.%u", i);
		sp->uf[i] = mmrt_as_create(name);
		if (sp->inv[i] == NULL || sp->uf[i] == NULL)
			perf_die("mmrt_as_create: %s", strerror(rte_errno));
		ret = mmrt_map(sp->inv[i], MP_INV_VA, MMRT_PAGE_SIZE,
			MMRT_PROT_READ | MMRT_PROT_WRITE, MMRT_MAP_POPULATE);
		if (ret < 0)
			perf_die("mmrt_map: %s", strerror(-ret));
		ret = mmrt_map(sp->uf[i], MP_UF_VA, uf_pages * MMRT_PAGE_SIZE,
			MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
		if (ret < 0)
			perf_die("mmrt_map: %s", strerror(-ret));
		features = 0;
		sp->u[i] = mmrt_uffd_create(sp->uf[i], MMRT_UFFD_API,
			&features, NULL);
		if (sp->u[i] == NULL)
			perf_die("mmrt_uffd_create: %s", strerror(rte_errno));
		ops = 0;
		ret = mmrt_uffd_register(sp->u[i], MP_UF_VA,
			uf_pages * MMRT_PAGE_SIZE,
			MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
		if (ret < 0)
			perf_die("mmrt_uffd_register: %s", strerror(-ret));
		snprintf(name, sizeof(name), "mp.fault.%u", i);
		cconf.name = name;
		sp->fc[i] = perf_consumer(sp->uf[i], &cconf);
	}
	sp->kill = perf_as_create("mp.kill");
}

static void
mp_spaces_teardown(struct mp_spaces *sp)
{
	unsigned int i;
	int ret;

	for (i = 0; i < 2; i++) {
		if (mmrt_consumer_fenced(sp->fc[i]))
			perf_die("faulting consumer %u was fenced", i);
		ret = mmrt_consumer_destroy(sp->fc[i]);
		if (ret == 0)
			ret = mmrt_uffd_destroy(sp->u[i]);
		if (ret == 0)
			ret = mmrt_as_destroy(sp->uf[i]);
		if (ret == 0)
			ret = mmrt_as_destroy(sp->inv[i]);
		if (ret < 0)
			perf_die("teardown of side %u: %s", i, strerror(-ret));
	}
	ret = mmrt_as_destroy(sp->kill);
	if (ret < 0)
		perf_die("mmrt_as_destroy(mp.kill): %s", strerror(-ret));
}

/* ---- invalidation round trip */

static void
mp_inval(struct mp_spaces *sp, unsigned int n, struct perf_samples s[2])
{
	unsigned int b, i, side, per = n / MP_BLOCKS;

	for (b = 0; b < MP_BLOCKS; b++) {
		for (i = 0; i < 2; i++) {
			side = (b + i) % 2;
			mp_turn((int)side, MP_POLL);
			perf_downgrades(sp->inv[side], MP_INV_VA, 16, NULL);
			perf_downgrades(sp->inv[side], MP_INV_VA, per, &s[side]);
		}
	}
	mp_turn(-1, MP_IDLE);
}

/* ---- fault round trip */

static void
mp_fault_reset(struct mp_spaces *sp, unsigned int side)
{
	struct mmrt_as_stats st;
	int ret;

	/* this thread owns the consumer: unbound, the advise waits for no one */
	ret = mmrt_consumer_unbind(sp->fc[side]);
	if (ret < 0 && ret != -ENOTCONN)
		perf_die("mmrt_consumer_unbind: %s", strerror(-ret));
	ret = mmrt_advise(sp->uf[side], MP_UF_VA,
		sp->uf_pages * MMRT_PAGE_SIZE, MMRT_ADV_DONTNEED);
	if (ret < 0)
		perf_die("mmrt_advise(DONTNEED): %s", strerror(-ret));
	ret = mmrt_as_stats(sp->uf[side], &st);
	if (ret < 0 || st.rss_pages != 0)
		perf_die("pages left after DONTNEED (%d)", ret);
	ret = mmrt_consumer_bind(sp->fc[side], sp->uf[side]);
	if (ret < 0)
		perf_die("mmrt_consumer_bind: %s", strerror(-ret));
}

/* The first faults of the passes of one side (info line: the turn's). */
struct mp_fault_split {
	struct perf_samples first;
};

static void
mp_fault_pass(struct mp_spaces *sp, unsigned int side, struct perf_samples *s,
	struct mp_fault_split *split)
{
	struct mmrt_consumer *c = sp->fc[side];
	struct mmrt_xlate x;
	uint64_t i, va, t0, t1, tries;
	int ret;

	for (i = 0; i < sp->uf_pages; i++) {
		va = MP_UF_VA + i * MMRT_PAGE_SIZE;
		t0 = perf_now();
		ret = mmrt_consumer_translate(c, va, MMRT_ACCESS_READ, &x);
		if (ret != -EAGAIN)
			perf_die("first translate of 0x%" PRIx64 ": %d, not "
				"-EAGAIN", va, ret);
		tries = 0;
		do {
			mmrt_consumer_poll(c);
			rte_pause();
			ret = mmrt_consumer_translate(c, va, MMRT_ACCESS_READ,
				&x);
			/* bounded: a handler that stopped serving */
			if (ret == -EAGAIN && (++tries & 65535) == 0 &&
					perf_ns(perf_now() - t0) >
					MP_WAIT_S * 1e9)
				perf_die("fault 0x%" PRIx64 " not served in "
					"%d s", va, MP_WAIT_S);
		} while (ret == -EAGAIN);
		t1 = perf_now();
		if (ret != 0)
			perf_die("translate 0x%" PRIx64 ": %s", va,
				strerror(-ret));
		if (*(const uint64_t *)x.addr != va)
			perf_die("page 0x%" PRIx64 " reads 0x%" PRIx64
				" (not the handler's copy)", va,
				*(const uint64_t *)x.addr);
		/*
		 * The first fault of a pass pays the turn: right after the
		 * reset (unbind, DONTNEED, bind) and the mode switch on cpu 1,
		 * on either side every step of it runs from cold caches and
		 * it takes 10-20 us, where the second fault is as fast as the
		 * rest. It stays in the row (1 sample in 256: below the p99)
		 * and is also shown apart (info line).
		 */
		if (s != NULL) {
			perf_samples_add(s, perf_ns(t1 - t0));
			if (i == 0)
				perf_samples_add(&split->first,
					perf_ns(t1 - t0));
		}
	}
	mmrt_consumer_poll(c);
}

static void
mp_fault(struct mp_spaces *sp, unsigned int passes, struct perf_samples s[2])
{
	struct mp_fault_split split[2];
	struct app_pct first[2];
	unsigned int p, i, side;
	int ret;

	for (side = 0; side < 2; side++)
		if (perf_samples_init(&split[side].first, passes) < 0)
			perf_die("out of memory for samples");

	/* the faulting consumers' owner is a registered poller */
	ret = mmrt_thread_register();
	if (ret < 0)
		perf_die("mmrt_thread_register: %s", strerror(-ret));
	/* one untimed pass of each */
	for (side = 0; side < 2; side++) {
		mp_turn(-1, MP_IDLE);
		mp_fault_reset(sp, side);
		mp_turn((int)side, MP_HANDLE);
		mp_fault_pass(sp, side, NULL, NULL);
	}
	for (p = 0; p < passes; p++) {
		for (i = 0; i < 2; i++) {
			side = (p + i) % 2;
			mp_turn(-1, MP_IDLE);
			mp_fault_reset(sp, side);
			mp_turn((int)side, MP_HANDLE);
			mp_fault_pass(sp, side, &s[side], &split[side]);
		}
	}
	mp_turn(-1, MP_IDLE);
	mmrt_thread_unregister();
	for (side = 0; side < 2; side++) {
		perf_percentiles(&split[side].first, &first[side]);
		perf_samples_free(&split[side].first);
	}
	/* q[45]: the sketch's level 0.90 */
	printf("mp-fault-rt, same process / secondary: the first fault of "
		"each pass (the turn's; in the rows too) p50 %.0f / %.0f ns, "
		"p90 %.0f / %.0f ns\n", first[0].p50, first[1].p50,
		first[0].q[45], first[1].q[45]);
}

/* ---- death to reclaim */

static uint64_t
mp_pool_free(void)
{
	struct mmrt_mem_stats st;

	mmrt_mem_cache_flush();
	if (mmrt_mem_stats(&st) != 0)
		perf_die("mmrt_mem_stats");
	return st.frames_free;
}

/*
 * One round: a victim bound and caching, SIGKILL, then either (@p
 * reap_first false) the primary's unmap, which waits out the dead
 * consumer's ack deadline, fences it and quarantines the frames, and the
 * reap that releases them; or (@p reap_first true) a housekeeping reap at
 * once, looping until the death is visible, then the unmap, which has no
 * consumer left to wait for. Samples (us): SIGKILL to the frames back in
 * @p sd; the second step's start to the same point in @p sr.
 */
static void
mp_kill_round(struct mp_spaces *sp, bool reap_first, struct perf_samples *sd,
	struct perf_samples *sr)
{
	double end;
	uint64_t base, free_now, t0, t1, t2;
	int32_t vpid;
	int ret, reaped = 0, st;
	pid_t pid;

	mmrt_mm_reclaim(true);
	base = mp_pool_free();
	ret = mmrt_map(sp->kill, MP_KILL_VA,
		(uint64_t)MP_KILL_PAGES * MMRT_PAGE_SIZE,
		MMRT_PROT_READ | MMRT_PROT_WRITE, MMRT_MAP_POPULATE);
	if (ret < 0)
		perf_die("mmrt_map(mp.kill): %s", strerror(-ret));
	__atomic_store_n(&ctl->victim_pid, 0, __ATOMIC_RELEASE);
	ctl->victim_error = 0;
	pid = mp_spawn("victim");
	end = mp_wall() + MP_WAIT_S;
	while ((vpid = __atomic_load_n(&ctl->victim_pid,
			__ATOMIC_ACQUIRE)) == 0) {
		if (ctl->victim_error < 0)
			perf_die("victim: %s", strerror(-ctl->victim_error));
		if (waitpid(pid, &st, WNOHANG) == pid)
			perf_die("the victim exited before it was bound");
		if (mp_wall() > end)
			perf_die("the victim did not bind in %d s", MP_WAIT_S);
		usleep(1000);
	}
	if (vpid != pid)
		perf_die("victim pid %d, spawned %d", (int)vpid, (int)pid);
	usleep(2000); /* let it poll a moment: a live, bound consumer */

	t0 = perf_now();
	if (kill(pid, SIGKILL) != 0)
		perf_die("kill: %s", strerror(errno));
	end = mp_wall() + MP_WAIT_S;
	if (reap_first) {
		/* the death is seen once the kernel made it a zombie */
		while (reaped == 0) {
			ret = mmrt_reap_dead();
			if (ret < 0)
				perf_die("mmrt_reap_dead: %s", strerror(-ret));
			reaped += ret;
			if (mp_wall() > end)
				perf_die("no dead process found in %d s",
					MP_WAIT_S);
		}
	}
	t1 = perf_now();
	/*
	 * Unmap first: the consumer misses its ack deadline, is fenced, the
	 * frames are quarantined until the reap. Reaped first: no consumer.
	 */
	ret = mmrt_unmap(sp->kill, MP_KILL_VA,
		(uint64_t)MP_KILL_PAGES * MMRT_PAGE_SIZE);
	if (ret < 0)
		perf_die("mmrt_unmap(mp.kill): %s", strerror(-ret));
	if (!reap_first)
		t1 = perf_now();
	for (;;) {
		if (reaped == 0) {
			ret = mmrt_reap_dead();
			if (ret < 0)
				perf_die("mmrt_reap_dead: %s", strerror(-ret));
			reaped += ret;
		}
		if (reaped > 0) {
			free_now = mp_pool_free();
			if (free_now >= base)
				break;
			mmrt_mm_reclaim(false);
		}
		if (mp_wall() > end)
			perf_die("not reclaimed in %d s: reaped %d, free %"
				PRIu64 " of %" PRIu64, MP_WAIT_S, reaped,
				mp_pool_free(), base);
		rte_pause();
	}
	t2 = perf_now();
	if (reaped != 1)
		perf_die("mmrt_reap_dead reclaimed %d processes", reaped);
	if (mp_reap_child(pid, MP_WAIT_S) == -1)
		perf_die("the victim did not end");
	perf_samples_add(sd, perf_ns(t2 - t0) / 1000.0);
	perf_samples_add(sr, perf_ns(t2 - t1) / 1000.0);
}

/* ---- results */

static void
mp_result(struct perf_result *r, const char *name, const char *anchor,
	const char *unit, double target, const struct perf_samples *sm,
	const struct perf_samples *sa, bool p99)
{
	perf_result_set(r, name, anchor, unit, target, sm, sa);
	if (p99) {
		r->value = r->pct.p99;
		r->anchor_value = r->anchor_pct.p99;
	}
}

/*
 * Samples over MP_SLOW_NS: the tail a p99 of a few thousand samples rests
 * on (about 10 times the p50 of either round trip: a preemption or a
 * host stall, not the mechanism).
 */
#define MP_SLOW_NS 20000.0

static size_t
mp_slow(const struct perf_samples *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->n; i++)
		n += s->v[i] > MP_SLOW_NS;
	return n;
}

static int
mp_primary(int argc, char **argv)
{
	const char *eal[] = {
		"--lcores=0@0,1@1", "-m", MP_EAL_MB,
		"--file-prefix", mp_prefix, "--huge-dir", mp_huge,
		"--no-pci", "--no-telemetry", "--log-level=lib.eal:error",
		NULL,
	};
	struct perf_samples si[2], sf[2], sd[2], sr[2];
	struct perf_result res[6];
	struct app_pct pr[2];
	const struct rte_memzone *mz;
	struct mp_spaces sp;
	struct mmrt_mem_stats mst;
	struct perf_opts opts;
	unsigned int n_inval, passes, rounds, r;
	double t;
	pid_t spid;
	int ret, st;

	perf_parse_args(argc, argv, MP_PROG, &opts);
	perf_init_eal(MP_PROG, MP_POOL_MB, &opts, eal);
	if (mmrt_mem_stats(&mst) < 0 || !mst.hugepages)
		perf_die("the pool is not on hugepages");
	n_inval = opts.quick ? 10000 : 200000;
	passes = opts.quick ? 8 : 64;
	rounds = opts.quick ? 5 : 30;

	mz = rte_memzone_reserve(MP_CTL, sizeof(*ctl), SOCKET_ID_ANY, 0);
	if (mz == NULL)
		perf_die("rte_memzone_reserve: %s", rte_strerror(rte_errno));
	ctl = mz->addr;
	memset(ctl, 0, sizeof(*ctl));
	ctl->side[0].mode = MP_IDLE;
	ctl->side[1].mode = MP_IDLE;

	mp_spaces_setup(&sp, MP_UF_PAGES);
	if (perf_samples_init(&si[0], n_inval) < 0 ||
			perf_samples_init(&si[1], n_inval) < 0 ||
			perf_samples_init(&sf[0], passes * sp.uf_pages) < 0 ||
			perf_samples_init(&sf[1], passes * sp.uf_pages) < 0 ||
			perf_samples_init(&sd[0], rounds) < 0 ||
			perf_samples_init(&sd[1], rounds) < 0 ||
			perf_samples_init(&sr[0], rounds) < 0 ||
			perf_samples_init(&sr[1], rounds) < 0)
		perf_die("out of memory for samples");

	ret = app_worker_launch(mp_worker, NULL, 1);
	if (ret < 0)
		perf_die("launch on lcore 1: %s", strerror(-ret));
	mp_wait_ready(0, 0);
	spid = mp_spawn("server");
	mp_wait_ready(1, spid);
	printf("main lcore 0 (cpu 0); side 0: the primary's lcore 1 (cpu 1), "
		"side 1: secondary pid %d on lcore 2 (cpu 1)\n", (int)spid);

	t = mp_wall();
	mp_inval(&sp, n_inval, si);
	printf("mp-inval-rt: %u protects per side in %u turns (%.1f s); "
		"polls: primary %" PRIu64 ", secondary %" PRIu64 "\n",
		n_inval / MP_BLOCKS * MP_BLOCKS, MP_BLOCKS, mp_wall() - t,
		ctl->side[0].polls, ctl->side[1].polls);
	t = mp_wall();
	mp_fault(&sp, passes, sf);
	printf("mp-fault-rt: %u passes of %" PRIu64 " pages per side (%.1f "
		"s); handler copies: primary %" PRIu64 ", secondary %" PRIu64
		" (EEXIST %" PRIu64 ", %" PRIu64 ")\n", passes, sp.uf_pages,
		mp_wall() - t, ctl->side[0].copies, ctl->side[1].copies,
		ctl->side[0].eexist, ctl->side[1].eexist);

	/* the servers leave; the victims have cpu 1 to themselves */
	mp_set_mode(0, MP_STOP);
	mp_set_mode(1, MP_STOP);
	ret = app_worker_wait(1);
	if (ret < 0)
		perf_die("side 0: %s", strerror(-ret));
	st = mp_reap_child(spid, MP_WAIT_S);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		perf_die("the secondary server ended badly (%d)", st);

	/* the two orders alternate */
	t = mp_wall();
	for (r = 0; r < 2 * rounds; r++)
		mp_kill_round(&sp, r % 2 != 0, &sd[r % 2], &sr[r % 2]);
	printf("mp-death-to-reclaim: %u rounds of each order (%.1f s), %u "
		"pages cached by the victim's consumer, its ack deadline %u "
		"us\n", rounds, mp_wall() - t, MP_KILL_PAGES,
		MP_VICTIM_DEADLINE_US);

	printf("slow round trips (over %.0f us), same process / secondary: "
		"inval %zu / %zu of %zu, fault %zu / %zu of %zu\n",
		MP_SLOW_NS / 1000.0, mp_slow(&si[0]), mp_slow(&si[1]), si[0].n,
		mp_slow(&sf[0]), mp_slow(&sf[1]), sf[0].n);
	mp_result(&res[0], "mp-inval-rt", "inval-rt-same-process", "ns/rt",
		MP_TARGET, &si[1], &si[0], false);
	mp_result(&res[1], "mp-inval-rt-p99", "inval-rt-same-process-p99",
		"ns/rt", MP_TARGET, &si[1], &si[0], true);
	mp_result(&res[2], "mp-fault-rt", "fault-rt-same-process",
		"ns/fault", MP_TARGET, &sf[1], &sf[0], false);
	mp_result(&res[3], "mp-fault-rt-p99", "fault-rt-same-process-p99",
		"ns/fault", MP_TARGET, &sf[1], &sf[0], true);
	mp_result(&res[4], "mp-death-to-reclaim", "ack-deadline", "us",
		PERF_REPORT_ONLY, &sd[0], NULL, false);
	res[4].anchor_value = MP_VICTIM_DEADLINE_US;
	mp_result(&res[5], "mp-death-to-reclaim-reaped", "ack-deadline", "us",
		PERF_REPORT_ONLY, &sd[1], NULL, false);
	res[5].anchor_value = MP_VICTIM_DEADLINE_US;
	perf_percentiles(&sr[0], &pr[0]);
	perf_percentiles(&sr[1], &pr[1]);
	printf("mp-death-to-reclaim (unmap first): p50 %.0f us, max %.0f us;"
		" of it, the reap and the frames' return after the unmap: "
		"p50 %.0f us, max %.0f us\n", res[4].pct.p50, res[4].pct.max,
		pr[0].p50, pr[0].max);
	printf("mp-death-to-reclaim-reaped (reap first): p50 %.0f us, max "
		"%.0f us; of it, the unmap and the frames' return after the "
		"reap: p50 %.0f us, max %.0f us\n", res[5].pct.p50,
		res[5].pct.max, pr[1].p50, pr[1].max);

	mp_spaces_teardown(&sp);
	for (r = 0; r < 2; r++) {
		perf_samples_free(&si[r]);
		perf_samples_free(&sf[r]);
		perf_samples_free(&sd[r]);
		perf_samples_free(&sr[r]);
	}
	ret = perf_report(&opts, res, RTE_DIM(res));
	perf_fini();
	return ret;
}

/* ------------------------------------------------------------------ */
/* The supervisor: hugepages, the primary's process group, cleanup. */

static long
mp_sysfs_read(const char *file)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), MP_HP "/%s", file);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int
mp_sysfs_write(const char *file, long v)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), MP_HP "/%s", file);
	f = fopen(path, "w");
	if (f == NULL)
		return -errno;
	ret = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	return ret;
}

static int
mp_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	RTE_SET_USED(sb);
	RTE_SET_USED(flag);
	RTE_SET_USED(ftw);
	remove(path);
	return 0;
}

static void
mp_rm_tree(const char *dir)
{
	nftw(dir, mp_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void
mp_skip(const char *why)
{
	printf("%s: skipped: %s\n", MP_PROG, why);
	exit(0);
}

int
main(int argc, char **argv)
{
	char huge[] = "/tmp/perf-mp.XXXXXX";
	char prefix[32], rundir[64], why[160];
	long before, after, reserved = 0, free_pages;
	struct perf_opts opts;
	double end;
	pid_t pid, r;
	int st = 0, rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "--secondary") == 0)
		return mp_secondary(argc, argv);
	/* usage errors before anything is reserved */
	perf_parse_args(argc, argv, MP_PROG, &opts);

	if (geteuid() != 0)
		mp_skip("needs root: a DPDK 22.11 secondary cannot attach to "
			"a --no-huge primary, and hugepages need root to "
			"reserve and mount");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		mp_skip("needs 2 cpus (main lcore and the servers' cpu)");
	if (access(MP_HP, F_OK) != 0)
		mp_skip("no 2 MiB hugepages in this kernel");
	if (mkdtemp(huge) == NULL)
		mp_skip("mkdtemp failed");
	if (mount("nodev", huge, "hugetlbfs", 0, "pagesize=2M") != 0) {
		rmdir(huge);
		snprintf(why, sizeof(why), "cannot mount hugetlbfs: %s",
			strerror(errno));
		mp_skip(why);
	}
	free_pages = mp_sysfs_read("free_hugepages");
	if (free_pages < MP_HUGE_PAGES) {
		before = mp_sysfs_read("nr_hugepages");
		if (before >= 0)
			mp_sysfs_write("nr_hugepages",
				before + MP_HUGE_PAGES - free_pages);
		after = mp_sysfs_read("nr_hugepages");
		reserved = before >= 0 && after > before ? after - before : 0;
		printf("%s: reserved %ld 2 MiB hugepages\n", MP_PROG,
			reserved);
		free_pages = mp_sysfs_read("free_hugepages");
	}
	snprintf(prefix, sizeof(prefix), "perf-mp-%d", (int)getpid());
	snprintf(rundir, sizeof(rundir), "/var/run/dpdk/%s", prefix);
	if (free_pages < MP_HUGE_PAGES) {
		snprintf(why, sizeof(why), "only %ld free 2 MiB hugepages, "
			"need %d", free_pages, MP_HUGE_PAGES);
		rc = -1;
		goto cleanup;
	}

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		rc = -1;
		goto cleanup;
	}
	if (pid == 0) {
		setpgid(0, 0);
		mp_prefix = prefix;
		mp_huge = huge;
		exit(mp_primary(argc, argv));
	}
	setpgid(pid, pid);
	end = mp_wall() + MP_RUN_S;
	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && mp_wall() < end)
		usleep(10000);
	if (r != pid) {
		fprintf(stderr, "%s: the primary ran over %d s, killed\n",
			MP_PROG, MP_RUN_S);
		kill(-pid, SIGKILL);
		waitpid(pid, &st, 0);
		rc = 1;
	} else if (WIFEXITED(st)) {
		rc = WEXITSTATUS(st);
	} else {
		fprintf(stderr, "%s: the primary ended by signal %d\n",
			MP_PROG, WTERMSIG(st));
		rc = 1;
	}
	/*
	 * Any secondary left over (a primary that died): killed, and gone
	 * before the unmount (it maps the hugetlbfs files). Not our
	 * children: poll the group until it is empty (bounded).
	 */
	kill(-pid, SIGKILL);
	end = mp_wall() + MP_WAIT_S;
	while (kill(-pid, 0) == 0 && mp_wall() < end)
		usleep(10000);
cleanup:
	mp_rm_tree(rundir);
	mp_rm_tree(huge);
	end = mp_wall() + MP_WAIT_S;
	while (umount(huge) != 0) {
		if (errno != EBUSY || mp_wall() > end) {
			fprintf(stderr, "%s: umount %s: %s\n", MP_PROG, huge,
				strerror(errno));
			break;
		}
		usleep(100000);
	}
	rmdir(huge);
	if (reserved > 0) {
		before = mp_sysfs_read("nr_hugepages");
		if (before >= reserved &&
				mp_sysfs_write("nr_hugepages",
				before - reserved) == 0)
			printf("%s: gave back %ld hugepages (%ld left)\n",
				MP_PROG, reserved,
				mp_sysfs_read("nr_hugepages"));
		else
			fprintf(stderr, "%s: could not give back %ld "
				"hugepages\n", MP_PROG, reserved);
	}
	if (rc < 0)
		mp_skip(why);
	return rc;
}
