/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * sec-peer: one side of the multi-process test (check-secondary.sh).
 *
 *   sec-peer primary HOLD [EAL args] [-- mmrt args]
 *     mmrt up; the space "sec.as" with [A, A + 64 KiB) mapped and filled
 *     with pattern 1; the space "sec.sub" with one page populated, one
 *     mapped but not populated, a uffd, and a plain notifier of the
 *     primary registered (so a secondary may not invalidate there); the
 *     uffd of "sec.uf" is named "sec.uf.h"; an unbound consumer
 *     "sec.pc" of the primary's, for secondaries to look up; the
 *     space "sec.inv" with one page holding pattern 4; the space
 *     "sec.pin" with three pages, pattern 6 (no subscriber); the space
 *     "sec.ipl" with one page and an interval notifier of the primary
 *     whose struct is the primary's own heap memory; the pool
 *     object "sec.obj" (two pages, pattern 7) and the file-backed object
 *     "sec.fobj" (one page of a temporary file, pattern 10, never read
 *     in the primary).
 *     Prints "ready", then reads commands from stdin, at most HOLD
 *     seconds in all (a bound, not a measurement):
 *       check   A holds pattern 2 and [B, B + 8 KiB) is mapped and holds
 *               pattern 3 (what a secondary wrote), and the second page
 *               of "sec.obj" pattern 8; "checked ok" or
 *               "checked FAIL <why>"
 *       fault   read the page of "sec.uf", registered MISSING with the
 *               primary's uffd: waits until a handler serves the fault
 *               (a secondary); "faulted <ret> ok|bad"
 *       unmap   look up the secondary's consumer "sec.consumer" by
 *               name and check what another process may do with it
 *               ("looked ok" or "looked FAIL <why>"), then unmap the
 *               page of "sec.inv" (that consumer is bound there: the
 *               unmap waits for its ack);
 *               "unmapped <ret> <notifier calls>"
 *       pinunmap  (a secondary pinned the first two pages of "sec.pin")
 *               the pool's free count F0, then unmap those two pages:
 *               the count must not grow (the pin holds the frames);
 *               "pinunmapped <ret> ok|FAIL"
 *       pinfree (the pinner unpinned and left) the count is F0 + 2 and
 *               the space's pinned_pages 0; "pinfreed ok|FAIL <why>"
 *       ptbase  the pool's free count F2; "ptbased <F2>"
 *       ufwposted  wait (bounded) for the fault of a ufwaiter secondary
 *               on "sec.ufw" (read from its uffd "sec.ufw.h", never
 *               resolved), then 200 ms for it to wait; "ufwposted ok|FAIL"
 *       ufwdestroy (that secondary was killed while it waited) destroy
 *               the uffd of "sec.ufw" in a thread: it must return within
 *               20 s, though the dead waiter never dropped its reference.
 *               In test builds the rule is first broken on purpose
 *               (MMRT_TEST_REAP_SKIP_WAITERS): the destroy must still
 *               wait after 1.5 s, and return once the rule is restored;
 *               "ufwdestroyed ok|FAIL <why>"
 *       ptreap  (a ptdefer secondary was killed) mmrt_reap_dead() reaps
 *               one process and the free count is F2 again: the table
 *               pages its unmap left in its defer queue were freed;
 *               "ptreaped ok|FAIL <why>"
 *       EOF     tear down, mmrt_fini() (retried while a secondary is
 *               still attached), exit 0 (1 on any failure).
 *   sec-peer plain HOLD [EAL args]
 *     a DPDK primary without mmrt: "ready", waits for EOF.
 *   sec-peer secondary [EAL args with --proc-type=secondary]
 *     attaches with mmrt_init(), finds "sec.as" by name, reads pattern 1
 *     (through mmrt_read() and through a lockless mmrt_translate()),
 *     writes pattern 2, maps B and writes pattern 3, maps, writes and
 *     unmaps a scratch range, and checks that what only the primary may
 *     do (the mirrors and their external memory included) fails with
 *     -E_RTE_SECONDARY and changes nothing; looks up the
 *     primary's consumer "sec.pc" by name: the read-only calls work, the
 *     owner's fail with -EPERM; lookups of bad names fail; finds the
 *     object "sec.obj" by name, reads pattern 7, maps it into "sec.as"
 *     at D, reads it there, writes pattern 8 to its second page through
 *     the space, unmaps D; reads "sec.fobj" (its file, through the
 *     primary's descriptor) and may not destroy it; creates, finds and
 *     destroys an object of its own; mmrt_fini().
 *     Exit 0 when all held, 1 with a message otherwise.
 *   sec-peer consumer [EAL args with --proc-type=secondary]
 *     attaches, makes a consumer, binds it to "sec.inv", translates the
 *     page through it (pattern 4), prints "bound", then polls until an
 *     invalidation arrives (at most SP_WAIT_S seconds), acks it in the
 *     poll, and checks that the page no longer translates and that the
 *     consumer was not fenced; unbinds, destroys, mmrt_fini();
 *     "consumer ok".
 *   sec-peer handler [EAL args with --proc-type=secondary]
 *     attaches, finds the primary's uffd "sec.uf.h" on "sec.uf" by name
 *     (mmrt_uffd_lookup(); bad names fail), prints "handling", reads its
 *     messages until
 *     a page fault arrives (at most SP_WAIT_S seconds) and resolves it
 *     with a copy of pattern 5; "handler ok".
 *   sec-peer ptdefer [EAL args with --proc-type=secondary]
 *     attaches, maps 16 pages of "sec.as" at SP_PT_VA (new page-table
 *     pages on three levels), writes them and unmaps them: the table
 *     pages wait in its QSBR defer queue for a grace period. Prints
 *     "deferred", then waits (SP_WAIT_S at most) to be killed.
 *   sec-peer ufwaiter [EAL args with --proc-type=secondary]
 *     attaches, prints "faulting", reads the page of "sec.ufw": the fault
 *     posts to the primary's uffd, which nobody resolves, and the read
 *     waits (SP_WAIT_S at most) to be killed.
 *   sec-peer pinner [EAL args with --proc-type=secondary]
 *     attaches; bad pins fail (an unmapped range: -EFAULT; a revocation
 *     callback: -E_RTE_SECONDARY; a space with the primary's interval
 *     notifier, which the pin's insert would link to: -E_RTE_SECONDARY,
 *     not a write to the primary's heap); pins the first two pages of "sec.pin"
 *     and reads pattern 6 through mmrt_pin_sg(); prints "pinned", waits
 *     until the pin is revoked (the primary's pinunmap, at most
 *     SP_WAIT_S seconds), reads pattern 6 again through the pin (the
 *     frames stayed), unpins, mmrt_fini(); "pinner ok".
 *   sec-peer reader [EAL args with --proc-type=secondary]
 *     attaches, finds pattern 2 in A and pattern 3 in B (what an earlier
 *     secondary wrote), mmrt_fini(); "reader ok".
 *   sec-peer expect ERRNO [EAL args]
 *     mmrt_init() must fail with -ERRNO (a number; 0: any failure).
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <mmrt_notifier.h>
#include <mmrt_uffd.h>

#include "peer_common.h"

#define SP_AS "sec.as"
#define SP_SUB "sec.sub"
#define SP_A 0x10000000ULL
#define SP_A_LEN (64 * 1024)
#define SP_B 0x20000000ULL
#define SP_B_LEN (8 * 1024)
#define SP_C 0x30000000ULL
#define SP_SUB_VA 0x40000000ULL
#define SP_SUB_VA2 0x40100000ULL
#define SP_INV "sec.inv"
#define SP_INV_VA 0x50000000ULL
#define SP_WAIT_S 60
#define SP_UF "sec.uf"
#define SP_UF_VA 0x60000000ULL
#define SP_UF_NAME "sec.uf.h"
#define SP_PC "sec.pc"
#define SP_SC "sec.consumer"
#define SP_LONG "a-name-of-thirty-two-characters!"
#define SP_PIN "sec.pin"
#define SP_PIN_VA 0x70000000ULL
#define SP_OBJ "sec.obj"
#define SP_FOBJ "sec.fobj"
#define SP_D 0x38000000ULL
#define SP_PT_VA (UINT64_C(1) << 40)  /* a 512 GiB slot with no tables */
#define SP_IPL "sec.ipl"
#define SP_IPL_VA 0x78000000ULL
#define SP_UFW "sec.ufw"
#define SP_UFW_NAME "sec.ufw.h"
#define SP_UFW_VA 0x68000000ULL

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "sec-peer: FAIL %s:%d: ", __func__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		failures++; \
	} \
} while (0)

