/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * kill-peer: the two sides of the kill test (check-kill.sh, issue 14
 * item 2): a secondary that works is killed with SIGKILL at a random
 * moment, and the primary checks that nothing was lost or stopped.
 *
 *   kill-peer primary HOLD [EAL args] [-- mmrt args]
 *     mmrt up; the space "kill.as" with SRC (64 pages, pattern 1 + page),
 *     DST (64 pages), INV (16 pages, pattern 3) and PIN (4 pages, right
 *     after SRC in its page table, pattern 11) populated; the space
 *     "kill.canary" (32 pages, pattern 9); the space "kill.uf" whose UF
 *     range (64 pages) is registered MISSING with the primary's uffd; a
 *     consumer of its own ("kill.primary") on "kill.as", owned by the
 *     main thread. Environment KILL_SKIP=qsbr|quarantine arms the
 *     negative control (mmrt_test_reap_skip()). Prints "ready", then
 *     runs commands from stdin (at most HOLD seconds in all; the main
 *     thread polls its consumer between commands):
 *       begin  UF emptied, deferred frees drained; the pool's free count
 *              is the round's baseline; a faulter thread starts reading
 *              UF pages one by one (each a userfault a secondary serves)
 *              and the main thread protects SRC read-only and back every
 *              few ms (invalidations every consumer on "kill.as" acks).
 *              "begun <free>"
 *       fence  (the worker was killed) stress stops; INV is unmapped: the
 *              dead worker's consumer misses the ack deadline and is
 *              fenced; then every translation left in its TLB must reach
 *              a frame that is not free (invariant A: the quarantine
 *              holds them), and a grace period must end (its reader slots
 *              were freed). INV is mapped again. PIN, which the dead
 *              worker pinned, is unmapped (its frames stay held by the
 *              dead pin) and mapped and filled again. "fenced ok" or
 *              "fenced FAIL <why>"; under a negative control
 *              "control caught <what>" and the process ends at once.
 *       reap   mmrt_reap_dead() must reclaim one process; no consumer of
 *              a worker is left and no page of "kill.as" is pinned (the
 *              dead worker's pin was released: the old PIN frames are
 *              free again). "reaped ok" / "reaped FAIL <why>"
 *       end    (a new worker serves) the faulter stops (its last fault,
 *              read by the dead worker, was served by the new one); UF is
 *              emptied and drained again; the free count must equal the
 *              baseline; the canary, SRC through the primary's consumer,
 *              and the primary's consumer's invalidations still work.
 *              "round ok" / "round FAIL <why>"
 *       EOF    tear down, mmrt_fini(); "primary done ok|FAIL".
 *   kill-peer worker N [EAL args with --proc-type=secondary]
 *     attaches; a consumer "kill.w<N>" (ack deadline 50 ms) bound to
 *     "kill.as"; a handler of the uffd of "kill.uf"; a pin of PIN, held
 *     until SIGTERM (prints "pin <ret>"); after its first pass,
 *     "working". Then, until SIGTERM: per page, translate SRC and
 *     DST through the consumer and copy 4 KiB in four 1 KiB pieces (an
 *     engine's operation, killable in the middle), read a byte of INV
 *     through it (so its TLB holds INV), poll, report quiescent; read
 *     userfaults and serve each a random 0-4 ms after reading it (so a
 *     kill often finds faults read and not resolved). SIGTERM: serve
 *     what it holds, unpin, destroy, mmrt_fini(), "worker ok".
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_rcu_qsbr.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <mmrt_uffd.h>

#include "peer_common.h"

#define K_AS "kill.as"
#define K_CANARY "kill.canary"
#define K_UF "kill.uf"
#define K_SRC 0x10000000ULL
#define K_DST 0x20000000ULL
#define K_INV 0x30000000ULL
#define K_CAN 0x50000000ULL
#define K_PIN (K_SRC + K_NPG * PG)
#define K_NPIN 4
#define K_UFVA 0x40000000ULL
#define K_NPG 64
#define K_NINV 16
#define K_NCAN 32
#define K_NUF 64
#define K_WAIT_S 60 /* bound of a wait that must end (not a measurement) */
#define PG MMRT_PAGE_SIZE
#define RW (MMRT_PROT_READ | MMRT_PROT_WRITE)

/* ---- primary ----------------------------------------------------------- */

static struct mmrt_as *k_as, *k_can, *k_uf;
static struct mmrt_uffd *k_u;
static struct mmrt_consumer *k_pc;
static pthread_t k_faulter;
static bool k_faulting;
static volatile bool k_fault_stop;
static unsigned int k_fault_next;
static uint64_t k_faults_done, k_faults_bad;
static uint32_t k_skip;

static void *
faulter(void *arg)
{
	uint8_t buf[64];
	int ret;

	RTE_SET_USED(arg);
	while (!k_fault_stop && k_fault_next < K_NUF) {
		ret = mmrt_read(k_uf, K_UFVA + (uint64_t)k_fault_next * PG,
			buf, sizeof(buf));
		if (ret != 0 || differs(buf, sizeof(buf), 5) >= 0) {
			fprintf(stderr, "kill-peer: fault of UF page %u: %d\n",
				k_fault_next, ret);
			__atomic_fetch_add(&k_faults_bad, 1, __ATOMIC_RELAXED);
		}
		__atomic_fetch_add(&k_faults_done, 1, __ATOMIC_RELAXED);
		k_fault_next++;
		usleep(20 * 1000);
	}
	return NULL;
}

/* UF empty and registered again, deferred frees drained. */
static int
uf_reset(void)
{
	uint64_t ops = 0;
	int ret;

	ret = mmrt_unmap(k_uf, K_UFVA, K_NUF * PG);
	if (ret == 0)
		ret = mmrt_map(k_uf, K_UFVA, K_NUF * PG, RW, 0);
	if (ret == 0)
		ret = mmrt_uffd_register(k_u, K_UFVA, K_NUF * PG,
			MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
	mmrt_mm_reclaim(true);
	return ret;
}

/* PIN unmapped (if it was) and mapped again with pattern 11. */
static int
pin_remap(void)
{
	static uint8_t buf[K_NPIN * PG];
	int ret;

	fill(buf, sizeof(buf), 11);
	ret = mmrt_unmap(k_as, K_PIN, K_NPIN * PG);
	if (ret == 0)
		ret = mmrt_map(k_as, K_PIN, K_NPIN * PG, RW,
			MMRT_MAP_POPULATE);
	if (ret == 0)
		ret = mmrt_write(k_as, K_PIN, buf, sizeof(buf));
	return ret;
}

static uint64_t
pool_free(void)
{
	struct mmrt_mem_stats st;

	mmrt_mem_cache_flush();
	if (mmrt_mem_stats(&st) != 0)
		return 0;
	return st.frames_free;
}

static int
is_worker(struct mmrt_consumer *c, void *arg)
{
	const char *name = mmrt_consumer_name(c);

	if (name != NULL && strncmp(name, "kill.w", 6) == 0) {
		*(struct mmrt_consumer **)arg = c;
		return 1;
	}
	return 0;
}

/*
 * Frames a dead consumer's TLB still reaches that are free: must be 0.
 * The TLB is shared memory (mmrt_dev_core.h gives its layout).
 */
static unsigned int
dead_reach_free(struct mmrt_consumer *c, unsigned int *reach)
{
	const struct mmrt_consumer_core *cc =
		(const struct mmrt_consumer_core *)c;
	uint64_t n, i, va, addr, tag, data;
	const struct mmrt_frame *f;
	unsigned int bad = 0;
	uint32_t pfn;

	n = (uint64_t)(cc->set_mask + 1) *
		RTE_ALIGN_CEIL(cc->ways, MMRT_DEV_TLB_BLOCK);
	*reach = 0;
	for (i = 0; i < n; i++) {
		tag = cc->tlb[i / MMRT_DEV_TLB_BLOCK].tag[i % MMRT_DEV_TLB_BLOCK];
		data = cc->tlb[i / MMRT_DEV_TLB_BLOCK].data[i %
			MMRT_DEV_TLB_BLOCK];
		if (!(tag & MMRT_DEV_TLBE_V) || (data & MMRT_DEV_TLBE_HOST))
			continue;
		va = tag & ~(uint64_t)(PG - 1);
		addr = va + (data & ~(uint64_t)MMRT_DEV_TLBE_DMASK);
		pfn = mmrt_addr_to_pfn((const void *)(uintptr_t)addr);
		if (pfn == MMRT_PFN_NONE)
			continue;
		(*reach)++;
		f = mmrt_frame_meta(pfn);
		if (f != NULL && ((f->flags & MMRT_FRAME_FREE) ||
				__atomic_load_n(&f->refcount,
				__ATOMIC_RELAXED) == 0))
			bad++;
	}
	return bad;
}

/* Does a grace period end (bounded)? */
static bool
grace_ends(void)
{
	struct rte_rcu_qsbr *v = mmrt_qsbr();
	uint64_t t = rte_rcu_qsbr_start(v);
	unsigned int i;

	mmrt_quiescent(); /* the main thread is a reader too */
	for (i = 0; i < 5000; i++) {
		if (rte_rcu_qsbr_check(v, t, false) == 1)
			return true;
		mmrt_qsbr_reap();
		usleep(1000);
	}
	return false;
}

static void
stress_step(unsigned int *phase)
{
	mmrt_protect(k_as, K_SRC, K_NPG * PG, (*phase & 1) ?
		RW : MMRT_PROT_READ);
	(*phase)++;
}

static void
fault_stop(void)
{
	if (!k_faulting)
		return;
	k_fault_stop = true;
	pthread_join(k_faulter, NULL);
	k_faulting = false;
}

static int
cmd_fence(void)
{
	struct mmrt_consumer *w = NULL;
	struct mmrt_consumer_stats st;
	static uint8_t buf[K_NINV * PG];
	unsigned int reach = 0, bad;
	int ret;

	mmrt_protect(k_as, K_SRC, K_NPG * PG, RW);
	mmrt_consumer_foreach(is_worker, &w);
	if (w == NULL) {
		printf("fenced FAIL no worker consumer\n");
		return 1;
	}
	/* the dead consumer cached INV: the unmap waits for its deadline */
	ret = mmrt_unmap(k_as, K_INV, K_NINV * PG);
	memset(&st, 0, sizeof(st));
	mmrt_consumer_stats(w, &st);
	bad = dead_reach_free(w, &reach);
	if (k_skip & MMRT_TEST_REAP_SKIP_QUARANTINE) {
		printf("control %s freed frames reachable: %u of %u\n",
			bad > 0 ? "caught" : "MISSED", bad, reach);
		fflush(stdout);
		_exit(bad > 0 ? 0 : 1);
	}
	if (!grace_ends()) {
		printf("control %s grace period stuck on a dead reader\n",
			(k_skip & MMRT_TEST_REAP_SKIP_QSBR) ? "caught" :
			"FAIL(no control)");
		fflush(stdout);
		_exit((k_skip & MMRT_TEST_REAP_SKIP_QSBR) ? 0 : 1);
	}
	if (k_skip & MMRT_TEST_REAP_SKIP_QSBR) {
		printf("control MISSED grace period ended\n");
		fflush(stdout);
		_exit(1);
	}
	fill(buf, sizeof(buf), 3);
	if (ret == 0)
		ret = mmrt_map(k_as, K_INV, K_NINV * PG, RW,
			MMRT_MAP_POPULATE);
	if (ret == 0)
		ret = mmrt_write(k_as, K_INV, buf, sizeof(buf));
	/* the dead worker's pin keeps the old frames until the reap */
	if (ret == 0)
		ret = pin_remap();
	/* fenced, or caught unbound (killed while binding again) */
	if (ret != 0 || bad > 0 || (!mmrt_consumer_fenced(w) &&
			mmrt_consumer_id(w) != -ENOTCONN)) {
		printf("fenced FAIL unmap/map %d, fenced %d, %u of %u reachable"
			" frames free\n", ret, mmrt_consumer_fenced(w), bad,
			reach);
		return 1;
	}
	printf("fenced ok: %u frames reachable from the dead TLB, %" PRIu64
		" quarantined\n", reach, st.quarantine_held);
	return 0;
}

static int
cmd_reap(void)
{
	struct mmrt_consumer *w = NULL;
	struct mmrt_as_stats st = { 0 };
	int n = mmrt_reap_dead();

	mmrt_consumer_foreach(is_worker, &w);
	mmrt_as_stats(k_as, &st);
	if (n != 1 || w != NULL || st.pinned_pages != 0) {
		printf("reaped FAIL %d processes, worker consumer %s, %" PRIu64
			" pages pinned\n", n, w != NULL ? "left" : "gone",
			st.pinned_pages);
		return 1;
	}
	printf("reaped ok\n");
	return 0;
}

static int
own_consumer_works(char *why, size_t len)
{
	struct mmrt_xlate x;
	int ret;

	mmrt_consumer_poll(k_pc);
	ret = mmrt_consumer_translate(k_pc, K_SRC + 5 * PG, MMRT_ACCESS_READ,
		&x);
	if (ret != 0 || *(uint8_t *)x.addr != pat(1 + 5, 0)) {
		snprintf(why, len, "own consumer translate %d", ret);
		return 1;
	}
	/* an invalidation reaches it: write refused while read-only */
	mmrt_protect(k_as, K_SRC, K_NPG * PG, MMRT_PROT_READ);
	ret = mmrt_consumer_translate(k_pc, K_SRC + 5 * PG, MMRT_ACCESS_WRITE,
		&x);
	mmrt_protect(k_as, K_SRC, K_NPG * PG, RW);
	if (ret == 0 || mmrt_consumer_fenced(k_pc)) {
		snprintf(why, len, "own consumer kept write access (%d)", ret);
		return 1;
	}
	return 0;
}

static int
cmd_end(uint64_t base)
{
	static uint8_t buf[K_NCAN * PG];
	uint64_t now;
	char why[128] = "";
	unsigned int i;
	long bad;

	fault_stop();
	if (__atomic_load_n(&k_faults_bad, __ATOMIC_RELAXED) != 0)
		snprintf(why, sizeof(why), "%" PRIu64 " faults failed",
			k_faults_bad);
	if (uf_reset() != 0)
		snprintf(why, sizeof(why), "UF reset");
	now = pool_free();
	if (why[0] == '\0' && now != base)
		snprintf(why, sizeof(why), "pool free %" PRIu64 ", baseline %"
			PRIu64, now, base);
	if (why[0] == '\0') {
		if (mmrt_read(k_can, K_CAN, buf, sizeof(buf)) != 0)
			snprintf(why, sizeof(why), "canary read");
		for (i = 0; why[0] == '\0' && i < K_NCAN; i++) {
			bad = differs(buf + i * PG, PG, 9);
			if (bad >= 0)
				snprintf(why, sizeof(why), "canary page %u"
					" off at %ld", i, bad);
		}
	}
	if (why[0] == '\0')
		own_consumer_works(why, sizeof(why));
	if (why[0] != '\0') {
		printf("round FAIL %s\n", why);
		return 1;
	}
	printf("round ok: pool %" PRIu64 ", %" PRIu64 " faults served\n", now,
		k_faults_done);
	return 0;
}

/* A line from stdin if one comes within @ms; 1, 0 (none yet), -1 EOF. */
static int
read_cmd(char *buf, size_t size, int ms)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	size_t n = 0;
	char c;

	if (poll(&p, 1, ms) <= 0)
		return (p.revents & (POLLHUP | POLLERR)) ? -1 : 0;
	while (n + 1 < size) {
		if (read(STDIN_FILENO, &c, 1) != 1)
			return n > 0 ? 1 : -1;
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return 1;
}

static int
primary_setup(void)
{
	struct mmrt_uffd_conf ucf = { .wait_timeout_us = K_WAIT_S * 1000000ULL };
	struct mmrt_consumer_conf cc = { .name = "kill.primary" };
	static uint8_t buf[K_NPG * PG];
	uint64_t features = 0;
	unsigned int i;

	k_as = mmrt_as_create(K_AS);
	k_can = mmrt_as_create(K_CANARY);
	k_uf = mmrt_as_create(K_UF);
	if (k_as == NULL || k_can == NULL || k_uf == NULL)
		return -1;
	for (i = 0; i < K_NPG; i++)
		fill(buf + i * PG, PG, 1 + i);
	if (mmrt_map(k_as, K_SRC, K_NPG * PG, RW, MMRT_MAP_POPULATE) ||
			mmrt_write(k_as, K_SRC, buf, K_NPG * PG) ||
			mmrt_map(k_as, K_DST, K_NPG * PG, RW,
			MMRT_MAP_POPULATE))
		return -1;
	fill(buf, K_NINV * PG, 3);
	if (mmrt_map(k_as, K_INV, K_NINV * PG, RW, MMRT_MAP_POPULATE) ||
			mmrt_write(k_as, K_INV, buf, K_NINV * PG))
		return -1;
	if (pin_remap() != 0)
		return -1;
	for (i = 0; i < K_NCAN; i++)
		fill(buf + i * PG, PG, 9);
	if (mmrt_map(k_can, K_CAN, K_NCAN * PG, RW, MMRT_MAP_POPULATE) ||
			mmrt_write(k_can, K_CAN, buf, K_NCAN * PG))
		return -1;
	k_u = mmrt_uffd_create(k_uf, MMRT_UFFD_API, &features, &ucf);
	if (k_u == NULL || mmrt_map(k_uf, K_UFVA, K_NUF * PG, RW, 0) ||
			uf_reset())
		return -1;
	if (mmrt_thread_register() < 0)
		return -1;
	k_pc = mmrt_consumer_create(&cc);
	if (k_pc == NULL || mmrt_consumer_bind(k_pc, k_as) < 0)
		return -1;
	mmrt_consumer_poll(k_pc); /* the main thread owns it */
	return 0;
}

static int
run_primary(int argc, char **argv)
{
	const char *skip = getenv("KILL_SKIP");
	unsigned int phase = 0;
	uint64_t base = 0;
	bool stress = false;
	char cmd[64];
	time_t deadline;
	int ret, rc = 0, r;

	ret = peer_primary_init("kill-peer", argc, argv, &deadline);
	if (ret != 0)
		return ret;
	if (skip != NULL && strcmp(skip, "qsbr") == 0)
		k_skip = MMRT_TEST_REAP_SKIP_QSBR;
	else if (skip != NULL && strcmp(skip, "quarantine") == 0)
		k_skip = MMRT_TEST_REAP_SKIP_QUARANTINE;
	mmrt_test_reap_skip(k_skip);
	if (primary_setup() != 0) {
		fprintf(stderr, "kill-peer primary: setup: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	printf("ready pid %d\n", (int)getpid());
	while (time(NULL) < deadline) {
		mmrt_consumer_poll(k_pc);
		if (stress)
			stress_step(&phase);
		r = read_cmd(cmd, sizeof(cmd), stress ? 5 : 1);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		if (strcmp(cmd, "begin") == 0) {
			fault_stop();
			ret = uf_reset();
			base = pool_free();
			k_fault_stop = false;
			k_fault_next = 0;
			k_faults_done = 0;
			k_faulting = pthread_create(&k_faulter, NULL, faulter,
				NULL) == 0;
			stress = true;
			printf("begun %" PRIu64 " %s\n", base,
				ret == 0 && k_faulting ? "ok" : "FAIL");
			rc |= ret != 0 || !k_faulting;
		} else if (strcmp(cmd, "fence") == 0) {
			stress = false;
			rc |= cmd_fence();
		} else if (strcmp(cmd, "reap") == 0) {
			rc |= cmd_reap();
		} else if (strcmp(cmd, "end") == 0) {
			stress = false;
			rc |= cmd_end(base);
		} else if (cmd[0] != '\0') {
			printf("unknown command %s\n", cmd);
		}
	}
	fault_stop();
	mmrt_consumer_destroy(k_pc);
	mmrt_thread_unregister();
	mmrt_uffd_destroy(k_u);
	mmrt_as_destroy(k_uf);
	mmrt_as_destroy(k_can);
	mmrt_as_destroy(k_as);
	rc |= peer_fini("kill-peer primary");
	printf("primary done %s\n", rc == 0 ? "ok" : "FAIL");
	return rc;
}

/* ---- worker (a secondary) ---------------------------------------------- */

static volatile sig_atomic_t w_stop;

static void
on_term(int sig)
{
	RTE_SET_USED(sig);
	w_stop = 1;
}

#define W_HELD 64

struct held {
	uint64_t addr;
	uint64_t due; /* timer cycles */
};

static int
serve(struct mmrt_uffd *u, uint64_t addr, const uint8_t *page)
{
	struct mmrt_uffd_copy cp;
	int ret;

	memset(&cp, 0, sizeof(cp));
	cp.dst = addr & ~(uint64_t)(PG - 1);
	cp.src = page;
	cp.len = PG;
	ret = mmrt_uffd_copy(u, &cp);
	/* a fault made unread by a reclaim may come twice: -EEXIST */
	return ret == 0 || ret == -EEXIST ? 0 : ret;
}

static int
run_worker(int argc, char **argv)
{
	static uint8_t page[PG];
	struct mmrt_consumer_conf cc = { .ack_deadline_us = 50 * 1000 };
	struct mmrt_uffd_msg msgs[8];
	struct held held[W_HELD];
	struct mmrt_consumer *c = NULL;
	struct mmrt_uffd *u = NULL;
	struct mmrt_xlate xs, xd, xi;
	struct mmrt_pin *pin = NULL;
	struct mmrt_as *as, *uf;
	unsigned int nheld = 0, i, k, pass = 0;
	uint64_t hz = rte_get_timer_hz(), copied = 0;
	char name[32];
	int ret, n, failures = 0;

	if (argc < 3)
		return 2;
	snprintf(name, sizeof(name), "kill.w%s", argv[2]);
	cc.name = name;
	if (peer_init("kill-peer worker", argc, argv, 2) != 0)
		return 1;
	hz = rte_get_timer_hz();
	signal(SIGTERM, on_term);
	srand((unsigned int)getpid());
	fill(page, PG, 5);
	as = mmrt_as_lookup(K_AS);
	uf = mmrt_as_lookup(K_UF);
	if (as == NULL || uf == NULL || mmrt_thread_register() < 0)
		goto fail;
	c = mmrt_consumer_create(&cc);
	if (c == NULL || mmrt_consumer_bind(c, as) < 0)
		goto fail;
	mmrt_uffd_foreach(uf, uffd_pick, &u);
	if (u == NULL)
		goto fail;
	/* held until SIGTERM: a kill leaves it to the reaper */
	ret = mmrt_pin(as, K_PIN, K_NPIN * PG, 0, &pin);
	printf("pin %d\n", ret);
	if (ret != 0)
		goto fail;
	while (!w_stop) {
		for (i = 0; i < K_NPG && !w_stop; i++) {
			if (mmrt_consumer_fenced(c)) {
				/* late under load: resynchronise, bind again */
				mmrt_consumer_poll(c);
				mmrt_consumer_unbind(c);
				if (mmrt_consumer_bind(c, as) < 0)
					goto fail;
			}
			if (mmrt_consumer_translate(c, K_SRC + i * PG,
					MMRT_ACCESS_READ, &xs) == 0 &&
					mmrt_consumer_translate(c, K_DST +
					i * PG, MMRT_ACCESS_WRITE, &xd) == 0) {
				/* one operation, in pieces: killable inside */
				for (k = 0; k < 4; k++)
					memcpy((uint8_t *)xd.addr + k * 1024,
						(const uint8_t *)xs.addr +
						k * 1024, 1024);
				copied++;
			}
			if (mmrt_consumer_translate(c, K_INV + (i % K_NINV) *
					PG, MMRT_ACCESS_READ, &xi) == 0)
				copied += *(volatile uint8_t *)xi.addr == 0xff;
			mmrt_consumer_poll(c);
			n = nheld < W_HELD - RTE_DIM(msgs) ?
				mmrt_uffd_read(u, msgs, RTE_DIM(msgs)) : 0;
			for (k = 0; n > 0 && k < (unsigned int)n; k++) {
				if (msgs[k].event != MMRT_UFFD_EVENT_PAGEFAULT)
					continue;
				held[nheld].addr =
					msgs[k].arg.pagefault.address;
				held[nheld].due = rte_get_timer_cycles() +
					hz / 1000 * (uint64_t)(rand() % 5);
				nheld++;
			}
			for (k = 0; k < nheld; ) {
				if (rte_get_timer_cycles() < held[k].due) {
					k++;
					continue;
				}
				if (serve(u, held[k].addr, page) != 0)
					failures++;
				held[k] = held[--nheld];
			}
		}
		if (pass++ == 0) {
			printf("working pid %d\n", (int)getpid());
			fflush(stdout);
		}
	}
	for (k = 0; k < nheld; k++)
		if (serve(u, held[k].addr, page) != 0)
			failures++;
	if (mmrt_unpin(pin) != 0)
		failures++;
	if (mmrt_consumer_destroy(c) != 0)
		failures++;
	mmrt_thread_unregister();
	ret = mmrt_fini();
	if (ret != 0 || failures != 0) {
		fprintf(stderr, "kill-peer worker: fini %d, %d failures\n",
			ret, failures);
		return 1;
	}
	printf("worker ok: %u passes, %" PRIu64 " copies\n", pass, copied);
	return 0;
fail:
	fprintf(stderr, "kill-peer worker: setup failed: %s\n",
		rte_strerror(rte_errno));
	return 1;
}

int
main(int argc, char **argv)
{
	static const struct peer_role roles[] = {
		{ "primary", run_primary },
		{ "worker", run_worker },
	};

	return peer_main(argc, argv, roles, RTE_DIM(roles));
}
