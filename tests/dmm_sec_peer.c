/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * dmm-sec-peer: dma_mmrt in DPDK secondary processes
 * (check-dmm-secondary.sh). The primary probes dma_mmrt0 (as=dmm.as, its
 * own --vdev); a secondary attaches to it, starts it (its engine runs in
 * the secondary, on the secondary's lcore) and copies through it with
 * rte_dma_* only.
 *
 *   dmm-sec-peer primary HOLD [EAL args with --vdev=dma_mmrt0,...] [-- mmrt]
 *     mmrt up; the space "dmm.as" with SRC and DST (64 KiB each) mapped
 *     and populated; the pool's free count as the baseline. Prints
 *     "ready", then reads commands from stdin, at most HOLD seconds:
 *       check N DST holds pattern N: "checked ok" or "checked FAIL ..."
 *       busy    the engine runs in a live secondary: rte_dma_stop() and
 *               rte_dma_close() here fail with -EBUSY and change nothing;
 *               "busy ok" or "busy FAIL ..."
 *       snap    the rte_malloc heaps' allocated bytes and count as the
 *               reference of the next reap: "snapped ok ..."
 *       reap    (the secondary was killed) mmrt_reap_dead() reclaims it,
 *               then rte_dma_stop() here releases the device (0); no
 *               consumer of the engine is left, the pool's free count
 *               is the baseline and the heaps are as at the last snap
 *               (less the dead process's defer queue, which the reap
 *               frees too)
 *               (the engine's rte_malloc memory was freed): "reaped ok
 *               ..." or "reaped FAIL ..."
 *       idle    no process runs the device: mmrt_dma_mmrt_stats() says
 *               -ENOTCONN and rte_dma_copy() here reaches no engine
 *               (-EINVAL): "idle ok" or "idle FAIL ..."
 *       pcopy N PID  the engine runs in secondary PID: this process
 *               writes pattern N into SRC and copies SRC to DST through
 *               the device with rte_dma_* (its guarded data path into
 *               that engine), checks every status and DST, and
 *               mmrt_dma_mmrt_stats() reports the device running in PID
 *               with the operations counted: "pcopied ok" or "pcopied
 *               FAIL ..."
 *       stream  a thread of this process copies SRC to DST through the
 *               device again and again (the engine runs in a secondary)
 *               until "unstream"; "streaming ok" once 64 operations
 *               completed
 *       reapnow mmrt_reap_dead() while that thread still calls the data
 *               path (the secondary was killed): the engine is reclaimed
 *               under the thread's calls, which then reach nothing;
 *               "reapednow ok" when a process was reclaimed, no consumer
 *               is left and the pool's free count is the baseline
 *       unstream  stops and joins the thread, then rte_dma_stop() (0):
 *               "unstreamed ok" if the thread saw only successes and then
 *               -EINVAL (no engine), never a wrong status
 *       EOF     rte_dma_close(), tear down, mmrt_fini(): "primary done ok"
 *   dmm-sec-peer copier N [EAL args with --proc-type=secondary]
 *     attaches; rte_vdev_init() of a new dma_mmrt name fails with
 *     -ENOTSUP; writes pattern N into SRC, configures and starts
 *     dma_mmrt0, copies SRC to DST in 4 KiB operations, checks every
 *     status, stops it; mmrt_fini() (its remove drops the attachment):
 *     "copier ok".
 *   dmm-sec-peer victim [EAL args with --proc-type=secondary]
 *     attaches, prints "attached" and waits for a line "go" on stdin
 *     (at most SP_WAIT_S seconds), then as copier with pattern 3, then
 *     copies again and again (at most SP_WAIT_S seconds) after printing
 *     "copying": killed meanwhile.
 *   dmm-sec-peer runner [EAL args with --proc-type=secondary]
 *     attaches, configures and starts dma_mmrt0 (its engine runs here),
 *     prints "running pid PID" and submits nothing itself; at EOF on
 *     stdin (at most SP_WAIT_S seconds) stops it: "runner ok".
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

#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <mmrt_dma_mmrt.h>

#include "peer_common.h"

#define SP_AS "dmm.as"
#define SP_DEV "dma_mmrt0"
#define SP_SRC 0x10000000ULL
#define SP_DST 0x20000000ULL
#define SP_LEN (64 * 1024)
#define SP_OP 4096
#define SP_WAIT_S 60
#define SP_ENGINE_CONSUMER "dma_mmrt.0" /* the engine's consumer name */

static uint64_t
pool_free(void)
{
	struct mmrt_mem_stats st;

	if (mmrt_mem_stats(&st) != 0)
		return 0;
	return st.frames_free;
}

static void
primary_check(struct mmrt_as *as, unsigned int which)
{
	static uint8_t buf[SP_LEN];
	long bad;
	int ret = mmrt_read(as, SP_DST, buf, SP_LEN);

	if (ret < 0) {
		printf("checked FAIL read: %d\n", ret);
		return;
	}
	bad = differs(buf, SP_LEN, which);
	if (bad >= 0)
		printf("checked FAIL DST is not pattern %u at %ld\n", which,
			bad);
	else
		printf("checked ok pattern %u\n", which);
}

static void
primary_busy(int16_t id)
{
	int s = rte_dma_stop(id), c = rte_dma_close(id);

	if (s == -EBUSY && c == -EBUSY &&
			rte_dma_get_dev_id_by_name(SP_DEV) == id)
		printf("busy ok: stop %d close %d\n", s, c);
	else
		printf("busy FAIL stop %d close %d\n", s, c);
}

/* Heap blocks a dead process's defer queue held (see primary_reap()). */
#define DMM_DEAD_DQ_BLOCKS 3

/* The rte_malloc heaps, every socket's: allocated bytes and blocks. */
struct heap_snap {
	uint64_t bytes;
	uint64_t count;
	bool taken;
};

static void
heap_get(struct heap_snap *h)
{
	struct rte_malloc_socket_stats st;
	unsigned int i;

	h->bytes = 0;
	h->count = 0;
	for (i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i),
				&st) == 0) {
			h->bytes += st.heap_allocsz_bytes;
			h->count += st.alloc_count;
		}
	h->taken = true;
}