static int
primary_check(struct mmrt_as *as)
{
	static uint8_t buf[SP_A_LEN];
	long bad;
	int ret;

	ret = mmrt_read(as, SP_A, buf, SP_A_LEN);
	if (ret < 0) {
		printf("checked FAIL reading A: %s\n", strerror(-ret));
		return 1;
	}
	bad = differs(buf, SP_A_LEN, 2);
	if (bad >= 0) {
		printf("checked FAIL A does not hold pattern 2 at %ld\n", bad);
		return 1;
	}
	ret = mmrt_read(as, SP_B, buf, SP_B_LEN);
	if (ret < 0) {
		printf("checked FAIL reading B: %s\n", strerror(-ret));
		return 1;
	}
	bad = differs(buf, SP_B_LEN, 3);
	if (bad >= 0) {
		printf("checked FAIL B does not hold pattern 3 at %ld\n", bad);
		return 1;
	}
	ret = mmrt_object_read(mmrt_object_lookup(SP_OBJ), MMRT_PAGE_SIZE,
		buf, MMRT_PAGE_SIZE);
	bad = ret == 0 ? differs(buf, MMRT_PAGE_SIZE, 8) : 0;
	if (bad >= 0) {
		printf("checked FAIL %s page 1: %d, pattern 8 off at %ld\n",
			SP_OBJ, ret, bad);
		return 1;
	}
	printf("checked ok\n");
	return 0;
}

static uint64_t
pool_free(void)
{
	struct mmrt_mem_stats st;

	mmrt_mem_cache_flush();
	mmrt_mm_reclaim(true);
	if (mmrt_mem_stats(&st) != 0)
		return 0;
	return st.frames_free;
}

static unsigned int nb_calls;

static void
nb_inval(struct mmrt_notifier *sub, struct mmrt_as *as, uint64_t start,
	uint64_t end)
{
	(void)sub;
	(void)as;
	(void)start;
	(void)end;
	__atomic_fetch_add(&nb_calls, 1, __ATOMIC_RELAXED);
}

static const struct mmrt_notifier_ops nb_ops = {
	.invalidate_secondary_tlbs = nb_inval,
};

/* The secondary's consumer, looked up by name from here (not its owner). */
static void
primary_lookup(void)
{
	struct mmrt_consumer *c = mmrt_consumer_lookup(SP_SC);
	struct mmrt_consumer_stats st = { 0 };
	uint64_t s, e;
	const char *why = NULL;

	if (c == NULL)
		why = "not found";
	else if (mmrt_consumer_pid(c) <= 0 ||
			mmrt_consumer_pid(c) == (int)getpid())
		why = "pid";
	else if (mmrt_consumer_id(c) <= 0)
		why = "not bound";
	else if (mmrt_consumer_stats(c, &st) != 0 || st.tlb_misses == 0)
		why = "stats";
	else if (mmrt_consumer_poll(c) != -EPERM ||
			mmrt_consumer_poll_n(c, 1) != -EPERM ||
			mmrt_consumer_inval_peek(c, &s, &e, 1) != -EPERM)
		why = "polled another process's consumer";
	else if (mmrt_consumer_unbind(c) != -EPERM ||
			mmrt_consumer_destroy(c) != -EPERM)
		why = "unbound or destroyed another process's consumer";
	else if (mmrt_consumer_id(c) <= 0 || mmrt_consumer_lookup(SP_SC) != c)
		why = "a refused call changed it";
	if (why == NULL)
		printf("looked ok: %s of pid %d, id %d, %" PRIu64 " misses\n",
			SP_SC, mmrt_consumer_pid(c), mmrt_consumer_id(c),
			st.tlb_misses);
	else
		printf("looked FAIL %s\n", why);
}

/* A ufwaiter secondary's fault reached @u: "ufwposted ok|FAIL". */
static int
primary_ufw_posted(struct mmrt_uffd *u)
{
	struct mmrt_uffd_msg m;
	time_t deadline = time(NULL) + SP_WAIT_S;
	int n;

	while ((n = mmrt_uffd_read(u, &m, 1)) == 0 && time(NULL) < deadline)
		usleep(1000);
	if (n != 1 || m.event != MMRT_UFFD_EVENT_PAGEFAULT ||
			m.arg.pagefault.address != SP_UFW_VA) {
		printf("ufwposted FAIL no fault at %#llx (%d)\n", SP_UFW_VA, n);
		return 1;
	}
	/* from the post to the waiter's reference: nanoseconds */
	usleep(200000);
	printf("ufwposted ok\n");
	return 0;
}

struct ufw_destroy {
	struct mmrt_uffd *u;
	int ret;
	int done;
};

