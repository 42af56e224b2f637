/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * robust-peer: the two sides of the robust-lock test (check-robust.sh,
 * issue 14: a secondary killed while it holds an mm lock stops nothing).
 *
 *   robust-peer primary HOLD [EAL args] [-- mmrt args]
 *     mmrt up; the space "rb.as" with UF (64 pages, registered MISSING
 *     with the primary's uffd), PIN (4 pages, populated) and PROT (16
 *     pages, populated). Environment ROBUST_SKIP=1 arms the negative
 *     control (mmrt_test_reap_skip(MMRT_TEST_REAP_SKIP_LOCKS));
 *     ROBUST_SKIP=fly the one of frames in flight
 *     (MMRT_TEST_REAP_SKIP_FLY: a loss is then the expected verdict,
 *     "checked LOST", not a failure), ROBUST_SKIP=pool the one of the
 *     pool's records (MMRT_TEST_REAP_SKIP_POOL, the same). Prints
 *     "ready", then runs commands from stdin (HOLD seconds in all):
 *       base   deferred frees drained; the pool's free count is the
 *              baseline. "base ok <free>"
 *       check  (a victim was killed) on a thread of its own, bounded by
 *              RB_WAIT_S seconds (a hang bound, not a measurement):
 *              mmrt_reap_dead() (one process), then on the same space:
 *              unmap, map and register UF again; protect PROT read-only
 *              and back; fork the space and destroy the child; pin and
 *              unpin PIN; create, map, write, unmap and destroy an
 *              object; serve a fault's page itself (mmrt_uffd_copy())
 *              and drop it; UF unmapped and registered again; ANON's
 *              pages dropped; no
 *              consumer of a victim is left; the pool's free count
 *              equals the baseline. First, the victim's object mapping
 *              and object, if it died with them, are unmapped and
 *              destroyed (objects outlive their creator by design).
 *              "checked ok: ..." / "checked FAIL <why>" / "checked LOST
 *              <n> frames ..." (all but the pool count passed: frames
 *              the victim held in flight were not returned; a failure
 *              but under ROBUST_SKIP=fly; the baseline moves down); a
 *              hang prints
 *              "checked HANG in <step>" (or, under the negative control,
 *              "control caught hang in <step>") and the process ends.
 *       EOF    tear down, mmrt_fini(); "primary done ok|FAIL".
 *   robust-peer victim CLASS AT NTH [EAL args with --proc-type=secondary]
 *     CLASS a lock class by name (rb_classes[]: map, pt, pin, ...; any),
 *     AT held|waiting|taken|releasing (enum mmrt_test_lock_at), with
 *     ":w" counting write-held rwlocks only; or CLASS "pool" and AT a
 *     moment of the pool's recorded paths (rb_pool_ats[], enum
 *     mmrt_test_pool_at: mmrt_test_pool_kill(AT, NTH)); CLASS "pool-nl"
 *     the same in a thread of its own without an lcore id (the pool's
 *     ring paths), which only faults ANON's first page and drops it;
 *     attaches, arms mmrt_test_lock_kill(CLASS, AT, NTH) (NTH 0: not
 *     armed, the script kills it), prints "working pid <pid>" and loops
 *     (at most RB_ITERS times or RB_WAIT_S seconds, then "victim not
 *     killed", exit 3; with
 *     NTH 0 the pin, object and bind steps are left out of the loop and
 *     a pin and a binding taken once before it instead): looks
 *     the space up; copies 4 UF pages (mmrt_uffd_copy()) and drops them
 *     (MMRT_ADV_DONTNEED); faults ANON's first page in by a write
 *     (demand-zero) and its second by a read then a write (copy-on-write
 *     of the zero page), and drops them; pins and unpins PIN; creates an object, maps
 *     it, writes it, unmaps it and destroys it; protects PROT read-only
 *     and back; binds its consumer, translates through it, unbinds.
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
#include <rte_errno.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <mmrt_uffd.h>

#include "mm_locking.h" /* the lock classes */
#include "peer_common.h"

static const struct {
	const char *name;
	unsigned int cls;
} rb_classes[] = {
	{ "any", MM_LC_NONE }, { "as_iter", MM_LC_AS_ITER },
	{ "bind", MM_LC_BIND }, { "consumers", MM_LC_CONSUMERS },
	{ "map", MM_LC_MAP }, { "changing", MM_LC_CHANGING },
	{ "subs", MM_LC_SUBS }, { "pin", MM_LC_PIN }, { "obj", MM_LC_OBJ },
	{ "pt", MM_LC_PT }, { "inv", MM_LC_INV }, { "quar", MM_LC_QUAR },
	{ "as_table", MM_LC_AS_TABLE }, { "obj_table", MM_LC_OBJ_TABLE },
	{ "glc_other", MM_LC_GLC_OTHER }, { "pins", MM_LC_PINS },
};