static void
primary_reap(int16_t id, uint64_t base, struct heap_snap *snap)
{
	int n = mmrt_reap_dead();
	int s = rte_dma_stop(id);
	uint64_t now = pool_free();
	struct heap_snap h;
	bool left, heap_ok;

	rte_errno = 0;
	left = mmrt_consumer_lookup(SP_ENGINE_CONSUMER) != NULL;
	heap_get(&h);
	/*
	 * Nothing of the engine is left: no more than at the snapshot. The
	 * reap also frees what the dead process allocated while attaching
	 * and the snapshot includes: its QSBR defer queue (the mm.gather
	 * step: the queue's struct and its ring's memzone, 3 blocks and
	 * about 97 KiB at the default qsbr_dq_size), and nothing else.
	 */
	heap_ok = !snap->taken ||
		(h.bytes <= snap->bytes && h.count <= snap->count &&
		h.count + DMM_DEAD_DQ_BLOCKS >= snap->count);
	printf("reaped %s: %d processes, stop %d, consumer %s, pool free %"
		PRIu64 " (baseline %" PRIu64 "), heap %" PRIu64 " bytes in %"
		PRIu64 " blocks (at snap %" PRIu64 " in %" PRIu64 ")\n",
		n >= 1 && s == 0 && !left && now == base && heap_ok ?
		"ok" : "FAIL", n, s, left ? "left" : "gone", now, base,
		h.bytes, h.count, snap->bytes, snap->count);
	snap->taken = false;
}

/* No process runs the device: no counters, no engine reached. */
static void
primary_idle(int16_t id)
{
	struct mmrt_dma_mmrt_stats st;
	int s = mmrt_dma_mmrt_stats(id, &st);
	int c = rte_dma_copy(id, 0, SP_SRC, SP_DST, SP_OP,
		RTE_DMA_OP_FLAG_SUBMIT);

	printf("idle %s: stats %d, copy %d\n",
		s == -ENOTCONN && c == -EINVAL ? "ok" : "FAIL", s, c);
}

/*
 * A thread of the primary that streams copies through the device whose
 * engine runs in a secondary, through the guarded data path, while the
 * main thread reclaims that secondary's engine once it is killed.
 */