static void *
ufw_destroy_thread(void *arg)
{
	struct ufw_destroy *d = arg;

	d->ret = mmrt_uffd_destroy(d->u);
	__atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Has @d finished within @ms milliseconds? */
static bool
ufw_done_within(struct ufw_destroy *d, unsigned int ms)
{
	unsigned int i;

	for (i = 0; i < ms / 10; i++) {
		if (__atomic_load_n(&d->done, __ATOMIC_ACQUIRE))
			return true;
		usleep(10000);
	}
	return __atomic_load_n(&d->done, __ATOMIC_ACQUIRE) != 0;
}

/*
 * Destroy @u, which a killed secondary's thread was waiting on: "ufwdestroyed
 * ok|FAIL <why>". A destroy that hangs leaves its thread behind; the
 * process then exits at once (nothing can be torn down under it).
 */
static int
primary_ufw_destroy(struct mmrt_uffd *u)
{
	struct ufw_destroy d = { .u = u, .ret = -1, .done = 0 };
	const char *control = "not built (no test hooks)";
	pthread_t t;

#ifdef MMRT_TEST_HOOKS
	mmrt_test_reap_skip(MMRT_TEST_REAP_SKIP_WAITERS);
#endif
	if (pthread_create(&t, NULL, ufw_destroy_thread, &d) != 0) {
		printf("ufwdestroyed FAIL pthread_create\n");
		return 1;
	}
#ifdef MMRT_TEST_HOOKS
	if (ufw_done_within(&d, 1500)) {
		printf("ufwdestroyed FAIL control: the destroy returned (%d)"
			" with the dead waiter's reference kept\n", d.ret);
		pthread_join(t, NULL);
		mmrt_test_reap_skip(0);
		return 1;
	}
	control = "the destroy still waited after 1.5 s";
	mmrt_test_reap_skip(0);
#endif
	if (!ufw_done_within(&d, 20000)) {
		printf("ufwdestroyed FAIL the destroy still waits after 20 s\n");
		fflush(stdout);
		_exit(1);
	}
	pthread_join(t, NULL);
	printf("ufwdestroyed %s: %d (negative control: %s)\n",
		d.ret == 0 ? "ok" : "FAIL", d.ret, control);
	return d.ret != 0;
}

static bool
ipl_invalidate(struct mmrt_interval_notifier *sub,
	const struct mmrt_notifier_range *range, uint64_t cur_seq)
{
	RTE_SET_USED(range);
	mmrt_interval_set_seq(sub, cur_seq);
	return true;
}

static const struct mmrt_interval_notifier_ops ipl_ops = {
	.invalidate = ipl_invalidate,
};

static int
run_primary(int argc, char **argv)
{
	static uint8_t buf[SP_A_LEN];
	struct mmrt_notifier nb = { .ops = &nb_ops };
	struct mmrt_uffd_conf ucf = {
		.wait_timeout_us = SP_WAIT_S * 1000000ULL,
		.name = SP_UF_NAME,
	};
	struct mmrt_consumer_conf pcc = { .name = SP_PC };
	struct mmrt_consumer *pc = NULL;
	struct mmrt_as *as = NULL, *sub = NULL, *inv = NULL, *uf = NULL;
	struct mmrt_as *pn = NULL;
	struct mmrt_object *obj = NULL, *fobj = NULL;
	struct mmrt_as_stats ast;
	struct mmrt_uffd *u = NULL, *usub = NULL, *uw = NULL;
	struct mmrt_uffd_conf wcf = {
		.wait_timeout_us = SP_WAIT_S * 1000000ULL,
		.name = SP_UFW_NAME,
	};
	struct mmrt_as *ufw = NULL, *ipl = NULL;
	/* the primary's own heap: no other process may write to it */
	struct mmrt_interval_notifier *isub = calloc(1, sizeof(*isub));
	bool iplugged = false;
	uint64_t features = 0, uops = 0, free0 = 0, free1, free2 = 0;
	FILE *file = NULL;
	bool registered = false;
	char cmd[64];
	time_t deadline;
	int ret, rc = 1;

	ret = peer_primary_init("sec-peer", argc, argv, &deadline);
	if (ret != 0)
		return ret;
	as = mmrt_as_create(SP_AS);
	sub = mmrt_as_create(SP_SUB);
	inv = mmrt_as_create(SP_INV);
	uf = mmrt_as_create(SP_UF);
	if (as == NULL || sub == NULL || inv == NULL || uf == NULL) {
		fprintf(stderr, "sec-peer primary: mmrt_as_create: %s\n",
			rte_strerror(rte_errno));
		goto out;
	}
	fill(buf, SP_A_LEN, 1);
	if (mmrt_map(as, SP_A, SP_A_LEN, MMRT_PROT_READ | MMRT_PROT_WRITE,
			0) < 0 || mmrt_write(as, SP_A, buf, SP_A_LEN) < 0 ||
			mmrt_map(sub, SP_SUB_VA, MMRT_PAGE_SIZE,
			MMRT_PROT_READ | MMRT_PROT_WRITE,
			MMRT_MAP_POPULATE) < 0 ||
			mmrt_map(sub, SP_SUB_VA2, MMRT_PAGE_SIZE,
			MMRT_PROT_READ | MMRT_PROT_WRITE, 0) < 0) {
		fprintf(stderr, "sec-peer primary: setting up the spaces\n");
		goto out;
	}
	fill(buf, MMRT_PAGE_SIZE, 4);
	if (mmrt_map(inv, SP_INV_VA, MMRT_PAGE_SIZE,
			MMRT_PROT_READ | MMRT_PROT_WRITE, 0) < 0 ||
			mmrt_write(inv, SP_INV_VA, buf, MMRT_PAGE_SIZE) < 0) {
		fprintf(stderr, "sec-peer primary: setting up %s\n", SP_INV);
		goto out;
	}
	u = uf != NULL ? mmrt_uffd_create(uf, MMRT_UFFD_API, &features, &ucf) :
		NULL;
	if (u == NULL || mmrt_map(uf, SP_UF_VA, MMRT_PAGE_SIZE,
			MMRT_PROT_READ | MMRT_PROT_WRITE, 0) < 0 ||
			mmrt_uffd_register(u, SP_UF_VA, MMRT_PAGE_SIZE,
			MMRT_UFFD_REGISTER_MODE_MISSING, &uops) < 0) {
		fprintf(stderr, "sec-peer primary: setting up %s\n", SP_UF);
		goto out;
	}
	/* a uffd whose faults nobody resolves, for the ufwaiter */
	features = 0;
	ufw = mmrt_as_create(SP_UFW);
	uw = ufw != NULL ? mmrt_uffd_create(ufw, MMRT_UFFD_API, &features,
		&wcf) : NULL;
	if (uw == NULL || mmrt_map(ufw, SP_UFW_VA, MMRT_PAGE_SIZE,
			MMRT_PROT_READ | MMRT_PROT_WRITE, 0) < 0 ||
			mmrt_uffd_register(uw, SP_UFW_VA, MMRT_PAGE_SIZE,
			MMRT_UFFD_REGISTER_MODE_MISSING, &uops) < 0) {
		fprintf(stderr, "sec-peer primary: setting up %s\n", SP_UFW);
		goto out;
	}
	features = 0;
	usub = mmrt_uffd_create(sub, MMRT_UFFD_API, &features, NULL);
	if (usub == NULL || mmrt_notifier_register(&nb, sub) < 0) {
		fprintf(stderr, "sec-peer primary: notifier\n");
		goto out;
	}
	registered = true;
	pc = mmrt_consumer_create(&pcc);
	if (pc == NULL) {
		fprintf(stderr, "sec-peer primary: consumer %s\n", SP_PC);
		goto out;
	}
	/* pins: three pages, the third keeps the page table in place */
	pn = mmrt_as_create(SP_PIN);
	fill(buf, 3 * MMRT_PAGE_SIZE, 6);
	if (pn == NULL || mmrt_map(pn, SP_PIN_VA, 3 * MMRT_PAGE_SIZE,
			MMRT_PROT_READ | MMRT_PROT_WRITE, 0) < 0 ||
			mmrt_write(pn, SP_PIN_VA, buf, 3 * MMRT_PAGE_SIZE) < 0) {
		fprintf(stderr, "sec-peer primary: setting up %s\n", SP_PIN);
		goto out;
	}
	/* an interval notifier in the primary's heap */
	ipl = mmrt_as_create(SP_IPL);
	if (ipl == NULL || isub == NULL || mmrt_map(ipl, SP_IPL_VA,
			MMRT_PAGE_SIZE, MMRT_PROT_READ | MMRT_PROT_WRITE,
			MMRT_MAP_POPULATE) < 0 ||
			mmrt_interval_notifier_insert(isub, ipl, SP_IPL_VA,
			MMRT_PAGE_SIZE, &ipl_ops) != 0) {
		fprintf(stderr, "sec-peer primary: setting up %s\n", SP_IPL);
		goto out;
	}
	iplugged = true;
	/* objects: a pool one, and one of a file no page of which is read */
	fill(buf, 2 * MMRT_PAGE_SIZE, 7);
	obj = mmrt_object_create(SP_OBJ, 2 * MMRT_PAGE_SIZE);
	if (obj == NULL || mmrt_object_write(obj, 0, buf,
			2 * MMRT_PAGE_SIZE) < 0) {
		fprintf(stderr, "sec-peer primary: object %s\n", SP_OBJ);
		goto out;
	}
	fill(buf, MMRT_PAGE_SIZE, 10);
	file = tmpfile();
	if (file == NULL || fwrite(buf, MMRT_PAGE_SIZE, 1, file) != 1 ||
			fflush(file) != 0 || (fobj = mmrt_object_create_fd(
			SP_FOBJ, fileno(file), 0, MMRT_PAGE_SIZE, 0)) == NULL) {
		fprintf(stderr, "sec-peer primary: object %s\n", SP_FOBJ);
		goto out;
	}
	printf("ready pid %d\n", (int)getpid());
	fflush(stdout);
	rc = 0;
	while (peer_read_cmd(cmd, sizeof(cmd), deadline)) {
		if (strcmp(cmd, "check") == 0)
			rc |= primary_check(as);
		else if (strcmp(cmd, "fault") == 0) {
			memset(buf, 0, 64);
			ret = mmrt_read(uf, SP_UF_VA, buf, 64);
			printf("faulted %d %s\n", ret,
				ret == 0 && differs(buf, 64, 5) < 0 ? "ok" :
				"bad");
		} else if (strcmp(cmd, "unmap") == 0) {
			primary_lookup();
			printf("unmapped %d %u\n", mmrt_unmap(inv, SP_INV_VA,
				MMRT_PAGE_SIZE), __atomic_load_n(&nb_calls,
				__ATOMIC_RELAXED));
		} else if (strcmp(cmd, "pinunmap") == 0) {
			free0 = pool_free();
			ret = mmrt_unmap(pn, SP_PIN_VA, 2 * MMRT_PAGE_SIZE);
			free1 = pool_free();
			printf("pinunmapped %d %s: free %" PRIu64 " then %"
				PRIu64 "\n", ret, ret == 0 && free1 == free0 ?
				"ok" : "FAIL", free0, free1);
			rc |= ret != 0 || free1 != free0;
		} else if (strcmp(cmd, "pinfree") == 0) {
			free1 = pool_free();
			ret = mmrt_as_stats(pn, &ast);
			printf("pinfreed %s: free %" PRIu64 " (before the unmap"
				" %" PRIu64 "), pinned %" PRIu64 "\n",
				ret == 0 && free1 == free0 + 2 &&
				ast.pinned_pages == 0 ? "ok" : "FAIL", free1,
				free0, ast.pinned_pages);
			rc |= ret != 0 || free1 != free0 + 2 ||
				ast.pinned_pages != 0;
		} else if (strcmp(cmd, "ptbase") == 0) {
			free2 = pool_free();
			printf("ptbased %" PRIu64 "\n", free2);
		} else if (strcmp(cmd, "ufwposted") == 0) {
			rc |= primary_ufw_posted(uw);
		} else if (strcmp(cmd, "ufwdestroy") == 0) {
			rc |= primary_ufw_destroy(uw);
			uw = NULL;
		} else if (strcmp(cmd, "ptreap") == 0) {
			ret = mmrt_reap_dead();
			free1 = pool_free();
			printf("ptreaped %s: %d reaped, free %" PRIu64 " (before"
				" the secondary %" PRIu64 ")\n", ret == 1 &&
				free1 == free2 ? "ok" : "FAIL", ret, free1,
				free2);
			rc |= ret != 1 || free1 != free2;
		} else if (cmd[0] != '\0')
			printf("unknown command %s\n", cmd);
		fflush(stdout);
	}
out:
	if (fobj != NULL)
		rc |= mmrt_object_destroy(fobj) != 0;
	if (file != NULL)
		fclose(file);
	if (obj != NULL)
		rc |= mmrt_object_destroy(obj) != 0;
	if (pn != NULL)
		mmrt_as_destroy(pn);
	if (iplugged)
		mmrt_interval_notifier_remove(isub);
	if (ipl != NULL)
		mmrt_as_destroy(ipl);
	free(isub);
	if (pc != NULL)
		mmrt_consumer_destroy(pc);
	if (registered)
		mmrt_notifier_unregister(&nb, sub);
	if (u != NULL)
		mmrt_uffd_destroy(u);
	if (usub != NULL)
		mmrt_uffd_destroy(usub);
	if (uw != NULL)
		mmrt_uffd_destroy(uw);
	if (ufw != NULL)
		mmrt_as_destroy(ufw);
	if (uf != NULL)
		mmrt_as_destroy(uf);
	if (inv != NULL)
		mmrt_as_destroy(inv);
	if (sub != NULL)
		mmrt_as_destroy(sub);
	if (as != NULL)
		mmrt_as_destroy(as);
	rc |= peer_fini("sec-peer primary");
	printf("primary done %s\n", rc == 0 ? "ok" : "FAIL");
	return rc;
}

static int
run_plain(int argc, char **argv)
{
	char cmd[64];
	int hold;

	if (argc < 3 || (hold = parse_hold(argv[2])) < 0)
		return 2;
	argv[2] = argv[0];
	if (rte_eal_init(argc - 2, argv + 2) < 0) {
		fprintf(stderr, "sec-peer plain: rte_eal_init: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	printf("ready pid %d\n", (int)getpid());
	fflush(stdout);
	while (peer_read_cmd(cmd, sizeof(cmd), time(NULL) + hold))
		;
	rte_eal_cleanup();
	return 0;
}

/* What only the primary may do fails with -E_RTE_SECONDARY. */
static void
secondary_refusals(struct mmrt_as *as)
{
	struct mmrt_notifier nb = { .ops = &nb_ops };
	struct mmrt_as *sub;
	uint64_t features = 0;
	static uint8_t b_page[MMRT_PAGE_SIZE] __rte_aligned(MMRT_PAGE_SIZE);
	uint32_t sid;
	uint8_t b[16];

	CHECK(mmrt_notifier_register(&nb, as) == -E_RTE_SECONDARY,
		"a plain notifier registered in a secondary");
	rte_errno = 0;
	CHECK(mmrt_uffd_create(as, MMRT_UFFD_API, &features, NULL) == NULL &&
		rte_errno == E_RTE_SECONDARY, "uffd_create: %d", rte_errno);
	rte_errno = 0;
	CHECK(mmrt_object_create_fd("sec.fobj2", STDIN_FILENO, 0,
		MMRT_PAGE_SIZE, 0) == NULL && rte_errno == E_RTE_SECONDARY,
		"object_create_fd: %d", rte_errno);
	CHECK(mmrt_object_lookup("sec.fobj2") == NULL, "a file object left");
	rte_errno = 0;
	CHECK(mmrt_as_mirror_dpdk("sec.mirror") == NULL &&
		rte_errno == E_RTE_SECONDARY, "mirror: %d", rte_errno);
	CHECK(mmrt_as_lookup("sec.mirror") == NULL, "a mirror was left");
	/* the mirrors' external memory is the primary's too */
	CHECK(mmrt_mirror_dma_map(b_page, UINT64_C(1) << 44, MMRT_PAGE_SIZE)
		== -E_RTE_SECONDARY, "mirror_dma_map");
	CHECK(mmrt_mirror_dma_unmap(b_page, UINT64_C(1) << 44,
		MMRT_PAGE_SIZE) == -E_RTE_SECONDARY, "mirror_dma_unmap");
	CHECK(mmrt_as_mirror_sync(NULL) == -E_RTE_SECONDARY, "mirror_sync");
	CHECK(mmrt_as_mirror_sync(as) == -E_RTE_SECONDARY,
		"mirror_sync of a space");
	CHECK(mmrt_mem_zero_service_id(&sid) == -E_RTE_SECONDARY,
		"zero service id");

	/* sec.sub has the primary's plain notifier: no invalidation here */
	sub = mmrt_as_lookup(SP_SUB);
	CHECK(sub != NULL, "lookup %s", SP_SUB);
	if (sub == NULL)
		return;
	CHECK(mmrt_unmap(sub, SP_SUB_VA, MMRT_PAGE_SIZE) == -E_RTE_SECONDARY,
		"unmap of a space with subscribers");
	CHECK(mmrt_protect(sub, SP_SUB_VA, MMRT_PAGE_SIZE, MMRT_PROT_READ) ==
		-E_RTE_SECONDARY, "protect of a space with subscribers");
	CHECK(mmrt_advise(sub, SP_SUB_VA, MMRT_PAGE_SIZE, MMRT_ADV_DONTNEED) ==
		-E_RTE_SECONDARY, "advise of a space with subscribers");
	CHECK(mmrt_as_destroy(sub) == -E_RTE_SECONDARY,
		"destroy of a space with subscribers");
	rte_errno = 0;
	CHECK(mmrt_as_fork(sub, "sec.fork") == NULL &&
		rte_errno == E_RTE_SECONDARY, "fork: %d", rte_errno);
	CHECK(mmrt_as_lookup("sec.fork") == NULL, "the fork's child was left");
	/* nothing changed: the page is still mapped and readable */
	CHECK(mmrt_read(sub, SP_SUB_VA, b, sizeof(b)) == 0,
		"sec.sub changed by a refused call");
	/*
	 * A read maps the zero frame; replacing it on write needs the
	 * flush to the primary's consumer: refused, the page stays zero.
	 * A write to the populated page needs no fault and works.
	 */
	memset(b, 0xa5, sizeof(b));
	CHECK(mmrt_read(sub, SP_SUB_VA2, b, sizeof(b)) == 0 && b[0] == 0 &&
		b[15] == 0, "read of the unpopulated page");
	CHECK(mmrt_write(sub, SP_SUB_VA2, b, sizeof(b)) == -E_RTE_SECONDARY,
		"write replacing the zero frame under a plain notifier");
	memset(b, 0xa5, sizeof(b));
	CHECK(mmrt_read(sub, SP_SUB_VA2, b, sizeof(b)) == 0 && b[0] == 0,
		"the refused write changed the page");
	CHECK(mmrt_write(sub, SP_SUB_VA, b, sizeof(b)) == 0,
		"write to a present writable page");
	CHECK(mmrt_as_lookup(SP_SUB) == sub, "sec.sub gone");
	/* the primary's uffd there: no write-protect from here either */
	{
		struct mmrt_uffd_writeprotect w = {
			.range = { SP_SUB_VA, MMRT_PAGE_SIZE },
			.mode = MMRT_UFFD_MODE_WP,
		};
		struct mmrt_uffd *u = NULL;

		mmrt_uffd_foreach(sub, uffd_pick, &u);
		CHECK(u != NULL, "no uffd on %s", SP_SUB);
		if (u != NULL)
			CHECK(mmrt_uffd_writeprotect(u, &w) == -E_RTE_SECONDARY,
				"uffd writeprotect under a plain notifier");
	}
}

/*
 * The primary's consumer, looked up by name: read-only calls work, the
 * owner's calls fail with -EPERM and change nothing; bad names fail.
 */
static void
secondary_lookups(void)
{
	struct mmrt_consumer *c;
	struct mmrt_consumer_stats st;
	struct mmrt_as *as;
	uint64_t s, e;

	c = mmrt_consumer_lookup(SP_PC);
	CHECK(c != NULL, "lookup %s: %d", SP_PC, rte_errno);
	if (c == NULL)
		return;
	CHECK(strcmp(mmrt_consumer_name(c), SP_PC) == 0, "name");
	CHECK(mmrt_consumer_pid(c) > 0 &&
		mmrt_consumer_pid(c) != (int)getpid(), "pid %d",
		mmrt_consumer_pid(c));
	CHECK(mmrt_consumer_id(c) == -ENOTCONN, "id of an unbound consumer");
	CHECK(mmrt_consumer_stats(c, &st) == 0, "stats");
	CHECK(!mmrt_consumer_fenced(c), "fenced");
	CHECK(mmrt_consumer_poll(c) == -EPERM, "poll");
	CHECK(mmrt_consumer_poll_n(c, 4) == -EPERM, "poll_n");
	CHECK(mmrt_consumer_inval_peek(c, &s, &e, 1) == -EPERM, "peek");
	as = mmrt_as_lookup(SP_INV);
	CHECK(as != NULL && mmrt_consumer_bind(c, as) == -EPERM, "bind");
	CHECK(mmrt_consumer_id(c) == -ENOTCONN, "a refused bind bound it");
	CHECK(mmrt_consumer_unbind(c) == -EPERM, "unbind");
	CHECK(mmrt_consumer_destroy(c) == -EPERM, "destroy");
	CHECK(mmrt_consumer_lookup(SP_PC) == c, "a refused destroy freed it");

	rte_errno = 0;
	CHECK(mmrt_consumer_lookup("sec.none") == NULL && rte_errno == ENOENT,
		"consumer lookup of a missing name: %d", rte_errno);
	rte_errno = 0;
	CHECK(mmrt_consumer_lookup(NULL) == NULL && rte_errno == EINVAL,
		"consumer lookup of NULL: %d", rte_errno);
	rte_errno = 0;
	CHECK(mmrt_consumer_lookup(SP_LONG) == NULL && rte_errno == EINVAL,
		"consumer lookup of a long name: %d", rte_errno);
	/* the primary's uffd of sec.sub has a made-up name */
	as = mmrt_as_lookup(SP_SUB);
	CHECK(as != NULL && mmrt_uffd_lookup(as, "uffd0") != NULL,
		"uffd0 of %s: %d", SP_SUB, rte_errno);
}

/*
 * The primary's objects by name: read, mapped into @as and read and
 * written there; its file-backed object read through its descriptor and
 * not destroyed from here; an object of this process's own.
 */
static void
secondary_objects(struct mmrt_as *as)
{
	static uint8_t buf[2 * MMRT_PAGE_SIZE];
	struct mmrt_object *obj, *own;
	long bad;
	int ret;

	rte_errno = 0;
	CHECK(mmrt_object_lookup("sec.none") == NULL && rte_errno == ENOENT,
		"object lookup of a missing name: %d", rte_errno);
	rte_errno = 0;
	CHECK(mmrt_object_lookup(NULL) == NULL && rte_errno == EINVAL,
		"object lookup of NULL: %d", rte_errno);
	rte_errno = 0;
	CHECK(mmrt_object_lookup(SP_LONG) == NULL && rte_errno == EINVAL,
		"object lookup of a long name: %d", rte_errno);
	obj = mmrt_object_lookup(SP_OBJ);
	CHECK(obj != NULL, "lookup %s: %d", SP_OBJ, rte_errno);
	if (obj == NULL)
		return;
	CHECK(mmrt_object_size(obj) == 2 * MMRT_PAGE_SIZE, "object size");
	ret = mmrt_object_read(obj, 0, buf, sizeof(buf));
	bad = differs(buf, sizeof(buf), 7);
	CHECK(ret == 0 && bad < 0, "object read: %d, pattern 7 off at %ld",
		ret, bad);
	ret = mmrt_map_object(as, SP_D, 2 * MMRT_PAGE_SIZE,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0, obj, 0);
	CHECK(ret == 0, "map_object: %d", ret);
	memset(buf, 0, sizeof(buf));
	ret = mmrt_read(as, SP_D, buf, sizeof(buf));
	bad = differs(buf, sizeof(buf), 7);
	CHECK(ret == 0 && bad < 0, "read through the space: %d, off at %ld",
		ret, bad);
	fill(buf, MMRT_PAGE_SIZE, 8);
	ret = mmrt_write(as, SP_D + MMRT_PAGE_SIZE, buf, MMRT_PAGE_SIZE);
	CHECK(ret == 0, "write through the space: %d", ret);
	CHECK(mmrt_object_destroy(obj) == -EBUSY, "destroy of a mapped object");
	ret = mmrt_unmap(as, SP_D, 2 * MMRT_PAGE_SIZE);
	CHECK(ret == 0, "unmap D: %d", ret);

	obj = mmrt_object_lookup(SP_FOBJ);
	CHECK(obj != NULL, "lookup %s: %d", SP_FOBJ, rte_errno);
	if (obj != NULL) {
		memset(buf, 0, MMRT_PAGE_SIZE);
		ret = mmrt_object_read(obj, 0, buf, MMRT_PAGE_SIZE);
		bad = differs(buf, MMRT_PAGE_SIZE, 10);
		CHECK(ret == 0 && bad < 0, "file object read: %d, pattern 10"
			" off at %ld", ret, bad);
		CHECK(mmrt_object_destroy(obj) == -E_RTE_SECONDARY,
			"destroy of the primary's file object");
		CHECK(mmrt_object_lookup(SP_FOBJ) == obj, "file object gone");
	}

	own = mmrt_object_create("sec.own", MMRT_PAGE_SIZE);
	CHECK(own != NULL, "object_create: %d", rte_errno);
	if (own == NULL)
		return;
	rte_errno = 0;
	CHECK(mmrt_object_create("sec.own", MMRT_PAGE_SIZE) == NULL &&
		rte_errno == EEXIST, "a second sec.own: %d", rte_errno);
	CHECK(mmrt_object_lookup("sec.own") == own, "lookup sec.own");
	CHECK(mmrt_object_destroy(own) == 0, "destroy sec.own");
	rte_errno = 0;
	CHECK(mmrt_object_lookup("sec.own") == NULL && rte_errno == ENOENT,
		"sec.own left after its destroy");
}

static int
run_secondary(int argc, char **argv)
{
	static uint8_t buf[SP_A_LEN];
	struct mmrt_xlate x;
	struct mmrt_as *as;
	long bad;
	int ret, id;

	if (peer_init("sec-peer secondary", argc, argv, 1) != 0)
		return 1;
	CHECK(rte_eal_process_type() == RTE_PROC_SECONDARY, "not a secondary");
	rte_errno = 0;
	CHECK(mmrt_as_lookup("sec.none") == NULL && rte_errno == ENOENT,
		"lookup of a missing name: %d", rte_errno);
	as = mmrt_as_lookup(SP_AS);
	if (as == NULL) {
		fprintf(stderr, "sec-peer secondary: %s not found: %s\n", SP_AS,
			rte_strerror(rte_errno));
		mmrt_fini();
		return 1;
	}
	CHECK(strcmp(mmrt_as_name(as), SP_AS) == 0, "name");

	/* the primary's pattern, through the accessor ... */
	ret = mmrt_read(as, SP_A, buf, SP_A_LEN);
	CHECK(ret == 0, "read A: %d", ret);
	bad = differs(buf, SP_A_LEN, 1);
	CHECK(bad < 0, "A does not hold pattern 1 at %ld", bad);

	/* ... and through a lockless walk of a registered poller */
	id = mmrt_thread_register();
	CHECK(id >= 0, "thread_register: %d", id);
	ret = mmrt_translate(as, SP_A + 4096, MMRT_ACCESS_READ, &x);
	CHECK(ret == 0, "translate: %d", ret);
	if (ret == 0)
		CHECK(*(uint8_t *)x.addr == pat(1, 4096),
			"translated byte %u", *(uint8_t *)x.addr);
	mmrt_quiescent();
	CHECK(mmrt_thread_unregister() == 0, "thread_unregister");

	/* writes the primary will see */
	fill(buf, SP_A_LEN, 2);
	ret = mmrt_write(as, SP_A, buf, SP_A_LEN);
	CHECK(ret == 0, "write A: %d", ret);
	ret = mmrt_map(as, SP_B, SP_B_LEN, MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	CHECK(ret == 0, "map B: %d", ret);
	fill(buf, SP_B_LEN, 3);
	ret = mmrt_write(as, SP_B, buf, SP_B_LEN);
	CHECK(ret == 0, "write B: %d", ret);

	/* a scratch range: map, write, unmap (frees through the gather) */
	ret = mmrt_map(as, SP_C, 4 * MMRT_PAGE_SIZE,
		MMRT_PROT_READ | MMRT_PROT_WRITE, MMRT_MAP_POPULATE);
	CHECK(ret == 0, "map C: %d", ret);
	ret = mmrt_write(as, SP_C + 100, buf, 5000);
	CHECK(ret == 0, "write C: %d", ret);
	ret = mmrt_unmap(as, SP_C, 4 * MMRT_PAGE_SIZE);
	CHECK(ret == 0, "unmap C: %d", ret);
	CHECK(mmrt_read(as, SP_C, buf, 1) < 0, "C still readable");

	secondary_refusals(as);
	secondary_lookups();
	secondary_objects(as);

	ret = mmrt_fini();
	CHECK(ret == 0, "mmrt_fini: %d", ret);
	if (failures == 0)
		printf("secondary ok\n");
	return failures == 0 ? 0 : 1;
}

static int
run_consumer(int argc, char **argv)
{
	struct mmrt_consumer_conf cc = {
		.name = "sec.consumer",
		/* generous: the test is about delivery, not latency */
		.ack_deadline_us = 5 * 1000 * 1000,
	};
	struct mmrt_consumer_stats st;
	struct mmrt_consumer *c = NULL;
	struct mmrt_xlate x;
	struct mmrt_as *as;
	time_t deadline;
	int ret, id = -1;

	if (peer_init("sec-peer consumer", argc, argv, 1) != 0)
		return 1;
	as = mmrt_as_lookup(SP_INV);
	CHECK(as != NULL, "lookup %s", SP_INV);
	if (as == NULL)
		goto out;
	id = mmrt_thread_register();
	CHECK(id >= 0, "thread_register: %d", id);
	c = mmrt_consumer_create(&cc);
	CHECK(c != NULL, "consumer_create: %s", rte_strerror(rte_errno));
	if (c == NULL)
		goto out;
	ret = mmrt_consumer_bind(c, as);
	CHECK(ret >= 0, "bind: %d", ret);
	if (ret < 0)
		goto out;
	ret = mmrt_consumer_translate(c, SP_INV_VA, MMRT_ACCESS_READ, &x);
	CHECK(ret == 0, "translate: %d", ret);
	if (ret == 0)
		CHECK(*(uint8_t *)x.addr == pat(4, 0), "byte %u",
			*(uint8_t *)x.addr);
	/* a hit now: the entry is in the device TLB */
	ret = mmrt_consumer_translate(c, SP_INV_VA, MMRT_ACCESS_READ, &x);
	CHECK(ret == 0, "second translate: %d", ret);
	printf("bound id %d\n", mmrt_consumer_id(c));
	fflush(stdout);

	/* poll until the primary's unmap arrives; the poll acks it */
	deadline = time(NULL) + SP_WAIT_S;
	memset(&st, 0, sizeof(st));
	while (time(NULL) < deadline) {
		mmrt_consumer_poll(c);
		mmrt_quiescent();
		if (mmrt_consumer_stats(c, &st) == 0 && st.inval_descs > 0)
			break;
	}
	CHECK(st.inval_descs > 0, "no invalidation arrived");
	CHECK(st.entries_dropped > 0, "no TLB entry dropped");
	CHECK(!mmrt_consumer_fenced(c), "fenced");
	ret = mmrt_consumer_translate(c, SP_INV_VA, MMRT_ACCESS_READ, &x);
	CHECK(ret < 0, "the unmapped page still translates");
	printf("invalidations %" PRIu64 ", acks %" PRIu64 ", dropped %"
		PRIu64 "\n", st.inval_descs, st.acks, st.entries_dropped);
out:
	if (c != NULL) {
		CHECK(mmrt_consumer_destroy(c) == 0, "consumer_destroy");
	}
	if (id >= 0)
		mmrt_thread_unregister();
	ret = mmrt_fini();
	CHECK(ret == 0, "mmrt_fini: %d", ret);
	if (failures == 0)
		printf("consumer ok\n");
	return failures == 0 ? 0 : 1;
}


static int
run_handler(int argc, char **argv)
{
	static uint8_t page[MMRT_PAGE_SIZE];
	struct mmrt_uffd_msg msgs[8];
	struct mmrt_uffd_copy cp;
	struct mmrt_uffd *u = NULL;
	struct mmrt_as *as;
	time_t deadline;
	int ret, n, i, served = 0;

	if (peer_init("sec-peer handler", argc, argv, 1) != 0)
		return 1;
	as = mmrt_as_lookup(SP_UF);
	CHECK(as != NULL, "lookup %s", SP_UF);
	if (as != NULL) {
		rte_errno = 0;
		CHECK(mmrt_uffd_lookup(as, "sec.none") == NULL &&
			rte_errno == ENOENT, "uffd lookup of a missing name");
		rte_errno = 0;
		CHECK(mmrt_uffd_lookup(as, NULL) == NULL && rte_errno == EINVAL,
			"uffd lookup of NULL");
		rte_errno = 0;
		CHECK(mmrt_uffd_lookup(as, SP_LONG) == NULL &&
			rte_errno == EINVAL, "uffd lookup of a long name");
		rte_errno = 0;
		CHECK(mmrt_uffd_lookup(NULL, SP_UF_NAME) == NULL &&
			rte_errno == EINVAL, "uffd lookup without a space");
		u = mmrt_uffd_lookup(as, SP_UF_NAME);
	}
	CHECK(u != NULL, "no uffd %s on %s: %d", SP_UF_NAME, SP_UF, rte_errno);
	if (u != NULL)
		CHECK(strcmp(mmrt_uffd_name(u), SP_UF_NAME) == 0, "uffd name");
	if (u == NULL)
		goto out;
	printf("handling\n");
	fflush(stdout);
	fill(page, sizeof(page), 5);
	deadline = time(NULL) + SP_WAIT_S;
	while (served == 0 && time(NULL) < deadline) {
		n = mmrt_uffd_read(u, msgs, RTE_DIM(msgs));
		if (n < 0) {
			CHECK(n >= 0 || n == -EAGAIN, "uffd_read: %d", n);
			if (n != -EAGAIN)
				break;
			continue;
		}
		for (i = 0; i < n; i++) {
			if (msgs[i].event != MMRT_UFFD_EVENT_PAGEFAULT)
				continue;
			memset(&cp, 0, sizeof(cp));
			cp.dst = msgs[i].arg.pagefault.address &
				~(uint64_t)(MMRT_PAGE_SIZE - 1);
			cp.src = page;
			cp.len = MMRT_PAGE_SIZE;
			ret = mmrt_uffd_copy(u, &cp);
			CHECK(ret == 0 && cp.copy == MMRT_PAGE_SIZE,
				"copy: %d, %" PRId64, ret, cp.copy);
			printf("served %#" PRIx64 "\n", cp.dst);
			served++;
		}
	}
	CHECK(served > 0, "no page fault arrived");
out:
	ret = mmrt_fini();
	CHECK(ret == 0, "mmrt_fini: %d", ret);
	if (failures == 0)
		printf("handler ok\n");
	return failures == 0 ? 0 : 1;
}

static unsigned int pin_calls;

static void
pin_cb(struct mmrt_pin *pin, void *arg)
{
	RTE_SET_USED(pin);
	RTE_SET_USED(arg);
	pin_calls++;
}

/* -1 if the pages of @pin hold pattern @which, else the first bad offset */
static long
pin_differs(const struct mmrt_pin *pin, unsigned int which)
{
	struct mmrt_sg sg[4];
	uint64_t off = 0, k;
	int n, i;

	n = mmrt_pin_sg(pin, sg, RTE_DIM(sg));
	if (n <= 0)
		return 0;
	/* the pattern runs on across segments */
	for (i = 0; i < n; i++)
		for (k = 0; k < sg[i].len; k++, off++)
			if (((const uint8_t *)sg[i].addr)[k] != pat(which, off))
				return (long)off;
	return -1;
}

static int
run_ptdefer(int argc, char **argv)
{
	uint8_t b[MMRT_PAGE_SIZE];
	struct mmrt_as *as;
	time_t deadline;
	unsigned int i;

	if (peer_init("sec-peer ptdefer", argc, argv, 1) != 0)
		return 1;
	as = mmrt_as_lookup(SP_AS);
	CHECK(as != NULL, "lookup %s", SP_AS);
	if (as == NULL)
		goto out;
	memset(b, 0x6d, sizeof(b));
	CHECK(mmrt_map(as, SP_PT_VA, 16 * MMRT_PAGE_SIZE, MMRT_PROT_READ |
		MMRT_PROT_WRITE, 0) == 0, "map");
	for (i = 0; i < 16; i++)
		CHECK(mmrt_write(as, SP_PT_VA + i * MMRT_PAGE_SIZE, b,
			sizeof(b)) == 0, "write %u", i);
	CHECK(mmrt_unmap(as, SP_PT_VA, 16 * MMRT_PAGE_SIZE) == 0, "unmap");
	if (failures != 0)
		goto out;
	printf("deferred\n");
	fflush(stdout);
	deadline = time(NULL) + SP_WAIT_S;
	while (time(NULL) < deadline)
		usleep(10000);
	printf("ptdefer not killed\n");
out:
	return 1;
}

static int
run_ufwaiter(int argc, char **argv)
{
	struct mmrt_as *as;
	uint8_t b[64];
	int ret;

	if (peer_init("sec-peer ufwaiter", argc, argv, 1) != 0)
		return 1;
	as = mmrt_as_lookup(SP_UFW);
	CHECK(as != NULL, "lookup %s", SP_UFW);
	if (as == NULL)
		return 1;
	printf("faulting\n");
	fflush(stdout);
	/* waits for a resolution that never comes, SP_WAIT_S at most */
	ret = mmrt_read(as, SP_UFW_VA, b, sizeof(b));
	printf("ufwaiter not killed: %d\n", ret);
	return 1;
}

static int
run_pinner(int argc, char **argv)
{
	struct mmrt_as_stats st;
	struct mmrt_pin *pin = NULL, *bad = NULL;
	struct mmrt_as *as, *ipl;
	time_t deadline;
	long off;
	int ret;

	if (peer_init("sec-peer pinner", argc, argv, 1) != 0)
		return 1;
	as = mmrt_as_lookup(SP_PIN);
	CHECK(as != NULL, "lookup %s", SP_PIN);
	if (as == NULL)
		goto out;
	CHECK(mmrt_pin(as, SP_PIN_VA + 8 * MMRT_PAGE_SIZE, MMRT_PAGE_SIZE, 0,
		&bad) == -EFAULT && bad == NULL, "pin of an unmapped range");
	CHECK(mmrt_pin(as, SP_PIN_VA + 1, MMRT_PAGE_SIZE, 0, &bad) == -EINVAL &&
		bad == NULL, "pin of an unaligned range");
	CHECK(mmrt_pin_revocable(as, SP_PIN_VA, MMRT_PAGE_SIZE, 0, pin_cb,
		NULL, &bad) == -E_RTE_SECONDARY && bad == NULL,
		"pin with a callback in a secondary");
	CHECK(mmrt_as_stats(as, &st) == 0 && st.pinned_pages == 0,
		"a refused pin counted");
	ipl = mmrt_as_lookup(SP_IPL);
	CHECK(ipl != NULL, "lookup %s", SP_IPL);
	ret = ipl != NULL ? mmrt_pin(ipl, SP_IPL_VA, MMRT_PAGE_SIZE, 0, &bad) :
		-ENOENT;
	CHECK(ret == -E_RTE_SECONDARY && bad == NULL, "pin on %s, which has"
		" the primary's interval notifier: %d", SP_IPL, ret);
	CHECK(ipl == NULL || (mmrt_as_stats(ipl, &st) == 0 &&
		st.pinned_pages == 0), "a refused pin on %s counted", SP_IPL);
	ret = mmrt_pin(as, SP_PIN_VA, 2 * MMRT_PAGE_SIZE, 0, &pin);
	CHECK(ret == 0, "pin: %d", ret);
	if (ret != 0)
		goto out;
	CHECK(mmrt_as_stats(as, &st) == 0 && st.pinned_pages == 2,
		"pinned pages %" PRIu64, st.pinned_pages);
	off = pin_differs(pin, 6);
	CHECK(off < 0, "pinned pages: pattern 6 off at %ld", off);
	printf("pinned\n");
	fflush(stdout);
	/* the primary unmaps the range: the pin is revoked, frames stay */
	deadline = time(NULL) + SP_WAIT_S;
	while (!mmrt_pin_revoked(pin) && time(NULL) < deadline)
		usleep(1000);
	CHECK(mmrt_pin_revoked(pin), "not revoked");
	off = pin_differs(pin, 6);
	CHECK(off < 0, "after the unmap: pattern 6 off at %ld", off);
	CHECK(mmrt_unpin(pin) == 0, "unpin");
	CHECK(pin_calls == 0, "a callback ran");
	printf("unpinned\n");
out:
	ret = mmrt_fini();
	CHECK(ret == 0, "mmrt_fini: %d", ret);
	if (failures == 0)
		printf("pinner ok\n");
	return failures == 0 ? 0 : 1;
}

static int
run_reader(int argc, char **argv)
{
	static uint8_t buf[SP_A_LEN];
	struct mmrt_as *as;
	long bad;
	int ret;

	if (peer_init("sec-peer reader", argc, argv, 1) != 0)
		return 1;
	as = mmrt_as_lookup(SP_AS);
	CHECK(as != NULL, "lookup %s", SP_AS);
	if (as != NULL) {
		ret = mmrt_read(as, SP_A, buf, SP_A_LEN);
		bad = differs(buf, SP_A_LEN, 2);
		CHECK(ret == 0 && bad < 0, "A: %d, pattern 2 off at %ld", ret,
			bad);
		ret = mmrt_read(as, SP_B, buf, SP_B_LEN);
		bad = differs(buf, SP_B_LEN, 3);
		CHECK(ret == 0 && bad < 0, "B: %d, pattern 3 off at %ld", ret,
			bad);
	}
	ret = mmrt_fini();
	CHECK(ret == 0, "mmrt_fini: %d", ret);
	if (failures == 0)
		printf("reader ok\n");
	return failures == 0 ? 0 : 1;
}

static int
run_expect(int argc, char **argv)
{
	char *end;
	long want;
	int ret;

	if (argc < 3)
		return 2;
	want = strtol(argv[2], &end, 10);
	if (*end != '\0' || want < 0)
		return 2;
	argv[2] = argv[0];
	ret = mmrt_init(argc - 2, argv + 2);
	if (ret >= 0) {
		fprintf(stderr, "sec-peer expect: mmrt_init succeeded\n");
		mmrt_fini();
		return 1;
	}
	if (want != 0 && ret != -want) {
		fprintf(stderr, "sec-peer expect: mmrt_init: %d (%s), want"
			" %ld\n", ret, strerror(-ret), -want);
		return 1;
	}
	CHECK(!mmrt_is_up(), "up after a failed init");
	printf("expected failure %d (%s)\n", ret, strerror(-ret));
	return failures == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct peer_role roles[] = {
		{ "primary", run_primary },
		{ "plain", run_plain },
		{ "secondary", run_secondary },
		{ "consumer", run_consumer },
		{ "handler", run_handler },
		{ "pinner", run_pinner },
		{ "ptdefer", run_ptdefer },
		{ "ufwaiter", run_ufwaiter },
		{ "reader", run_reader },
		{ "expect", run_expect },
	};

	return peer_main(argc, argv, roles, RTE_DIM(roles));
}