/* "pool" victims: moments of mmrt_test_pool_kill() */
static const char *const rb_pool_ats[MMRT_TEST_POOL_AT_N] = {
	[MMRT_TEST_POOL_AT_TAKEN] = "taken",
	[MMRT_TEST_POOL_AT_POPPED] = "popped",
	[MMRT_TEST_POOL_AT_INIT] = "init",
	[MMRT_TEST_POOL_AT_REFILL] = "refill",
	[MMRT_TEST_POOL_AT_SPLIT] = "split",
	[MMRT_TEST_POOL_AT_RING] = "ring",
	[MMRT_TEST_POOL_AT_DROPPED] = "dropped",
	[MMRT_TEST_POOL_AT_MARKED] = "marked",
	[MMRT_TEST_POOL_AT_PT] = "pt",
	[MMRT_TEST_POOL_AT_FAULT] = "fault",
};

static const char *const rb_ats[MMRT_TEST_LOCK_AT_N] = {
	[MMRT_TEST_LOCK_AT_HELD] = "held",
	[MMRT_TEST_LOCK_AT_WAITING] = "waiting",
	[MMRT_TEST_LOCK_AT_TAKEN] = "taken",
	[MMRT_TEST_LOCK_AT_RELEASING] = "releasing",
};

#define RB_AS "rb.as"
#define RB_UF 0x10000000ULL
#define RB_NUF 64
#define RB_PIN 0x20000000ULL
#define RB_NPIN 4
#define RB_PROT 0x30000000ULL
#define RB_NPROT 16
#define RB_OBJ 0x40000000ULL  /* the victim's object mapping */
#define RB_POBJ 0x50000000ULL /* the primary's */
#define RB_NOBJ 4
#define RB_OBJNAME "rb.obj"   /* the victim's object (one victim at once) */
#define RB_ANON 0x60000000ULL /* anonymous, faulted by the victim */
#define RB_NANON 2
/*
 * The most frames a victim can hold in flight (a fill's frame, the
 * frames and table pages of a gather it never flushed): a larger loss
 * under ROBUST_SKIP=fly is not what the control shows, but a leak of
 * another kind (its deferred table frees?), reported FAIL.
 */
#define RB_LOST_MAX 16
#define RB_WAIT_S 60     /* bound of a wait that must end (a hang bound) */
#define RB_ITERS 100000000 /* a victim's loop bound (and RB_WAIT_S) */
#define PG MMRT_PAGE_SIZE
#define RW (MMRT_PROT_READ | MMRT_PROT_WRITE)

/* ---- primary ----------------------------------------------------------- */

static struct mmrt_as *p_as;
static struct mmrt_uffd *p_u;
static bool p_control;
static bool p_flyctl; /* ROBUST_SKIP=fly: frames in flight not returned */
static uint64_t p_base;

static uint64_t
pool_free(void)
{
	struct mmrt_mem_stats st;

	mmrt_mm_reclaim(true);
	mmrt_mem_cache_flush();
	if (mmrt_mem_stats(&st) != 0)
		return 0;
	return st.frames_free;
}

static int
uf_reset(void)
{
	uint64_t ops = 0;
	int ret;

	ret = mmrt_unmap(p_as, RB_UF, RB_NUF * PG);
	if (ret == 0)
		ret = mmrt_map(p_as, RB_UF, RB_NUF * PG, RW, 0);
	if (ret == 0)
		ret = mmrt_uffd_register(p_u, RB_UF, RB_NUF * PG,
			MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
	return ret;
}

static int
is_victim(struct mmrt_consumer *c, void *arg)
{
	const char *name = mmrt_consumer_name(c);

	if (name != NULL && strncmp(name, "rb.v", 4) == 0) {
		(*(unsigned int *)arg)++;
		return 0;
	}
	return 0;
}

/* The check's steps, on their own thread; the step now, for a hang. */
static const char *volatile c_step = "start";
static char c_result[256];
static volatile bool c_done;

#define STEP(name, expr) do { \
	c_step = (name); \
	ret = (expr); \
	if (ret != 0) { \
		snprintf(c_result, sizeof(c_result), "FAIL %s: %d", \
			(name), ret); \
		goto out; \
	} \
} while (0)