struct stream {
	pthread_t thr;
	int16_t id;
	bool up;
	uint32_t stop;
	uint64_t completed;   /* successful completions */
	uint64_t refused;     /* rte_dma_copy() -EINVAL: no engine */
	uint64_t bad;         /* any other error or status */
};

static void *
stream_main(void *arg)
{
	enum rte_dma_status_code st[SP_LEN / SP_OP];
	struct stream *sm = arg;
	uint16_t n, i, last;
	int ret;

	while (!__atomic_load_n(&sm->stop, __ATOMIC_ACQUIRE)) {
		for (i = 0; i < SP_LEN / SP_OP; i++) {
			ret = rte_dma_copy(sm->id, 0,
				SP_SRC + (uint64_t)i * SP_OP,
				SP_DST + (uint64_t)i * SP_OP, SP_OP, 0);
			if (ret == -ENOSPC)
				break;
			if (ret == -EINVAL) {
				__atomic_fetch_add(&sm->refused, 1,
					__ATOMIC_RELAXED);
				usleep(100);
				break;
			}
			if (ret < 0)
				__atomic_fetch_add(&sm->bad, 1,
					__ATOMIC_RELAXED);
		}
		rte_dma_submit(sm->id, 0);
		n = rte_dma_completed_status(sm->id, 0, RTE_DIM(st), &last,
			st);
		for (i = 0; i < n; i++)
			if (st[i] != RTE_DMA_STATUS_SUCCESSFUL)
				__atomic_fetch_add(&sm->bad, 1,
					__ATOMIC_RELAXED);
		__atomic_fetch_add(&sm->completed, n, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void
primary_stream(struct stream *sm, int16_t id)
{
	time_t deadline = time(NULL) + SP_WAIT_S;

	memset(sm, 0, sizeof(*sm));
	sm->id = id;
	if (pthread_create(&sm->thr, NULL, stream_main, sm) != 0) {
		printf("streaming FAIL pthread_create\n");
		return;
	}
	sm->up = true;
	while (__atomic_load_n(&sm->completed, __ATOMIC_RELAXED) < 64 &&
			time(NULL) < deadline)
		usleep(1000);
	printf("streaming %s: %" PRIu64 " completed\n",
		__atomic_load_n(&sm->completed, __ATOMIC_RELAXED) >= 64 &&
		__atomic_load_n(&sm->bad, __ATOMIC_RELAXED) == 0 ?
		"ok" : "FAIL", __atomic_load_n(&sm->completed,
		__ATOMIC_RELAXED));
}

static void
primary_reapnow(uint64_t base)
{
	int n = mmrt_reap_dead();
	uint64_t now = pool_free();
	bool left;

	left = mmrt_consumer_lookup(SP_ENGINE_CONSUMER) != NULL;
	printf("reapednow %s: %d processes, consumer %s, pool free %" PRIu64
		" (baseline %" PRIu64 ")\n",
		n >= 1 && !left && now == base ? "ok" : "FAIL", n,
		left ? "left" : "gone", now, base);
}

static void
primary_unstream(struct stream *sm, int16_t id)
{
	time_t deadline = time(NULL) + SP_WAIT_S;
	uint64_t refused0;
	int s;

	if (!sm->up) {
		printf("unstreamed FAIL no stream\n");
		return;
	}
	/* the thread goes on until it met the reclaimed engine */
	refused0 = __atomic_load_n(&sm->refused, __ATOMIC_RELAXED);
	while (__atomic_load_n(&sm->refused, __ATOMIC_RELAXED) < refused0 + 8 &&
			time(NULL) < deadline)
		usleep(1000);
	__atomic_store_n(&sm->stop, 1, __ATOMIC_RELEASE);
	pthread_join(sm->thr, NULL);
	sm->up = false;
	s = rte_dma_stop(id);
	printf("unstreamed %s: %" PRIu64 " completed, %" PRIu64
		" refused after the reclaim, %" PRIu64 " bad, stop %d\n",
		sm->completed >= 64 && sm->refused >= 8 && sm->bad == 0 &&
		s == 0 ? "ok" : "FAIL", sm->completed, sm->refused, sm->bad,
		s);
}

/*
 * The engine runs in secondary @pid: copy pattern @which through it from
 * here (the primary's own rte_dma_* calls) and check the bytes, the
 * statuses and what mmrt_dma_mmrt_stats() says.
 */
static void
primary_pcopy(struct mmrt_as *as, int16_t id, unsigned int which,
	int32_t pid)
{
	static uint8_t buf[SP_LEN];
	enum rte_dma_status_code st[SP_LEN / SP_OP];
	uint16_t want = SP_LEN / SP_OP, done = 0, n, i, last;
	struct mmrt_dma_mmrt_stats ms0, ms;
	time_t deadline = time(NULL) + SP_WAIT_S;
	int ret, s0, s;
	long bad;

	s0 = mmrt_dma_mmrt_stats(id, &ms0);
	fill(buf, SP_LEN, which);
	if (mmrt_write(as, SP_SRC, buf, SP_LEN) < 0) {
		printf("pcopied FAIL write SRC\n");
		return;
	}
	for (i = 0; i < want; i++) {
		ret = rte_dma_copy(id, 0, SP_SRC + (uint64_t)i * SP_OP,
			SP_DST + (uint64_t)i * SP_OP, SP_OP, 0);
		if (ret < 0) {
			printf("pcopied FAIL rte_dma_copy %u: %d\n", i, ret);
			return;
		}
	}
	ret = rte_dma_submit(id, 0);
	while (ret == 0 && done < want && time(NULL) < deadline) {
		n = rte_dma_completed_status(id, 0, want - done, &last, st);
		for (i = 0; i < n; i++)
			if (st[i] != RTE_DMA_STATUS_SUCCESSFUL) {
				printf("pcopied FAIL status %d\n", st[i]);
				return;
			}
		done += n;
		if (n == 0)
			usleep(100);
	}
	if (done != want) {
		printf("pcopied FAIL submit %d, %u of %u completed\n", ret,
			done, want);
		return;
	}
	ret = mmrt_read(as, SP_DST, buf, SP_LEN);
	bad = ret < 0 ? 0 : differs(buf, SP_LEN, which);
	s = mmrt_dma_mmrt_stats(id, &ms);
	if (ret < 0 || bad >= 0 || s0 != 0 || s != 0 ||
			ms.run_pid != pid || ms0.run_pid != pid ||
			ms.submitted < ms0.submitted + want ||
			ms.completed < ms0.completed + want) {
		printf("pcopied FAIL read %d, DST not pattern %u at %ld, stats %d/%d run_pid %d (want %d) submitted %"
			PRIu64 " -> %" PRIu64 "\n", ret, which, bad, s0, s,
			(int)ms.run_pid, (int)pid, ms0.submitted,
			ms.submitted);
		return;
	}
	printf("pcopied ok pattern %u through the engine of process %d (submitted %"
		PRIu64 " -> %" PRIu64 ")\n", which, (int)pid, ms0.submitted,
		ms.submitted);
}

static int
run_primary(int argc, char **argv)
{
	static uint8_t buf[SP_LEN];
	struct heap_snap snap = { 0, 0, false };
	static struct stream sm;
	struct mmrt_as *as = NULL;
	uint64_t base;
	char cmd[64];
	time_t deadline;
	int hold, ret, rc = 1, tries, id;

	if (argc < 3 || (hold = parse_hold(argv[2])) < 0) {
		fprintf(stderr, "usage: dmm-sec-peer primary HOLD [EAL]\n");
		return 2;
	}
	deadline = time(NULL) + hold;
	argv[2] = argv[0];
	ret = mmrt_init(argc - 2, argv + 2);
	if (ret < 0) {
		fprintf(stderr, "primary: mmrt_init: %s\n", strerror(-ret));
		return 1;
	}
	id = rte_dma_get_dev_id_by_name(SP_DEV);
	as = mmrt_as_create(SP_AS);
	memset(buf, 0, sizeof(buf));
	if (id < 0 || as == NULL ||
			mmrt_map(as, SP_SRC, SP_LEN, MMRT_PROT_READ |
			MMRT_PROT_WRITE, MMRT_MAP_POPULATE) < 0 ||
			mmrt_map(as, SP_DST, SP_LEN, MMRT_PROT_READ |
			MMRT_PROT_WRITE, MMRT_MAP_POPULATE) < 0 ||
			mmrt_write(as, SP_DST, buf, SP_LEN) < 0) {
		fprintf(stderr, "primary: setup (dmadev %d)\n", id);
		goto out;
	}
	base = pool_free();
	printf("ready pid %d dmadev %d pool free %" PRIu64 "\n", (int)getpid(),
		id, base);
	rc = 0;
	while (peer_read_cmd(cmd, sizeof(cmd), deadline)) {
		if (strncmp(cmd, "check ", 6) == 0)
			primary_check(as, (unsigned int)atoi(cmd + 6));
		else if (strcmp(cmd, "busy") == 0)
			primary_busy((int16_t)id);
		else if (strcmp(cmd, "snap") == 0) {
			heap_get(&snap);
			printf("snapped ok: heap %" PRIu64 " bytes in %" PRIu64
				" blocks\n", snap.bytes, snap.count);
		} else if (strcmp(cmd, "reap") == 0)
			primary_reap((int16_t)id, base, &snap);
		else if (strcmp(cmd, "idle") == 0)
			primary_idle((int16_t)id);
		else if (strcmp(cmd, "stream") == 0)
			primary_stream(&sm, (int16_t)id);
		else if (strcmp(cmd, "reapnow") == 0)
			primary_reapnow(base);
		else if (strcmp(cmd, "unstream") == 0)
			primary_unstream(&sm, (int16_t)id);
		else if (strncmp(cmd, "pcopy ", 6) == 0) {
			unsigned int w = 0;
			int pid = 0;

			if (sscanf(cmd + 6, "%u %d", &w, &pid) == 2)
				primary_pcopy(as, (int16_t)id, w, pid);
			else
				printf("pcopied FAIL usage: pcopy N PID\n");
		}
		else if (cmd[0] != '\0')
			printf("unknown command %s\n", cmd);
	}
	ret = rte_dma_close((int16_t)id);
	if (ret != 0) {
		fprintf(stderr, "primary: rte_dma_close: %d\n", ret);
		rc = 1;
	}
out:
	if (as != NULL)
		mmrt_as_destroy(as);
	for (tries = 0; (ret = mmrt_fini()) == -EBUSY && tries < 100; tries++)
		usleep(100 * 1000);
	if (ret < 0) {
		fprintf(stderr, "primary: mmrt_fini: %s\n", strerror(-ret));
		rc = 1;
	}
	printf("primary done %s\n", rc == 0 ? "ok" : "FAIL");
	return rc;
}

/* Copy SRC to DST through @id in SP_OP operations; 0 when all succeeded. */
static int
copy_all(int16_t id)
{
	uint16_t last, done = 0, n, i, want = SP_LEN / SP_OP;
	enum rte_dma_status_code st[SP_LEN / SP_OP];
	time_t deadline = time(NULL) + SP_WAIT_S;
	bool err = false;
	int ret;

	for (i = 0; i < want; i++) {
		ret = rte_dma_copy(id, 0, SP_SRC + (uint64_t)i * SP_OP,
			SP_DST + (uint64_t)i * SP_OP, SP_OP, 0);
		if (ret < 0) {
			fprintf(stderr, "rte_dma_copy %u: %d\n", i, ret);
			return -1;
		}
	}
	rte_dma_submit(id, 0);
	while (done < want && time(NULL) < deadline) {
		n = rte_dma_completed_status(id, 0, want - done, &last, st);
		for (i = 0; i < n; i++)
			if (st[i] != RTE_DMA_STATUS_SUCCESSFUL) {
				fprintf(stderr, "status %d\n", st[i]);
				err = true;
			}
		done += n;
	}
	return done == want && !err ? 0 : -1;
}

enum sp_role { SP_COPIER, SP_VICTIM, SP_RUNNER };

static int
run_copier(int argc, char **argv, unsigned int which, enum sp_role role)
{
	bool victim = role == SP_VICTIM;
	char cmd[16];
	static uint8_t buf[SP_LEN];
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = 64,
	};
	struct mmrt_as *as;
	time_t deadline;
	int ret, id, failures = 0;

	ret = mmrt_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "copier: mmrt_init: %s\n", strerror(-ret));
		return 1;
	}
	if (rte_eal_process_type() != RTE_PROC_SECONDARY) {
		fprintf(stderr, "copier: not a secondary\n");
		failures++;
		goto out;
	}
	/* a secondary cannot create a dmadev (DPDK 22.11's library) */
	ret = rte_vdev_init("dma_mmrt9", "as=" SP_AS ",service=1");
	if (ret != -ENOTSUP || rte_dma_get_dev_id_by_name("dma_mmrt9") >= 0) {
		fprintf(stderr, "copier: rte_vdev_init(dma_mmrt9): %d\n", ret);
		failures++;
	}
	as = mmrt_as_lookup(SP_AS);
	id = rte_dma_get_dev_id_by_name(SP_DEV);
	if (victim) {
		/* the primary takes its heap reference now (this process's
		 * own EAL and mmrt allocations in it, none of the engine's) */
		printf("attached pid %d\n", (int)getpid());
		fflush(stdout);
		deadline = time(NULL) + SP_WAIT_S;
		if (!peer_read_cmd(cmd, sizeof(cmd), deadline) ||
				strcmp(cmd, "go") != 0) {
			fprintf(stderr, "victim: no go\n");
			failures++;
			goto out;
		}
	}
	fill(buf, SP_LEN, which);
	if (as == NULL || id < 0 || (role != SP_RUNNER &&
			mmrt_write(as, SP_SRC, buf, SP_LEN) < 0)) {
		fprintf(stderr, "copier: %s %p, %s %d\n", SP_AS, (void *)as,
			SP_DEV, id);
		failures++;
		goto out;
	}
	ret = rte_dma_configure((int16_t)id, &conf);
	if (ret == 0)
		ret = rte_dma_vchan_setup((int16_t)id, 0, &vc);
	if (ret == 0)
		ret = rte_dma_start((int16_t)id);
	if (ret != 0) {
		fprintf(stderr, "copier: configure/start: %d\n", ret);
		failures++;
		goto out;
	}
	if (role == SP_RUNNER) {
		/* the primary copies through our engine meanwhile */
		printf("running pid %d\n", (int)getpid());
		fflush(stdout);
		deadline = time(NULL) + SP_WAIT_S;
		while (peer_read_cmd(cmd, sizeof(cmd), deadline))
			;
	} else if (copy_all((int16_t)id) != 0) {
		fprintf(stderr, "copier: copy failed\n");
		failures++;
	}
	if (victim) {
		printf("copying pid %d\n", (int)getpid());
		fflush(stdout);
		deadline = time(NULL) + SP_WAIT_S;
		while (time(NULL) < deadline)
			(void)copy_all((int16_t)id);
		fprintf(stderr, "victim: not killed\n");
		failures++;
	}
	ret = rte_dma_stop((int16_t)id);
	if (ret != 0) {
		fprintf(stderr, "copier: stop: %d\n", ret);
		failures++;
	}
out:
	ret = mmrt_fini();
	if (ret != 0) {
		fprintf(stderr, "copier: mmrt_fini: %d\n", ret);
		failures++;
	}
	if (failures == 0 && role == SP_RUNNER)
		printf("runner ok\n");
	else if (failures == 0)
		printf("copier ok pattern %u\n", which);
	return failures == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* the driver comes with libmmrt_pmd_dma_mmrt: this call keeps it */
	if (!mmrt_dma_mmrt_registered()) {
		fprintf(stderr, "dmm-sec-peer: the dma_mmrt driver is not registered\n");
		return 1;
	}
	if (argc >= 2 && strcmp(argv[1], "primary") == 0)
		return run_primary(argc, argv);
	if (argc >= 3 && strcmp(argv[1], "copier") == 0) {
		unsigned int which = (unsigned int)atoi(argv[2]);

		argv[2] = argv[0];
		return run_copier(argc - 2, argv + 2, which, SP_COPIER);
	}
	if (argc >= 2 && strcmp(argv[1], "victim") == 0) {
		argv[1] = argv[0];
		return run_copier(argc - 1, argv + 1, 3, SP_VICTIM);
	}
	if (argc >= 2 && strcmp(argv[1], "runner") == 0) {
		argv[1] = argv[0];
		return run_copier(argc - 1, argv + 1, 0, SP_RUNNER);
	}
	fprintf(stderr, "usage: dmm-sec-peer primary|copier N|victim|runner ...\n");
	return 2;
}