static int
obj_cycle(struct mmrt_as *as, uint64_t va, const char *name)
{
	static uint8_t buf[RB_NOBJ * PG];
	struct mmrt_object *o;
	int ret;

	o = mmrt_object_create(name, RB_NOBJ * PG);
	if (o == NULL)
		return -rte_errno;
	ret = mmrt_map_object(as, va, RB_NOBJ * PG, RW, 0, o, 0);
	if (ret == 0) {
		fill(buf, sizeof(buf), 7);
		ret = mmrt_write(as, va, buf, sizeof(buf));
		if (ret == 0)
			ret = mmrt_unmap(as, va, RB_NOBJ * PG);
	}
	if (mmrt_object_destroy(o) != 0 && ret == 0)
		ret = -EBUSY;
	return ret;
}

static int
pin_cycle(struct mmrt_as *as)
{
	struct mmrt_pin *pin = NULL;
	int ret = mmrt_pin(as, RB_PIN, RB_NPIN * PG, 0, &pin);

	if (ret == 0)
		ret = mmrt_unpin(pin);
	return ret;
}

static int
self_fill(void)
{
	static uint8_t page[PG];
	struct mmrt_uffd_copy cp = { .dst = RB_UF + 3 * PG, .len = PG };
	int ret;

	fill(page, PG, 5);
	cp.src = page;
	ret = mmrt_uffd_copy(p_u, &cp);
	if (ret == 0)
		ret = mmrt_advise(p_as, RB_UF, RB_NUF * PG, MMRT_ADV_DONTNEED);
	return ret;
}

/* Unmap the victim's object mapping and destroy its object, if left. */
static int
victim_obj_drop(void)
{
	struct mmrt_object *o;
	int ret;

	ret = mmrt_unmap(p_as, RB_OBJ, RB_NOBJ * PG);
	o = mmrt_object_lookup(RB_OBJNAME);
	if (ret == 0 && o != NULL)
		ret = mmrt_object_destroy(o);
	return ret;
}

static void *
check_main(void *arg)
{
	uint64_t released, now;
	unsigned int victims = 0;
	struct mmrt_as *child;
	int ret, n;

	RTE_SET_USED(arg);
	c_step = "reap";
	n = mmrt_reap_dead();
	released = mmrt_test_locks_reaped();
	if (n != 1) {
		snprintf(c_result, sizeof(c_result), "FAIL reaped %d processes",
			n);
		goto out;
	}
	/* objects outlive their creator: a victim's is the test's to free */
	STEP("the victim's object", victim_obj_drop());
	STEP("unmap+map+register UF", uf_reset());
	STEP("protect", mmrt_protect(p_as, RB_PROT, RB_NPROT * PG,
		MMRT_PROT_READ));
	STEP("unprotect", mmrt_protect(p_as, RB_PROT, RB_NPROT * PG, RW));
	c_step = "fork";
	child = mmrt_as_fork(p_as, "rb.child");
	if (child == NULL) {
		snprintf(c_result, sizeof(c_result), "FAIL fork: %s",
			rte_strerror(rte_errno));
		goto out;
	}
	STEP("destroy the child", mmrt_as_destroy(child));
	STEP("pin+unpin", pin_cycle(p_as));
	STEP("object", obj_cycle(p_as, RB_POBJ, "rb.pobj"));
	STEP("uffd copy", self_fill());
	STEP("unmap UF again", uf_reset());
	/* the pages the victim's faults left (demand-zero, copy-on-write) */
	STEP("drop ANON", mmrt_advise(p_as, RB_ANON, RB_NANON * PG,
		MMRT_ADV_DONTNEED));
	c_step = "consumers";
	mmrt_consumer_foreach(is_victim, &victims);
	if (victims != 0) {
		snprintf(c_result, sizeof(c_result), "FAIL %u victim consumers"
			" left", victims);
		goto out;
	}
	c_step = "pool";
	now = pool_free();
	if (now > p_base) {
		snprintf(c_result, sizeof(c_result), "FAIL pool free %" PRIu64
			", baseline %" PRIu64, now, p_base);
		goto out;
	}
	if (p_base - now > RB_LOST_MAX) {
		snprintf(c_result, sizeof(c_result), "FAIL pool free %" PRIu64
			", baseline %" PRIu64 ": %" PRIu64 " frames lost, more"
			" than a victim can hold in flight (its deferred table"
			" frees?)", now, p_base, p_base - now);
		goto out;
	}
	/* frames the victim held in flight (mm_fly.h), not returned */
	if (now < p_base) {
		snprintf(c_result, sizeof(c_result), "LOST %" PRIu64 " frames:"
			" pool free %" PRIu64 ", baseline %" PRIu64
			" (everything else ok)", p_base - now, now, p_base);
		p_base = now; /* the next check counts its own */
		goto out;
	}
	snprintf(c_result, sizeof(c_result), "ok: 1 process reaped, %" PRIu64
		" locks released by this process so far, pool %" PRIu64,
		released, now);
out:
	__atomic_store_n(&c_done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* The check: any frame lost fails (but under ROBUST_SKIP=fly|pool). */
static int
cmd_check(void)
{
	pthread_t th;
	unsigned int i;

	c_done = false;
	c_result[0] = '\0';
	if (pthread_create(&th, NULL, check_main, NULL) != 0) {
		printf("checked FAIL thread\n");
		return 1;
	}
	for (i = 0; i < RB_WAIT_S * 100 && !__atomic_load_n(&c_done,
			__ATOMIC_ACQUIRE); i++)
		usleep(10 * 1000);
	if (!__atomic_load_n(&c_done, __ATOMIC_ACQUIRE)) {
		/* a lock the dead process held was not released */
		if (p_control)
			printf("control caught hang in %s\n", c_step);
		else
			printf("checked HANG in %s\n", c_step);
		fflush(stdout);
		/* RB_GDB=1: where every thread waits, for the log */
		if (getenv("RB_GDB") != NULL) {
			char gdb[128];

			snprintf(gdb, sizeof(gdb), "gdb -p %d -batch -ex"
				" 'thread apply all bt' 2>&1", (int)getpid());
			if (system(gdb) != 0)
				printf("(gdb failed)\n");
			fflush(stdout);
		}
		_exit(p_control ? 0 : 1);
	}
	pthread_join(th, NULL);
	if (p_control) {
		printf("control MISSED: %s\n", c_result);
		fflush(stdout);
		_exit(1);
	}
	printf("checked %s\n", c_result);
	return strncmp(c_result, "ok", 2) != 0 &&
		!(p_flyctl && strncmp(c_result, "LOST", 4) == 0);
}

static int
run_primary(int argc, char **argv)
{
	struct mmrt_uffd_conf ucf = {
		.wait_timeout_us = RB_WAIT_S * 1000000ULL };
	const char *skip = getenv("ROBUST_SKIP");
	static uint8_t buf[RB_NPROT * PG];
	/* an event feature, so fills take the changing lock (a uffd without
	 * one skips it); no mmrt_remap() here, so no event is ever queued */
	uint64_t features = MMRT_UFFD_FEATURE_EVENT_REMAP;
	time_t deadline;
	char cmd[64];
	int ret, rc = 0;

	ret = peer_primary_init("robust-peer", argc, argv, &deadline);
	if (ret != 0)
		return ret;
	p_control = skip != NULL && strcmp(skip, "1") == 0;
	p_flyctl = skip != NULL && (strcmp(skip, "fly") == 0 ||
		strcmp(skip, "pool") == 0);
	mmrt_test_reap_skip((p_control ? MMRT_TEST_REAP_SKIP_LOCKS : 0) |
		(p_flyctl && skip[0] == 'f' ? MMRT_TEST_REAP_SKIP_FLY : 0) |
		(p_flyctl && skip[0] == 'p' ? MMRT_TEST_REAP_SKIP_POOL : 0));
	fill(buf, sizeof(buf), 1);
	p_as = mmrt_as_create(RB_AS);
	if (p_as == NULL ||
	    mmrt_map(p_as, RB_PIN, RB_NPIN * PG, RW, MMRT_MAP_POPULATE) ||
	    mmrt_map(p_as, RB_PROT, RB_NPROT * PG, RW, MMRT_MAP_POPULATE) ||
	    mmrt_map(p_as, RB_ANON, RB_NANON * PG, RW, MMRT_MAP_POPULATE) ||
	    /* its tables made, its pages gone: as every check leaves it */
	    mmrt_advise(p_as, RB_ANON, RB_NANON * PG, MMRT_ADV_DONTNEED) ||
	    mmrt_write(p_as, RB_PROT, buf, sizeof(buf)) ||
	    (p_u = mmrt_uffd_create(p_as, MMRT_UFFD_API, &features,
		&ucf)) == NULL ||
	    mmrt_map(p_as, RB_UF, RB_NUF * PG, RW, 0) || uf_reset()) {
		fprintf(stderr, "robust-peer primary: setup: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	printf("ready pid %d\n", (int)getpid());
	while (time(NULL) < deadline &&
			peer_read_cmd(cmd, sizeof(cmd), deadline) > 0) {
		if (strcmp(cmd, "base") == 0) {
			p_base = pool_free();
			printf("base ok %" PRIu64 "\n", p_base);
		} else if (strcmp(cmd, "check") == 0) {
			rc |= cmd_check();
		} else if (cmd[0] != '\0') {
			printf("unknown command %s\n", cmd);
		}
	}
	mmrt_uffd_destroy(p_u);
	mmrt_as_destroy(p_as);
	rc |= peer_fini("robust-peer primary");
	printf("primary done %s\n", rc == 0 ? "ok" : "FAIL");
	return rc;
}

/* ---- victim (a secondary) ---------------------------------------------- */

static int
victim_pass(struct mmrt_consumer *c, struct mmrt_uffd *u, const char *oname,
	const uint8_t *page, bool alloc)
{
	struct mmrt_uffd_copy cp;
	struct mmrt_xlate x;
	struct mmrt_as *as;
	unsigned int i;
	uint64_t v;
	int ret;

	as = mmrt_as_lookup(RB_AS);
	if (as == NULL)
		return -ENOENT;
	for (i = 0; i < 4; i++) {
		memset(&cp, 0, sizeof(cp));
		cp.dst = RB_UF + (8 + i) * PG;
		cp.src = page;
		cp.len = PG;
		ret = mmrt_uffd_copy(u, &cp);
		if (ret != 0 && ret != -EEXIST)
			return ret;
	}
	ret = mmrt_advise(as, RB_UF + 8 * PG, 4 * PG, MMRT_ADV_DONTNEED);
	/* a demand-zero fault, then a copy-on-write of the zero page */
	if (ret == 0)
		ret = mmrt_write(as, RB_ANON, page, 64);
	if (ret == 0)
		ret = mmrt_read(as, RB_ANON + PG, &v, sizeof(v));
	if (ret == 0)
		ret = mmrt_write(as, RB_ANON + PG, page, 64);
	if (ret == 0)
		ret = mmrt_advise(as, RB_ANON, RB_NANON * PG,
			MMRT_ADV_DONTNEED);
	if (ret == 0 && alloc)
		ret = pin_cycle(as);
	if (ret == 0 && alloc)
		ret = obj_cycle(as, RB_OBJ, oname);
	if (ret == 0)
		ret = mmrt_protect(as, RB_PROT, RB_NPROT * PG, MMRT_PROT_READ);
	if (ret == 0)
		ret = mmrt_protect(as, RB_PROT, RB_NPROT * PG, RW);
	if (ret == 0 && alloc)
		ret = mmrt_consumer_bind(c, as);
	if (ret >= 0) {
		mmrt_consumer_translate(c, RB_PROT, MMRT_ACCESS_READ, &x);
		mmrt_consumer_poll(c);
		if (alloc)
			ret = mmrt_consumer_unbind(c);
	}
	return ret < 0 ? ret : 0;
}

/*
 * A "pool-nl" victim's thread: no lcore id, so the pool's ring paths
 * (no per-lcore cache): a demand-zero fault and its drop, in a loop.
 */
static void *
victim_nolcore(void *arg)
{
	static uint8_t page[64];
	struct mmrt_as *as = arg;
	unsigned int i;

	if (mmrt_thread_register() < 0)
		return NULL;
	for (i = 0; i < RB_ITERS; i++)
		if (mmrt_write(as, RB_ANON, page, sizeof(page)) != 0 ||
				mmrt_advise(as, RB_ANON, RB_NANON * PG,
				MMRT_ADV_DONTNEED) != 0)
			break;
	return NULL;
}

static int
run_victim(int argc, char **argv)
{
	struct mmrt_consumer_conf cc = { .ack_deadline_us = 50 * 1000 };
	static uint8_t page[PG];
	struct mmrt_consumer *c;
	struct mmrt_pin *pin = NULL;
	struct mmrt_uffd *u = NULL;
	struct mmrt_as *as;
	char name[32];
	unsigned int cls, at, i, wonly = 0;
	int pool_at = -1;
	bool nolcore;
	pthread_t th;
	time_t end;
	char atname[16];
	uint32_t nth;
	int ret;

	if (argc < 5)
		return 2;
	nolcore = strcmp(argv[2], "pool-nl") == 0;
	if (strcmp(argv[2], "pool") == 0 || nolcore) {
		/* a moment of the pool's recorded paths */
		for (at = 0; at < MMRT_TEST_POOL_AT_N &&
				strcmp(rb_pool_ats[at], argv[3]) != 0; at++)
			;
		if (at == MMRT_TEST_POOL_AT_N) {
			fprintf(stderr, "robust-peer victim: pool moment"
				" %s\n", argv[3]);
			return 2;
		}
		pool_at = (int)at;
		argv[3] = (char *)(uintptr_t)"held";
		argv[2] = (char *)(uintptr_t)"any";
	}
	for (cls = 0; cls < RTE_DIM(rb_classes) &&
			strcmp(rb_classes[cls].name, argv[2]) != 0; cls++)
		;
	snprintf(atname, sizeof(atname), "%s", argv[3]);
	if (strlen(atname) > 2 && strcmp(atname + strlen(atname) - 2,
			":w") == 0) {
		atname[strlen(atname) - 2] = '\0';
		wonly = MMRT_TEST_LOCK_WRITE_ONLY;
	}
	for (at = 0; at < MMRT_TEST_LOCK_AT_N &&
			strcmp(rb_ats[at], atname) != 0; at++)
		;
	if (cls == RTE_DIM(rb_classes) || at == MMRT_TEST_LOCK_AT_N) {
		fprintf(stderr, "robust-peer victim: class or moment %s %s\n",
			argv[2], argv[3]);
		return 2;
	}
	cls = rb_classes[cls].cls;
	nth = (uint32_t)strtoul(argv[4], NULL, 0);
	if (peer_init("robust-peer victim", argc, argv, 4) != 0)
		return 1;
	snprintf(name, sizeof(name), "rb.v%d", (int)getpid());
	cc.name = name;
	fill(page, PG, 5);
	as = mmrt_as_lookup(RB_AS);
	if (as == NULL || mmrt_thread_register() < 0)
		goto fail;
	mmrt_uffd_foreach(as, uffd_pick, &u);
	c = mmrt_consumer_create(&cc);
	if (u == NULL || c == NULL)
		goto fail;
	if (pool_at >= 0 ? mmrt_test_pool_kill((unsigned int)pool_at,
			nth) != 0 : mmrt_test_lock_kill(cls, at | wonly,
			nth) != 0)
		goto fail;
	/*
	 * Killed at a random moment (NTH 0): no call that allocates from
	 * DPDK's heap in the loop (a pin, an object, a bind each do): a
	 * death inside rte_malloc()/rte_free() leaves DPDK's heap lock held,
	 * which no mmrt reaper can release (check-robust.sh). The pin and
	 * the binding are taken once, before, and left to the reaper.
	 */
	if (nth == 0 && (mmrt_pin(as, RB_PIN, RB_NPIN * PG, 0, &pin) != 0 ||
			mmrt_consumer_bind(c, as) < 0))
		goto fail;
	printf("working pid %d\n", (int)getpid());
	fflush(stdout);
	if (nolcore) {
		/* the hook kills the process from that thread */
		if (pthread_create(&th, NULL, victim_nolcore, as) != 0)
			goto fail;
		pthread_join(th, NULL);
		printf("victim not killed in its thread\n");
		return 3;
	}
	/* bounded in count and in time: a pass after a fence is short */
	end = time(NULL) + RB_WAIT_S;
	for (i = 0; i < RB_ITERS && time(NULL) < end; i++) {
		ret = victim_pass(c, u, RB_OBJNAME, page, nth != 0);
		if (ret != 0) {
			fprintf(stderr, "robust-peer victim: pass %u: %s\n", i,
				strerror(-ret));
			return 1;
		}
	}
	printf("victim not killed after %u passes\n", i);
	return 3;
fail:
	fprintf(stderr, "robust-peer victim: setup failed: %s\n",
		rte_strerror(rte_errno));
	return 1;
}

int
main(int argc, char **argv)
{
	static const struct peer_role roles[] = {
		{ "primary", run_primary },
		{ "victim", run_victim },
	};

	return peer_main(argc, argv, roles, RTE_DIM(roles));
}
