/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * dma_mmrt: the swdma engine registered as a real DPDK dmadev on the vdev
 * bus (issue 12), so that stock rte_dma_* code drives it.
 *
 *   --vdev=dma_mmrt0[,as=NAME][,dev=DMADEV][,lcore=N|service=1][,burst=B]
 *                   [,idle=MODE][,ack_us=US][,park_us=US][,lookahead=0]
 *   rte_vdev_init("dma_mmrt0", "as=NAME,lcore=N")
 *
 * Two engines. Without dev=, the software engine (pmd/swdma) copies and
 * fills itself. With dev=DMADEV, a real dmadev (dma_skeleton in the tests;
 * idxd/ioat in production) does the copies: the bridge (pmd/dmadev)
 * translates each operation, splits it at page boundaries and gives the
 * device the pieces by IOVA; it acks an invalidation only once no piece
 * on the device uses a dropped translation (it stops feeding the device
 * meanwhile), so a frame is never reused under the device. The bridge has
 * one driving thread: a worker (lcore=N, or the service) moves operations
 * from the submitter's ring (struct dmm_front) to the bridge and the
 * bridge's statuses back. The dmadev behind is configured (one MEM_TO_MEM
 * vchan) and started at dma_mmrt's start and stopped at its stop; nobody
 * else may use it meanwhile. That mode copies only (no fill, no
 * scatter-gather: not advertised).
 *
 * One vchan. The engine runs a ring's operations strictly in order, and a
 * parked operation stops its ring; several vchans would need one engine
 * step to visit several rings round-robin with a per-ring park, and the
 * per-vchan in-order contract of dmadev holds either way. The engine is
 * one lcore's memcpy loop: several vchans would share its bandwidth, not
 * add to it, so the driver advertises max_vchans 1 and an application
 * wanting parallel channels creates several devices (each with its own
 * lcore or service), which also keeps the data path free of a vchan
 * index lookup.
 *
 * With as=NAME, addresses are virtual addresses of the mmrt address space
 * NAME (PASID like; not process SVA). Without as= (mirror mode) they are
 * IOVAs of DPDK memory (rte_pktmbuf_iova(), rte_malloc_virt2iova()),
 * translated through the process's DPDK-memory mirror space
 * (mmrt_as_mirror_dpdk()) named DMM_MIRROR_NAME ("dma_mmrt.mirror"): at a
 * mirror-mode device's first start the driver looks that space up (an
 * application that made its own mirror under this name shares it, and
 * must keep it until its devices are closed) or creates it. An IOVA that
 * is not DPDK memory (IOVA 0 included) is a hole of the mirror: the
 * operation completes with an error status, nothing is written.
 *
 * Runtime in a stock DPDK application (mirror mode). If mmrt is not up at
 * a mirror-mode device's first start, the driver brings it up on the
 * running EAL with mmrt_attach(NULL) (built-in defaults: a 256 MiB frame
 * pool out of the EAL's memory, so give -m 512 or more). The devices that
 * started in mirror mode hold the runtime and the mirror until they are
 * closed (rte_dma_close(), vdev remove, rte_eal_cleanup()); when the last
 * one closes, the driver destroys the mirror if it created it and calls
 * mmrt_fini() if it was the one that attached. An application that brought
 * mmrt up itself keeps it: the driver never finalizes what it did not
 * start (and that application must close its mirror-mode devices before
 * its own mmrt_fini()).
 *
 * Lifetime. The probe checks the devargs and the ABI and registers the
 * dmadev. The engine (a struct swdma, its consumer bound to the space)
 * exists only while the dmadev is started: rte_dma_start() creates it with
 * the vchan's ring size, binds it and launches it; rte_dma_stop() stops and
 * destroys it. So ring indexes restart at 0 on every start (as dmadev
 * documents), a stopped device holds no mmrt resource (no consumer, no
 * QSBR slot: mmrt_fini() works with stopped dma_mmrt devices around), and
 * the space NAME is looked up at start. A device named on the EAL command
 * line is probed inside rte_eal_init(), before mmrt_init() brought the
 * runtime up and long before the application creates its spaces: then the
 * probe only parses, and the space is checked at the first start. A device
 * created with rte_vdev_init() once mmrt is up has its space checked at
 * probe. An as= device never brings mmrt up by itself (its space could not
 * exist without it): started while mmrt is down, it fails with -ENODEV and
 * a log line saying that the runtime is not up.
 *
 * Threads. As dmadev: one thread per vchan calls the data path; control
 * calls come from one control thread. The engine steps on its own worker
 * lcore (lcore=N, launched at start) or from an rte_service
 * (service=1): the service is registered at probe under the device's name;
 * the application maps it to a service lcore and sets its run state, the
 * driver sets the component run state at start and stop. The service
 * callback registers the service lcore with mmrt's QSBR domain for one
 * engine step only (register, step, unregister): between steps the thread
 * is not a QSBR reader, so a mapped but idle or stopped service never holds
 * up a grace period, and no service thread is left registered when
 * mmrt_fini() runs. A thread that is registered already (an application
 * lcore that steps the engine itself with
 * rte_service_run_iter_on_app_lcore()) keeps its registration: the step
 * runs if it is online and is skipped if it is offline.
 *
 * Processes. Devices are created in the primary (DPDK 22.11's dmadev
 * library cannot create one in a secondary); a secondary attaches to
 * them and may start one, and then runs its engine itself: see
 * dmm_probe_secondary() and dmm_start(). The data path and its state
 * live in the shared private area (struct dmm_priv), so every process
 * that has the device reaches the engine, wherever it runs: the process
 * that runs it through the plain data path, the others through the
 * guarded one (dmm_dp_enter()). The engine of a process that died is
 * reclaimed by mmrt_reap_dead() (dmm_reap()), or by the next start or
 * stop (dmm_reclaim_dead()).
 *
 * Lock order: dmm_devs_lock (this process's list), then a device's
 * engine lock (dmm_eng_lock(), shared); dmm_rt_lock is never taken with
 * either.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_kvargs.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_memzone.h>
#include <rte_pause.h>
#include <rte_service.h>
#include <rte_service_component.h>
#include <rte_spinlock.h>
#include <rte_string_fns.h>
#include <rte_telemetry.h>

#include <mmrt_core.h>
#include <bridge.h>
#include <mmrt_mm.h>
#include <swdma.h>

#include "core_testhooks.h"
#include "dma_mmrt_abi.h"
#include "dma_mmrt_internal.h"
#include "pmd_status.h"
#include "mmrt_dma_mmrt.h"

#define DMM_DRV_NAME "dma_mmrt"
#define DMM_NB_DESC_MIN SWDMA_NB_DESC_MIN
#define DMM_NB_DESC_MAX SWDMA_NB_DESC_MAX
/* The DPDK-memory mirror that mirror-mode devices share. */
#define DMM_MIRROR_NAME "dma_mmrt.mirror"

extern int dmm_logtype __attribute__((visibility("hidden")));
RTE_LOG_REGISTER(dmm_logtype, pmd.dma.mmrt.vdev, INFO);
#define DMM_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, dmm_logtype, \
		DMM_DRV_NAME ": " fmt "\n", ##__VA_ARGS__)

/* The devargs. */
#define DMM_ARG_AS "as"
#define DMM_ARG_LCORE "lcore"
#define DMM_ARG_SERVICE "service"
#define DMM_ARG_BURST "burst"
#define DMM_ARG_IDLE "idle"
#define DMM_ARG_DEV "dev"
#define DMM_ARG_ACK_US "ack_us"
#define DMM_ARG_PARK_US "park_us"
#define DMM_ARG_LOOKAHEAD "lookahead"

static const char *const dmm_keys[] = {
	DMM_ARG_AS, DMM_ARG_LCORE, DMM_ARG_SERVICE, DMM_ARG_BURST,
	DMM_ARG_IDLE, DMM_ARG_DEV, DMM_ARG_ACK_US, DMM_ARG_PARK_US,
	DMM_ARG_LOOKAHEAD,
};

struct dmm_opts {
	char as[MMRT_NAME_SIZE];
	bool has_as;
	char dev[RTE_DEV_NAME_MAX_LEN]; /* dev=: the dmadev behind */
	bool has_dev;
	int lcore;          /* -1: none given */
	bool service;
	uint16_t burst;     /* 0: the engine's default */
	enum swdma_idle idle;
	uint64_t ack_us;    /* 0: the consumer's default */
	uint64_t park_us;   /* 0: the engine's default (1 s) */
	bool lookahead;     /* the engine's translation look-ahead */
};

/* What the driver tells of a failed operation (dump, debug line). In
 * dev= mode it remembers this of each operation, one entry per front-ring
 * slot (the shadow); the engine mode reads it from the engine's ring slot
 * (swdma_op_get()) once the operation is reported. */
struct dmm_shadow {
	uint64_t src;       /* the fill pattern for a fill; sg: 1st segment */
	uint64_t dst;       /* sg: the first destination segment */
	uint32_t len;       /* sg: the total */
	uint8_t fill;
	uint8_t nb_src;     /* sg: segments per side, 0: not an sg copy */
	uint8_t nb_dst;
	uint8_t pad;
};

/*
 * dev= mode: the submitter's ring in front of the bridge. The bridge
 * (pmd/dmadev) is driven by one thread, the worker (lcore or service),
 * so the application's data-path calls only fill this ring, as they fill
 * the engine's in the software mode. Free-running counters, each written
 * by one side:
 *
 *   enq, cpl   submitter          sub    submitter (release at submit)
 *   done       worker (release after the statuses)
 *   fwd        worker: slots handed to the bridge, in order
 *
 * with cpl <= done <= fwd <= sub <= enq <= cpl + mask. The bridge's ring
 * has as many slots and completes in order, so its k-th operation is the
 * k-th slot forwarded: its statuses are copied back slot by slot.
 */
struct dmm_fop {
	uint64_t src;
	uint64_t dst;
	uint32_t len;
	uint16_t status;
};

struct dmm_front {
	struct dmm_fop *ring;
	uint64_t mask;
	uint64_t enq __rte_cache_aligned;   /* submitter side */
	uint64_t cpl;
	uint64_t sub_local;
	uint64_t submitted;                 /* read relaxed by stats */
	uint64_t sub __rte_cache_aligned;
	uint64_t done __rte_cache_aligned;
	uint64_t fwd __rte_cache_aligned;   /* worker side */
	uint32_t backoff_us;
};

/*
 * The device's private area (rte_dma_pmd_allocate()'s, zeroed), in DPDK
 * shared memory. Two kinds of fields:
 *
 *  - shared: meaningful in the private area only (dmm_sh()), in every
 *    process: the data path and its counters, the vchan setup, run_pid,
 *    dp_busy and eng_lock. They hold no process-local pointer (the
 *    engine, its ring and the shadow are rte_malloc memory), so the data
 *    path works from any process that has the device;
 *  - this process's: control (options, threads, service, the bridge, the
 *    mirror hold). In the primary they are in the private area too (the
 *    primary's dmm_pv() is the private area); a secondary keeps its own
 *    in a process-local struct dmm_priv (local), whose shared fields are
 *    unused.
 */
struct dmm_priv {
	/* shared: the data path, the submitter's */
	struct swdma *eng;            /* NULL: no engine runs it */
	struct dmm_front *fr;         /* dev= mode: NULL while stopped */
	struct dmm_shadow *shadow;    /* dev= mode only */
	uint16_t mask;                /* engine ring size - 1 */
	uint64_t completed;           /* reported by completed*() */
	uint64_t errors;              /* ... of them not SUCCESSFUL */

	/* the last operation that completed with an error status */
	uint64_t fault_cnt;
	uint16_t fault_idx;
	uint16_t fault_status;
	struct dmm_shadow fault_op;

	/* shared: setup and counters across starts */
	uint16_t nb_desc;             /* vchan 0's ring, 0: not set up */
	uint64_t sub_acc;             /* submitted by engines destroyed */
	uint64_t sub_reset;           /* submitted at the last stats_reset */
	uint64_t starts;

	/* this process's: control */
	struct dmm_dma_dev *dev;
	struct rte_device *rdev;
	int16_t id;
	struct dmm_opts o;
	bool checked_drv;             /* driver record checked (configure) */
	bool rt_held;                 /* mirror mode: holds runtime + mirror */

	/* this process's: the engine it runs (the data path's is eng) */
	struct swdma *reng;

	/* dev= mode (the primary's): the bridge (read in the private area
	 * by other processes' readers) and its worker lcore */
	struct bridge *br;       /* NULL while stopped */
	int16_t br_dev;               /* the dmadev behind */
	int w_lcore;                  /* -1: not launched */
	uint32_t w_stop;

	/* the page-request server (a control thread while started) */
	pthread_t pf_thread;
	bool pf_up;
	uint32_t pf_stop;
	int pf_efd;                   /* eventfd the engine rings, -1 */
	uint32_t pf_sleeping;         /* the thread waits on pf_efd */

	/*
	 * Processes (shared). run_pid: the pid of the process whose engine
	 * runs the device, 0 when none does (claimed by CAS at start,
	 * cleared at stop, or by the reclaim of a dead runner). eng_lock:
	 * the pid holding the engine lock, 0 when free (dmm_eng_lock()).
	 * dp_busy: the pid of a guarded data-path call in progress, 0 when
	 * none is (dmm_dp_enter()). local: this struct is a secondary's own.
	 */
	int32_t run_pid;
	int32_t eng_lock;
	int32_t dp_busy;
	bool local;

	/* service mode */
	uint32_t svc_id;
	bool svc_reg;
	bool svc_on;                  /* under svc_lock */
	rte_spinlock_t svc_lock;      /* one engine step vs. stop */

	TAILQ_ENTRY(dmm_priv) next;
};

/* Every live device, for lcore claims and remove (control thread). */
static TAILQ_HEAD(, dmm_priv) dmm_devs = TAILQ_HEAD_INITIALIZER(dmm_devs);
static rte_spinlock_t dmm_devs_lock = RTE_SPINLOCK_INITIALIZER;

static struct dmm_vdev_drv dmm_drv;

/*
 * The runtime and the mirror, as mirror-mode devices hold them (from their
 * first start to their close). dmm_rt_lock is a mutex: mmrt_attach(),
 * mmrt_as_mirror_dpdk(), mmrt_as_destroy() and mmrt_fini() may wait. It
 * is taken only from control calls (start, close), never under
 * dmm_devs_lock.
 */
static pthread_mutex_t dmm_rt_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int dmm_rt_users;     /* devices with rt_held */
static bool dmm_rt_ours;              /* the driver ran mmrt_attach() */
static struct mmrt_as *dmm_mirror;    /* while dmm_rt_users > 0 */
static bool dmm_mirror_ours;          /* the driver created it */

/*
 * The driver's state of @dev in this process: the device's private area
 * in the primary; in a secondary the process-local struct this process
 * probed (the private area is the primary's, shared, and holds its
 * pointers). Control path only (a list walk in a secondary).
 */
static struct dmm_priv *
dmm_pv(const struct dmm_dma_dev *dev)
{
	struct dmm_priv *p;

	if (rte_eal_process_type() == RTE_PROC_PRIMARY)
		return dev->data->priv;
	rte_spinlock_lock(&dmm_devs_lock);
	TAILQ_FOREACH(p, &dmm_devs, next)
		if (p->dev == dev)
			break;
	rte_spinlock_unlock(&dmm_devs_lock);
	return p != NULL ? p : dev->data->priv;
}

/* Is process @pid alive? (mmrt's table when it is up, else /proc) */
static bool
dmm_pid_alive(int32_t pid)
{
	return mmrt_process_alive(pid);
}

/* This process's pid, for the shared words (getpid() is a system call:
 * not on the data path). Set by the constructor and in a forked child. */
static int32_t dmm_me;

/* The shared private area of @pv's device (pv itself in the primary). */
static inline struct dmm_priv *
dmm_sh(const struct dmm_priv *pv)
{
	return pv->dev->data->priv;
}

/*
 * The engine lock (sh->eng_lock, a pid): taken by whoever publishes or
 * takes away the shared engine pointers (start, stop, the reclaim of a
 * dead runner) and by whoever follows them outside the data path (stats,
 * vchan_status, dump, mmrt_dma_mmrt_stats()), in any process. Held for a
 * few loads and stores, except in the reclaim of a dead runner, which
 * holds it across dmm_dp_quiesce(): a wait for at most one guarded call
 * to return (or for its process to be found dead), so those callers spin
 * for about as long as one data-path call. A holder found dead after a
 * while of spinning died inside: its lock is taken over (the sections it
 * guards leave the pointers usable at every store).
 */
#define DMM_LOCK_CHECK 4096

static void
dmm_eng_lock(struct dmm_priv *sh)
{
	unsigned int spins = 0;
	int32_t cur;

	for (;;) {
		cur = 0;
		if (__atomic_compare_exchange_n(&sh->eng_lock, &cur, dmm_me,
				false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
		if (cur != 0 && cur != dmm_me &&
				++spins % DMM_LOCK_CHECK == 0 &&
				!dmm_pid_alive(cur) &&
				__atomic_compare_exchange_n(&sh->eng_lock,
				&cur, dmm_me, false, __ATOMIC_ACQUIRE,
				__ATOMIC_RELAXED)) {
			DMM_LOG(WARNING, "dmadev engine lock left held by dead process %d: taken over",
				(int)cur);
			return;
		}
		rte_pause();
	}
}

static void
dmm_eng_unlock(struct dmm_priv *sh)
{
	__atomic_store_n(&sh->eng_lock, 0, __ATOMIC_RELEASE);
}

/*
 * The guarded data path: what a process that does not run the engine
 * installs (dmm_fp_install()), so that it can submit to and reap from an
 * engine that runs in another process, and so that the engine's memory is
 * never freed under such a call (a stop in the runner, or the reclaim of a
 * runner that died). Like SRCU with one reader, which dmadev's contract
 * gives: one thread per vchan calls the data path, across all processes
 * together (dp_busy holds one caller; two processes calling one vchan at
 * once break that contract and this guard with it):
 *
 *   guarded call                        stop / reclaim
 *   dp_busy = me                        eng = NULL (under eng_lock)
 *   full fence                          full fence
 *   load eng, use it                    while (dp_busy) wait
 *   dp_busy = 0 (release)               free the engine
 *
 * Either the call sees eng NULL (and reaches nothing: -EINVAL, 0
 * completions), or the reclaimer sees dp_busy and waits until the call
 * is over. A caller that dies inside is not waited for. The process that
 * runs the engine installs the plain data path instead (no fence): its own
 * stop is a control call, which dmadev never runs concurrently with its
 * data path, and it is not reclaimed while it lives.
 */
static inline struct dmm_priv *
dmm_dp_enter(void *p)
{
	struct dmm_priv *sh = p;

	__atomic_store_n(&sh->dp_busy, dmm_me, __ATOMIC_RELAXED);
	/* orders the store above before the engine's load: pairs with
	 * dmm_dp_quiesce()'s fence */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return sh;
}

static inline void
dmm_dp_leave(struct dmm_priv *sh)
{
	/* release: the call's accesses to the engine before it */
	__atomic_store_n(&sh->dp_busy, 0, __ATOMIC_RELEASE);
}

/* After the engine pointers were taken away: wait for a guarded call
 * that may still use them. May wait (sleeps: the caller may share our
 * cpu). */
static void
dmm_dp_quiesce(struct dmm_priv *sh)
{
	unsigned int n = 0;
	int32_t b;

	/* pairs with dmm_dp_enter()'s fence */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	while ((b = __atomic_load_n(&sh->dp_busy, __ATOMIC_ACQUIRE)) != 0) {
		if (++n % 1024 == 0 && !dmm_pid_alive(b)) {
			/* died inside the call: not waited for again */
			__atomic_compare_exchange_n(&sh->dp_busy, &b, 0, false,
				__ATOMIC_RELAXED, __ATOMIC_RELAXED);
			return;
		}
		rte_delay_us_sleep(1);
	}
}

/* ---- devargs -------------------------------------------------------- */

static bool
dmm_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

/* Parse @args into @o; one ERR line names the offending key. */
static int
dmm_parse(const char *name, const char *args, struct dmm_opts *o)
{
	struct rte_kvargs *kv;
	unsigned int i, j, k;
	unsigned long v;
	int ret = -EINVAL;

	memset(o, 0, sizeof(*o));
	o->lcore = -1;
	o->lookahead = true; /* lookahead=0 turns it off */
	if (args == NULL || args[0] == '\0')
		return 0;
	kv = rte_kvargs_parse(args, NULL);
	if (kv == NULL) {
		DMM_LOG(ERR, "%s: malformed devargs \"%s\" (want key=value,...)",
			name, args);
		return -EINVAL;
	}
	for (i = 0; i < kv->count; i++) {
		const char *key = kv->pairs[i].key;
		const char *val = kv->pairs[i].value;

		for (k = 0; k < RTE_DIM(dmm_keys); k++)
			if (strcmp(key, dmm_keys[k]) == 0)
				break;
		if (k == RTE_DIM(dmm_keys)) {
			DMM_LOG(ERR, "%s: unknown devarg \"%s\" (known: as, dev, lcore, service, burst, idle, ack_us, park_us, lookahead)",
				name, key);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(key, kv->pairs[j].key) == 0) {
				DMM_LOG(ERR, "%s: devarg \"%s\" given twice",
					name, key);
				goto out;
			}
		if (val == NULL || val[0] == '\0') {
			DMM_LOG(ERR, "%s: devarg \"%s\" needs a value", name,
				key);
			goto out;
		}
		if (strcmp(key, DMM_ARG_AS) == 0) {
			if (strlen(val) >= sizeof(o->as)) {
				DMM_LOG(ERR, "%s: as=%s: a space name has at most %u characters",
					name, val, MMRT_NAME_SIZE - 1);
				goto out;
			}
			snprintf(o->as, sizeof(o->as), "%s", val);
			o->has_as = true;
		} else if (strcmp(key, DMM_ARG_LCORE) == 0) {
			if (!dmm_parse_uint(val, RTE_MAX_LCORE - 1, &v)) {
				DMM_LOG(ERR, "%s: lcore=%s: not an lcore id (0..%u)",
					name, val, RTE_MAX_LCORE - 1);
				goto out;
			}
			o->lcore = (int)v;
		} else if (strcmp(key, DMM_ARG_SERVICE) == 0) {
			if (!dmm_parse_uint(val, 1, &v)) {
				DMM_LOG(ERR, "%s: service=%s: want 0 or 1",
					name, val);
				goto out;
			}
			o->service = v == 1;
		} else if (strcmp(key, DMM_ARG_LOOKAHEAD) == 0) {
			if (!dmm_parse_uint(val, 1, &v)) {
				DMM_LOG(ERR, "%s: lookahead=%s: want 0 or 1",
					name, val);
				goto out;
			}
			o->lookahead = v == 1;
		} else if (strcmp(key, DMM_ARG_BURST) == 0) {
			if (!dmm_parse_uint(val, DMM_NB_DESC_MAX, &v) ||
					v == 0) {
				DMM_LOG(ERR, "%s: burst=%s: want 1..%u", name,
					val, DMM_NB_DESC_MAX);
				goto out;
			}
			o->burst = (uint16_t)v;
		} else if (strcmp(key, DMM_ARG_ACK_US) == 0) {
			if (!dmm_parse_uint(val, 60000000, &v) || v < 100) {
				DMM_LOG(ERR, "%s: ack_us=%s: want 100..60000000 (microseconds)",
					name, val);
				goto out;
			}
			o->ack_us = v;
		} else if (strcmp(key, DMM_ARG_PARK_US) == 0) {
			if (!dmm_parse_uint(val, 3600000000UL, &v) || v == 0) {
				DMM_LOG(ERR, "%s: park_us=%s: want 1..3600000000 (microseconds)",
					name, val);
				goto out;
			}
			o->park_us = v;
		} else if (strcmp(key, DMM_ARG_IDLE) == 0) {
			if (strcmp(val, "pause") == 0) {
				o->idle = SWDMA_IDLE_PAUSE;
			} else if (strcmp(val, "spin") == 0) {
				o->idle = SWDMA_IDLE_SPIN;
			} else if (strcmp(val, "backoff") == 0) {
				o->idle = SWDMA_IDLE_BACKOFF;
			} else {
				DMM_LOG(ERR, "%s: idle=%s: want pause, spin or backoff",
					name, val);
				goto out;
			}
		} else {
			/* dev=DMADEV: a real dmadev behind the translation */
			if (strlen(val) >= sizeof(o->dev)) {
				DMM_LOG(ERR, "%s: dev=%s: a dmadev name has at most %u characters",
					name, val,
					(unsigned int)sizeof(o->dev) - 1);
				goto out;
			}
			if (strncmp(val, DMM_DRV_NAME,
					strlen(DMM_DRV_NAME)) == 0) {
				DMM_LOG(ERR, "%s: dev=%s: a dma_mmrt device cannot be put behind another",
					name, val);
				goto out;
			}
			snprintf(o->dev, sizeof(o->dev), "%s", val);
			o->has_dev = true;
		}
	}
	ret = 0;
out:
	rte_kvargs_free(kv);
	return ret;
}

/* Is @lcore claimed by another dma_mmrt device? (dmm_devs_lock held) */
static bool
dmm_lcore_claimed(int lcore)
{
	struct dmm_priv *p;

	TAILQ_FOREACH(p, &dmm_devs, next)
		if (!p->o.service && p->o.lcore == lcore)
			return true;
	return false;
}

/* Check the options against the running EAL and mmrt (lock held). */
static int
dmm_check_opts(const char *name, struct dmm_opts *o)
{
	unsigned int l;

	if (o->service && o->lcore >= 0) {
		DMM_LOG(ERR, "%s: lcore= and service=1 exclude each other",
			name);
		return -EINVAL;
	}
	if (o->service && strlen(name) >= RTE_SERVICE_NAME_MAX) {
		DMM_LOG(ERR, "%s: service=1 names the service after the device: at most %u characters",
			name, RTE_SERVICE_NAME_MAX - 1);
		return -ENAMETOOLONG;
	}
	if (!o->service && o->lcore < 0) {
		/* default: the highest free worker lcore */
		for (l = RTE_MAX_LCORE; l-- > 0; ) {
			if (!rte_lcore_is_enabled(l) ||
					l == rte_get_main_lcore() ||
					rte_eal_get_lcore_state(l) != WAIT ||
					dmm_lcore_claimed((int)l))
				continue;
			o->lcore = (int)l;
			break;
		}
		if (o->lcore < 0) {
			DMM_LOG(ERR, "%s: no free worker lcore for the engine: give lcore=N or service=1",
				name);
			return -EBUSY;
		}
	} else if (!o->service) {
		l = (unsigned int)o->lcore;
		if (!rte_lcore_is_enabled(l)) {
			DMM_LOG(ERR, "%s: lcore=%u is not an enabled lcore",
				name, l);
			return -EINVAL;
		}
		if (l == rte_get_main_lcore()) {
			DMM_LOG(ERR, "%s: lcore=%u is the main lcore", name, l);
			return -EINVAL;
		}
		if (rte_eal_get_lcore_state(l) != WAIT ||
				dmm_lcore_claimed(o->lcore)) {
			DMM_LOG(ERR, "%s: lcore=%u is in use", name, l);
			return -EBUSY;
		}
	}
	if (o->has_as && mmrt_is_up() && mmrt_as_lookup(o->as) == NULL) {
		DMM_LOG(ERR, "%s: as=%s names no mmrt address space", name,
			o->as);
		return -ENOENT;
	}
	if (o->has_dev && rte_dma_get_dev_id_by_name(o->dev) >= 0) {
		struct rte_dma_info info;
		int id = rte_dma_get_dev_id_by_name(o->dev);

		if (rte_dma_info_get((int16_t)id, &info) != 0 ||
				!(info.dev_capa & RTE_DMA_CAPA_MEM_TO_MEM) ||
				!(info.dev_capa & RTE_DMA_CAPA_OPS_COPY)) {
			DMM_LOG(ERR, "%s: dev=%s has no MEM_TO_MEM copy",
				name, o->dev);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- data path -------------------------------------------------------- */

/*
 * The engine, loaded once per call. Acquire: pairs with the release that
 * publishes it at start, so a guarded call of another process (which may
 * run while a start publishes) sees what was stored before it;
 * on x86 a plain load, so the runner's path costs nothing more.
 */
static __rte_always_inline struct swdma *
dmm_eng(const struct dmm_priv *pv)
{
	return __atomic_load_n(&pv->eng, __ATOMIC_ACQUIRE);
}

/*
 * The enqueues are tail calls: the engine's ring slot keeps what a failed
 * operation's report needs (swdma_op_get()), so nothing is copied aside.
 */
static int
dmm_copy(void *p, uint16_t vchan, rte_iova_t src, rte_iova_t dst,
	uint32_t len, uint64_t flags)
{
	RTE_SET_USED(vchan);
	return swdma_copy(dmm_eng(p), src, dst, len, flags);
}

static int
dmm_copy_sg(void *p, uint16_t vchan, const struct rte_dma_sge *src,
	const struct rte_dma_sge *dst, uint16_t nb_src, uint16_t nb_dst,
	uint64_t flags)
{
	RTE_SET_USED(vchan);
	return swdma_copy_sg(dmm_eng(p), src, dst, nb_src, nb_dst, flags);
}

static int
dmm_fill(void *p, uint16_t vchan, uint64_t pattern, rte_iova_t dst,
	uint32_t len, uint64_t flags)
{
	RTE_SET_USED(vchan);
	return swdma_fill(dmm_eng(p), pattern, dst, len, flags);
}

static int
dmm_submit(void *p, uint16_t vchan)
{
	struct dmm_priv *pv = p;

	RTE_SET_USED(vchan);
	return swdma_submit(dmm_eng(pv));
}

/* Single writer (the submitter); stats_get may read from elsewhere. */
static inline void
dmm_count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

static uint16_t
dmm_completed(void *p, uint16_t vchan, uint16_t nb_cpls, uint16_t *last_idx,
	bool *has_error)
{
	struct dmm_priv *pv = p;
	uint16_t n;

	RTE_SET_USED(vchan);
	n = swdma_completed(dmm_eng(pv), nb_cpls, last_idx, has_error);
	if (n > 0)
		dmm_count(&pv->completed, n);
	return n;
}

/* Operation @idx, described by @s, completed with @st: keep it for dump,
 * say it in a debug line (the application may have no other way to learn
 * the address). */
static void
dmm_note_fault(struct dmm_priv *pv, uint16_t idx, uint16_t st,
	const struct dmm_shadow *s)
{
	pv->fault_idx = idx;
	pv->fault_status = st;
	pv->fault_op = *s;
	dmm_count(&pv->fault_cnt, 1);
	if (s->fill)
		DMM_LOG(DEBUG, "dmadev %d: op %u (fill dst %#" PRIx64 " len %u) failed with status %u",
			pv->id, idx, s->dst, s->len, st);
	else if (s->nb_src != 0)
		DMM_LOG(DEBUG, "dmadev %d: op %u (copy_sg %u+%u segments, first src %#" PRIx64 " dst %#" PRIx64 ", %u bytes) failed with status %u",
			pv->id, idx, s->nb_src, s->nb_dst, s->src, s->dst,
			s->len, st);
	else
		DMM_LOG(DEBUG, "dmadev %d: op %u (copy src %#" PRIx64 " dst %#" PRIx64 " len %u) failed with status %u",
			pv->id, idx, s->src, s->dst, s->len, st);
}

static uint16_t
dmm_completed_status(void *p, uint16_t vchan, uint16_t nb_cpls,
	uint16_t *last_idx, enum rte_dma_status_code *status)
{
	struct dmm_priv *pv = p;
	uint16_t n, i, idx, last = 0, errs = 0;
	struct dmm_shadow s;
	struct swdma_op op;
	struct swdma *eng;

	RTE_SET_USED(vchan);
	eng = dmm_eng(pv);
	n = swdma_completed_status(eng, nb_cpls, &last, status);
	if (n == 0) {
		if (eng != NULL)
			*last_idx = last;
		return 0;
	}
	*last_idx = last;
	for (i = 0; i < n; i++) {
		if (likely(status[i] == RTE_DMA_STATUS_SUCCESSFUL))
			continue;
		errs++;
		idx = (uint16_t)(last - (n - 1) + i);
		/* reported, and no enqueue since: its slot is intact */
		if (swdma_op_get(eng, idx, &op) != 0)
			memset(&op, 0, sizeof(op));
		s.src = op.src;
		s.dst = op.dst;
		s.len = op.len;
		s.fill = op.fill;
		s.nb_src = op.nb_src;
		s.nb_dst = op.nb_dst;
		s.pad = 0;
		dmm_note_fault(pv, idx, status[i], &s);
	}
	dmm_count(&pv->completed, n);
	if (errs > 0)
		dmm_count(&pv->errors, errs);
	return n;
}

static uint16_t
dmm_burst_capacity(const void *p, uint16_t vchan)
{
	const struct dmm_priv *pv = p;

	RTE_SET_USED(vchan);
	return swdma_burst_capacity(dmm_eng(pv));
}

/* ---- dev= mode: the data path ---------------------------------------- */

#define DMM_OP_FLAGS (RTE_DMA_OP_FLAG_FENCE | RTE_DMA_OP_FLAG_SUBMIT | \
	RTE_DMA_OP_FLAG_LLC)
#define DMM_REAP 64

static inline void
dmm_front_submit(struct dmm_front *fr)
{
	if (fr->sub_local == fr->enq)
		return;
	__atomic_store_n(&fr->submitted, fr->submitted + fr->enq -
		fr->sub_local, __ATOMIC_RELAXED);
	fr->sub_local = fr->enq;
	/* release: the slots before the new limit, to the worker */
	__atomic_store_n(&fr->sub, fr->enq, __ATOMIC_RELEASE);
}

/* The checks the bridge makes, made here: what the ring takes, the bridge
 * takes, so a forwarded slot is never refused. */
static int
dmm_dev_copy(void *p, uint16_t vchan, rte_iova_t src, rte_iova_t dst,
	uint32_t len, uint64_t flags)
{
	struct dmm_priv *pv = p;
	struct dmm_front *fr = __atomic_load_n(&pv->fr, __ATOMIC_ACQUIRE);
	struct dmm_shadow *s;
	struct dmm_fop *op;
	uint64_t idx;

	RTE_SET_USED(vchan);
	if (unlikely(fr == NULL || (flags & ~DMM_OP_FLAGS) ||
			!mmrt_range_valid(src, len) ||
			!mmrt_range_valid(dst, len) ||
			(src < dst + len && dst < src + len)))
		return -EINVAL;
	idx = fr->enq;
	if (unlikely(idx - fr->cpl >= fr->mask))
		return -ENOSPC;
	op = &fr->ring[idx & fr->mask];
	op->src = src;
	op->dst = dst;
	op->len = len;
	op->status = RTE_DMA_STATUS_SUCCESSFUL;
	s = &pv->shadow[idx & pv->mask];
	s->src = src;
	s->dst = dst;
	s->len = len;
	s->fill = 0;
	s->nb_src = 0;
	fr->enq = idx + 1;
	if (flags & RTE_DMA_OP_FLAG_SUBMIT)
		dmm_front_submit(fr);
	return (int)(idx & 0xffff);
}

static int
dmm_dev_submit(void *p, uint16_t vchan)
{
	struct dmm_priv *pv = p;
	struct dmm_front *fr = __atomic_load_n(&pv->fr, __ATOMIC_ACQUIRE);

	RTE_SET_USED(vchan);
	if (unlikely(fr == NULL))
		return -EINVAL;
	dmm_front_submit(fr);
	return 0;
}

static uint16_t
dmm_dev_completed(void *p, uint16_t vchan, uint16_t nb_cpls,
	uint16_t *last_idx, bool *has_error)
{
	struct dmm_priv *pv = p;
	struct dmm_front *fr = __atomic_load_n(&pv->fr, __ATOMIC_ACQUIRE);
	uint16_t n;

	RTE_SET_USED(vchan);
	if (unlikely(fr == NULL)) {
		*has_error = false;
		return 0;
	}
	/* done: the worker's release, after the statuses */
	n = pmd_reap_ok(PMD_REAP_RING(fr->ring), fr->mask, &fr->done,
		&fr->cpl, nb_cpls, last_idx, has_error);
	if (n > 0)
		dmm_count(&pv->completed, n);
	return n;
}

static uint16_t
dmm_dev_completed_status(void *p, uint16_t vchan, uint16_t nb_cpls,
	uint16_t *last_idx, enum rte_dma_status_code *status)
{
	struct dmm_priv *pv = p;
	struct dmm_front *fr = __atomic_load_n(&pv->fr, __ATOMIC_ACQUIRE);
	uint16_t n, i, errs = 0;

	RTE_SET_USED(vchan);
	if (unlikely(fr == NULL))
		return 0;
	n = pmd_reap_status(PMD_REAP_RING(fr->ring), fr->mask, &fr->done,
		&fr->cpl, nb_cpls, last_idx, status);
	for (i = 0; i < n; i++) {
		if (likely(status[i] == RTE_DMA_STATUS_SUCCESSFUL))
			continue;
		errs++;
		dmm_note_fault(pv, (uint16_t)(fr->cpl - n + i), status[i],
			&pv->shadow[(fr->cpl - n + i) & pv->mask]);
	}
	if (n > 0)
		dmm_count(&pv->completed, n);
	if (errs > 0)
		dmm_count(&pv->errors, errs);
	return n;
}

static uint16_t
dmm_dev_burst_capacity(const void *p, uint16_t vchan)
{
	const struct dmm_priv *pv = p;
	const struct dmm_front *fr = __atomic_load_n(&pv->fr, __ATOMIC_ACQUIRE);

	RTE_SET_USED(vchan);
	if (unlikely(fr == NULL))
		return 0;
	return (uint16_t)(fr->mask - (fr->enq - fr->cpl));
}

/* ---- the guarded data path (see dmm_dp_enter()) ------------------------ */

/*
 * fn_g: fn between dmm_dp_enter() and dmm_dp_leave(), for a process that
 * does not run the engine. @params starts with the private area p.
 */
#define DMM_GUARDED(type, fn, params, ...) \
static type \
fn##_g params \
{ \
	struct dmm_priv *sh = dmm_dp_enter((void *)(uintptr_t)p); \
	type r = fn(sh, __VA_ARGS__); \
\
	dmm_dp_leave(sh); \
	return r; \
}

DMM_GUARDED(int, dmm_copy, (void *p, uint16_t vchan, rte_iova_t src,
	rte_iova_t dst, uint32_t len, uint64_t flags), vchan, src, dst, len,
	flags)
DMM_GUARDED(int, dmm_copy_sg, (void *p, uint16_t vchan,
	const struct rte_dma_sge *src, const struct rte_dma_sge *dst,
	uint16_t nb_src, uint16_t nb_dst, uint64_t flags), vchan, src, dst,
	nb_src, nb_dst, flags)
DMM_GUARDED(int, dmm_fill, (void *p, uint16_t vchan, uint64_t pattern,
	rte_iova_t dst, uint32_t len, uint64_t flags), vchan, pattern, dst, len,
	flags)
DMM_GUARDED(int, dmm_submit, (void *p, uint16_t vchan), vchan)
DMM_GUARDED(uint16_t, dmm_completed, (void *p, uint16_t vchan,
	uint16_t nb_cpls, uint16_t *last_idx, bool *has_error), vchan, nb_cpls,
	last_idx, has_error)
DMM_GUARDED(uint16_t, dmm_completed_status, (void *p, uint16_t vchan,
	uint16_t nb_cpls, uint16_t *last_idx, enum rte_dma_status_code *status),
	vchan, nb_cpls, last_idx, status)
DMM_GUARDED(uint16_t, dmm_burst_capacity, (const void *p, uint16_t vchan),
	vchan)
DMM_GUARDED(int, dmm_dev_copy, (void *p, uint16_t vchan, rte_iova_t src,
	rte_iova_t dst, uint32_t len, uint64_t flags), vchan, src, dst, len,
	flags)
DMM_GUARDED(int, dmm_dev_submit, (void *p, uint16_t vchan), vchan)
DMM_GUARDED(uint16_t, dmm_dev_completed, (void *p, uint16_t vchan,
	uint16_t nb_cpls, uint16_t *last_idx, bool *has_error), vchan, nb_cpls,
	last_idx, has_error)
DMM_GUARDED(uint16_t, dmm_dev_completed_status, (void *p, uint16_t vchan,
	uint16_t nb_cpls, uint16_t *last_idx, enum rte_dma_status_code *status),
	vchan, nb_cpls, last_idx, status)
DMM_GUARDED(uint16_t, dmm_dev_burst_capacity, (const void *p,
	uint16_t vchan), vchan)

/*
 * One worker step (the bridge's one driving thread, a registered online
 * QSBR thread): hand the submitted slots to the bridge, run the bridge
 * (reap the device, ack invalidations no piece in flight touches, give
 * the device new pieces), and copy the bridge's completions back.
 * @return slots moved (forwarded or completed): 0 means idle.
 */
static int
dmm_dev_step(struct dmm_priv *pv)
{
	enum rte_dma_status_code st[DMM_REAP];
	struct dmm_front *fr = pv->fr;
	uint64_t sub, fwd, done;
	uint16_t last, k, i;
	int ret, moved = 0;

	/* acquire: pairs with the submitter's release of sub */
	sub = __atomic_load_n(&fr->sub, __ATOMIC_ACQUIRE);
	for (fwd = fr->fwd; fwd < sub; fwd++) {
		const struct dmm_fop *op = &fr->ring[fwd & fr->mask];

		ret = bridge_copy(pv->br, op->src, op->dst, op->len, 0);
		if (ret < 0)
			break; /* -ENOSPC: the bridge's ring is full */
	}
	if (fwd != fr->fwd) {
		moved += (int)(fwd - fr->fwd);
		fr->fwd = fwd;
		bridge_submit(pv->br);
	}
	bridge_run(pv->br);
	done = fr->done;
	do {
		k = bridge_completed_status(pv->br, DMM_REAP, &last, st);
		for (i = 0; i < k; i++)
			fr->ring[(done + i) & fr->mask].status = (uint16_t)st[i];
		done += k;
	} while (k == DMM_REAP);
	if (done != fr->done) {
		moved += (int)(done - fr->done);
		/* release: the statuses (the device's copies were reaped
		 * by bridge_run(), after the device's own release) */
		__atomic_store_n(&fr->done, done, __ATOMIC_RELEASE);
	}
	return moved;
}

static void
dmm_dev_idle(struct dmm_priv *pv)
{
	struct dmm_front *fr = pv->fr;

	switch (pv->o.idle) {
	case SWDMA_IDLE_SPIN:
		break;
	case SWDMA_IDLE_BACKOFF:
		/* only with nothing outstanding: an operation on the
		 * device is polled for at full speed */
		if (fr->fwd != __atomic_load_n(&fr->done, __ATOMIC_RELAXED)) {
			rte_pause();
			break;
		}
		if (fr->backoff_us == 0) {
			fr->backoff_us = 1;
			rte_pause();
			break;
		}
		mmrt_thread_offline();
		rte_delay_us_sleep(fr->backoff_us);
		mmrt_thread_online();
		fr->backoff_us = RTE_MIN(fr->backoff_us * 2,
			(uint32_t)SWDMA_BACKOFF_MAX_US_DEFAULT);
		break;
	case SWDMA_IDLE_PAUSE:
	default:
		rte_pause();
		break;
	}
}

static int
dmm_dev_main(void *arg)
{
	struct dmm_priv *pv = arg;
	int id;

	id = mmrt_thread_register();
	if (id < 0) {
		DMM_LOG(ERR, "dmadev %d: no QSBR slot for the worker: %s",
			pv->id, rte_strerror(-id));
		return id;
	}
	while (!__atomic_load_n(&pv->w_stop, __ATOMIC_ACQUIRE)) {
		if (dmm_dev_step(pv) > 0) {
			pv->fr->backoff_us = 0;
			continue;
		}
		dmm_dev_idle(pv);
	}
	mmrt_thread_unregister();
	return 0;
}

/* ---- service mode ------------------------------------------------------ */

/*
 * One engine step from a service lcore. The thread is a QSBR reader only
 * for the step (see the file comment). svc_lock orders the step against
 * dmm_stop(): once stop took the lock and cleared svc_on, no step runs on
 * an engine that is about to be destroyed.
 */
static int32_t
dmm_service(void *arg)
{
	struct dmm_priv *pv = arg;
	int id, n = 0;
	bool own;

	if (!rte_spinlock_trylock(&pv->svc_lock))
		return -EAGAIN;
	if (pv->svc_on) {
		/* a thread registered already (an application thread that
		 * runs the service itself) steps as it is: only online */
		own = mmrt_thread_id() < 0;
		id = own ? mmrt_thread_register() : mmrt_thread_id();
		if (id >= 0 && mmrt_thread_is_online())
			n = pv->br != NULL ? dmm_dev_step(pv) :
				swdma_run(pv->reng);
		if (own && id >= 0)
			mmrt_thread_unregister();
	}
	rte_spinlock_unlock(&pv->svc_lock);
	return n > 0 ? 0 : -EAGAIN;
}

/*
 * The service exists while the device is started, under the device's
 * name: rte_service_get_by_name() gives its id to map to a service lcore.
 * It is gone once stopped, so that rte_eal_cleanup(), which finalizes the
 * service library before it removes vdevs, finds nothing of ours there.
 */
static int
dmm_service_up(struct dmm_priv *pv, const char *name)
{
	struct rte_service_spec svc;
	int ret;

	memset(&svc, 0, sizeof(svc));
	if (rte_strscpy(svc.name, name, sizeof(svc.name)) < 0)
		return -ENAMETOOLONG; /* refused at probe already */
	svc.callback = dmm_service;
	svc.callback_userdata = pv;
	ret = rte_service_component_register(&svc, &pv->svc_id);
	if (ret < 0) {
		DMM_LOG(ERR, "dmadev %d: cannot register the service: %s",
			pv->id, rte_strerror(-ret));
		return ret;
	}
	pv->svc_reg = true;
	rte_spinlock_lock(&pv->svc_lock);
	pv->svc_on = true;
	rte_spinlock_unlock(&pv->svc_lock);
	rte_service_component_runstate_set(pv->svc_id, 1);
	return 0;
}

static void
dmm_service_down(struct dmm_priv *pv)
{
	uint64_t end;

	if (!pv->svc_reg)
		return;
	rte_service_component_runstate_set(pv->svc_id, 0);
	/* waits for a step in progress; later calls step nothing */
	rte_spinlock_lock(&pv->svc_lock);
	pv->svc_on = false;
	rte_spinlock_unlock(&pv->svc_lock);
	/* no service lcore may still be inside the callback when it goes */
	end = rte_get_timer_cycles() + rte_get_timer_hz();
	while (rte_service_may_be_active(pv->svc_id) == 1 &&
			rte_get_timer_cycles() < end)
		rte_pause();
	rte_service_component_unregister(pv->svc_id);
	pv->svc_reg = false;
}

/* ---- control ---------------------------------------------------------- */

/*
 * Capabilities, honestly: the software engine copies, fills and runs
 * scatter-gather copies; the bridge (dev=) copies only (it gives the real
 * device page pieces by IOVA and has no fill or scatter-gather path).
 * Both report errors with a status, neither is SVA (addresses are IOVAs
 * of DPDK memory or VAs of an mmrt space, never process VAs). One vchan:
 * see the file comment.
 */
static int
dmm_info_get(const struct dmm_dma_dev *dev, struct rte_dma_info *info,
	uint32_t size)
{
	const struct dmm_priv *pv = dmm_pv(dev);

	RTE_SET_USED(size);
	info->dev_capa = RTE_DMA_CAPA_MEM_TO_MEM | RTE_DMA_CAPA_OPS_COPY |
		RTE_DMA_CAPA_HANDLES_ERRORS;
	if (!pv->o.has_dev)
		info->dev_capa |= RTE_DMA_CAPA_OPS_COPY_SG |
			RTE_DMA_CAPA_OPS_FILL;
	info->max_vchans = 1;
	info->max_desc = DMM_NB_DESC_MAX;
	info->min_desc = DMM_NB_DESC_MIN;
	info->max_sges = pv->o.has_dev ? 0 : SWDMA_MAX_SGES;
	return 0;
}

/* The bus set the device's driver only after probe returned: check our
 * record is the one it holds, once, at the first configure. */
static int
dmm_check_driver(struct dmm_priv *pv)
{
	const struct rte_driver *drv;

	if (pv->checked_drv)
		return 0;
	drv = rte_dev_driver(pv->rdev);
	if (drv != (const struct rte_driver *)(const void *)&dmm_drv.generic ||
			strcmp(rte_driver_name(drv), DMM_DRV_NAME) != 0) {
		DMM_LOG(ERR, "dmadev %d: ABI check failed: the device's driver record is not ours (DPDK layout drift?)",
			pv->id);
		return -EPROTO;
	}
	pv->checked_drv = true;
	return 0;
}

static int
dmm_configure(struct dmm_dma_dev *dev, const struct rte_dma_conf *conf,
	uint32_t size)
{
	struct dmm_priv *pv = dmm_pv(dev);

	RTE_SET_USED(size);
	/* the library checked nb_vchans against max_vchans and silent mode
	 * against the capabilities */
	if (conf->nb_vchans != 1 || conf->enable_silent)
		return -EINVAL;
	return dmm_check_driver(pv);
}

static int
dmm_vchan_setup(struct dmm_dma_dev *dev, uint16_t vchan,
	const struct rte_dma_vchan_conf *conf, uint32_t size)
{
	struct dmm_priv *pv = dmm_pv(dev);

	RTE_SET_USED(size);
	/* the library checked the direction, the range and the ports */
	if (vchan != 0 || conf->direction != RTE_DMA_DIR_MEM_TO_MEM ||
			conf->nb_desc < DMM_NB_DESC_MIN ||
			conf->nb_desc > DMM_NB_DESC_MAX)
		return -EINVAL;
	/* the engine's ring is a power of 2 (shared: whichever process
	 * set the vchan up, any may start it) */
	dmm_sh(pv)->nb_desc = (uint16_t)rte_align32pow2(conf->nb_desc);
	return 0;
}

/* Operations submitted since the device was probed (@sh: the shared
 * private area; its engine lock held). */
static uint64_t
dmm_submitted(const struct dmm_priv *sh)
{
	struct swdma_stats st;
	uint64_t n = sh->sub_acc;

	if (sh->eng != NULL && swdma_stats(sh->eng, &st) == 0)
		n += st.submitted;
	if (sh->fr != NULL)
		n += __atomic_load_n(&sh->fr->submitted, __ATOMIC_RELAXED);
	return n;
}

/*
 * The engine (or the bridge and its front ring) this process ran, once
 * stopped: off the reach of every process first (the readers under the
 * engine lock, the guarded data path by dmm_dp_quiesce()), then freed.
 */
static void
dmm_engine_free(struct dmm_priv *pv)
{
	struct dmm_priv *sh = dmm_sh(pv);
	struct dmm_shadow *shadow;
	struct dmm_front *fr;
	struct swdma *eng;
	struct bridge *br;

	/* the shadow too: a dev= start that failed on its front ring has
	 * only the shadow to give back */
	if (pv->reng == NULL && pv->br == NULL && sh->fr == NULL &&
			sh->shadow == NULL)
		return;
	dmm_eng_lock(sh);
	sh->sub_acc = dmm_submitted(sh);
	__atomic_store_n(&sh->eng, NULL, __ATOMIC_RELAXED);
	fr = sh->fr;
	__atomic_store_n(&sh->fr, NULL, __ATOMIC_RELAXED);
	br = pv->br;
	pv->br = NULL;
	dmm_eng_unlock(sh);
	dmm_dp_quiesce(sh);
	eng = pv->reng;
	pv->reng = NULL;
	if (eng != NULL)
		swdma_destroy(eng);
	/* waits (bounded) for pieces on the device, stops the device */
	if (br != NULL)
		bridge_destroy(br);
	if (fr != NULL)
		rte_free(fr->ring);
	rte_free(fr);
	shadow = sh->shadow;
	sh->shadow = NULL;
	sh->mask = 0;
	rte_free(shadow);
}

/*
 * The engine of dead process @pid, if that process ran @sh's device (the
 * shared private area): take it off every reach, free its memory (its
 * ring, lists and shadow: rte_malloc memory the dead process can no
 * longer free), and release the device (run_pid 0). Its consumer is not
 * touched: mmrt_reap_dead() reclaims it (dev's step runs after this
 * driver's). The engine lock is held throughout, so concurrent reclaimers
 * (the reap step, a start or stop that found the runner dead) free once;
 * each pointer is cleared before what it points to is freed, so a
 * reclaimer that dies inside leaks at most one block and never makes the
 * next one free twice.
 * @return 1 if @pid ran the device, else 0. May wait (dmm_dp_quiesce()).
 */
static int
dmm_reclaim_dead(struct dmm_priv *sh, int32_t pid)
{
	struct dmm_shadow *shadow;
	struct swdma *eng;
	uint64_t sub = 0;
	int32_t cur = pid;

	dmm_eng_lock(sh);
	if (__atomic_load_n(&sh->run_pid, __ATOMIC_ACQUIRE) != pid) {
		dmm_eng_unlock(sh);
		return 0;
	}
	eng = sh->eng;
	__atomic_store_n(&sh->eng, NULL, __ATOMIC_RELAXED);
	/* a guarded call of another process may still be in that engine */
	dmm_dp_quiesce(sh);
	if (eng != NULL && swdma_free_dead(eng, &sub) == 0)
		sh->sub_acc += sub;
	shadow = sh->shadow;
	sh->shadow = NULL;
	sh->mask = 0;
	rte_free(shadow);
	__atomic_compare_exchange_n(&sh->run_pid, &cur, 0, false,
		__ATOMIC_RELEASE, __ATOMIC_RELAXED);
	dmm_eng_unlock(sh);
	/* sh->dev is the primary's pointer: not followed here */
	DMM_LOG(NOTICE, "dmadev %d: the engine of dead process %d reclaimed; the device is free to start again",
		sh->id, (int)pid);
	return 1;
}

/*
 * The page-request server. A fault the engine cannot resolve in place
 * without waiting (copy-on-write, the zero page written, the map lock
 * taken) parks the operation and queues a page request; this thread serves
 * them with mmrt_fault() (it may wait, so it cannot be the engine's lcore),
 * and the engine resumes the operation. A resolvable fault is thus never
 * reported (vhost's async path never reads error statuses). The thread is
 * not a QSBR reader.
 *
 * Idle, it waits on pf_efd for at most DMM_PF_WAIT_US. The engine (or the
 * bridge) calls dmm_pf_kick() when an operation parks on a new page, after
 * it posted the page request: a slow path, so the engine's fast path has
 * no syscall, and the kick is a write() only when the thread is asleep.
 * No lost wakeup: the thread sets pf_sleeping, then (full barrier) looks
 * at the request ring once more; the engine posts, then (full barrier)
 * reads pf_sleeping. One of them sees the other's store. A request posted
 * without a kick (an operation that parks on the same page again after a
 * request was served) waits at most the bounded wait.
 */
#define DMM_PF_BATCH 64
#define DMM_PF_WAIT_US 200

static void
dmm_pf_kick(void *arg)
{
	struct dmm_priv *pv = arg;
	uint64_t one = 1;

	/* after the request's enqueue: pairs with dmm_pf_main()'s fence */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&pv->pf_sleeping, __ATOMIC_RELAXED) == 0)
		return;
	/* one write per sleep, however many operations park meanwhile */
	if (__atomic_exchange_n(&pv->pf_sleeping, 0, __ATOMIC_RELAXED) != 0)
		(void)!write(pv->pf_efd, &one, sizeof(one));
}

static int
dmm_pf_serve(struct dmm_priv *pv)
{
	return pv->br != NULL ?
		bridge_serve_faults(pv->br, DMM_PF_BATCH) :
		swdma_serve_faults(pv->reng, DMM_PF_BATCH);
}

static void *
dmm_pf_main(void *arg)
{
	struct dmm_priv *pv = arg;
	const struct timespec ts = { .tv_sec = 0,
		.tv_nsec = DMM_PF_WAIT_US * 1000L };
	struct pollfd pfd = { .fd = pv->pf_efd, .events = POLLIN };
	uint64_t cnt;

	while (!__atomic_load_n(&pv->pf_stop, __ATOMIC_ACQUIRE)) {
		if (dmm_pf_serve(pv) > 0)
			continue;
		__atomic_store_n(&pv->pf_sleeping, 1, __ATOMIC_RELAXED);
		/* pairs with dmm_pf_kick()'s fence */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (dmm_pf_serve(pv) > 0 ||
				__atomic_load_n(&pv->pf_stop, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&pv->pf_sleeping, 0,
				__ATOMIC_RELAXED);
			continue;
		}
		if (ppoll(&pfd, 1, &ts, NULL) > 0)
			(void)!read(pv->pf_efd, &cnt, sizeof(cnt));
		__atomic_store_n(&pv->pf_sleeping, 0, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int
dmm_pf_up(struct dmm_priv *pv)
{
	char name[RTE_MAX_THREAD_NAME_LEN];
	int ret;

	snprintf(name, sizeof(name), "dmm-pf%u", (unsigned int)pv->id & 0xffff);
	pv->pf_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pv->pf_efd < 0) {
		ret = -errno;
		DMM_LOG(ERR, "dmadev %d: no eventfd for the page-request thread: %s",
			pv->id, rte_strerror(-ret));
		return ret;
	}
	__atomic_store_n(&pv->pf_stop, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&pv->pf_sleeping, 0, __ATOMIC_RELAXED);
	ret = rte_ctrl_thread_create(&pv->pf_thread, name, NULL, dmm_pf_main,
		pv);
	if (ret != 0) {
		DMM_LOG(ERR, "dmadev %d: no page-request thread: %s", pv->id,
			rte_strerror(ret > 0 ? ret : -ret));
		close(pv->pf_efd);
		pv->pf_efd = -1;
		return ret > 0 ? -ret : ret;
	}
	pv->pf_up = true;
	return 0;
}

static void
dmm_pf_down(struct dmm_priv *pv)
{
	uint64_t one = 1;

	if (!pv->pf_up)
		return;
	__atomic_store_n(&pv->pf_stop, 1, __ATOMIC_RELEASE);
	(void)!write(pv->pf_efd, &one, sizeof(one)); /* no need to wait */
	pthread_join(pv->pf_thread, NULL);
	/* the engine or worker that kicks it is stopped already: the
	 * thread left pf_sleeping 0 and no kick writes any more */
	close(pv->pf_efd);
	pv->pf_efd = -1;
	pv->pf_up = false;
}

/*
 * Mirror mode: hold the runtime (attaching it if it is down) and the
 * mirror (looking it up or creating it) for @pv, once until its close.
 */
static int
dmm_rt_get(struct dmm_priv *pv, const char *name)
{
	struct mmrt_as *as;
	bool attached = false;
	int ret = 0;

	pthread_mutex_lock(&dmm_rt_lock);
	if (pv->rt_held)
		goto out;
	if (!mmrt_is_up()) {
		ret = mmrt_attach(NULL);
		if (ret < 0 && ret != -EALREADY) {
			DMM_LOG(ERR, "dmadev %d (%s): the mmrt runtime is down and mmrt_attach() failed: %s",
				pv->id, name, rte_strerror(-ret));
			goto out;
		}
		attached = ret == 0;
		ret = 0;
		if (attached)
			DMM_LOG(NOTICE, "%s: brought the mmrt runtime up (mmrt_attach); it goes down when the last mirror-mode dma_mmrt device closes",
				name);
	}
	if (dmm_mirror == NULL) {
		as = mmrt_as_lookup(DMM_MIRROR_NAME);
		dmm_mirror_ours = as == NULL;
		if (as == NULL)
			as = mmrt_as_mirror_dpdk(DMM_MIRROR_NAME);
		if (as == NULL) {
			ret = -rte_errno;
			DMM_LOG(ERR, "dmadev %d (%s): cannot create the DPDK-memory mirror %s: %s",
				pv->id, name, DMM_MIRROR_NAME,
				rte_strerror(rte_errno));
			if (attached && dmm_rt_users == 0)
				mmrt_fini();
			goto out;
		}
		dmm_mirror = as;
	}
	if (attached)
		dmm_rt_ours = true;
	dmm_rt_users++;
	pv->rt_held = true;
out:
	pthread_mutex_unlock(&dmm_rt_lock);
	return ret;
}

/* At close (the engine is gone): the last holder lets go of both. */
static void
dmm_rt_put(struct dmm_priv *pv)
{
	int ret;

	pthread_mutex_lock(&dmm_rt_lock);
	if (!pv->rt_held)
		goto out;
	pv->rt_held = false;
	if (--dmm_rt_users > 0)
		goto out;
	if (dmm_mirror_ours) {
		ret = mmrt_as_destroy(dmm_mirror);
		if (ret < 0)
			DMM_LOG(ERR, "cannot destroy the mirror %s: %s",
				DMM_MIRROR_NAME, rte_strerror(-ret));
	}
	dmm_mirror = NULL;
	dmm_mirror_ours = false;
	if (dmm_rt_ours) {
		dmm_rt_ours = false;
		ret = mmrt_fini();
		if (ret < 0)
			DMM_LOG(ERR, "mmrt_fini() after the last mirror-mode device: %s (the runtime stays up)",
				rte_strerror(-ret));
		else
			DMM_LOG(INFO, "last mirror-mode device closed: the mmrt runtime the driver attached is down");
	}
out:
	pthread_mutex_unlock(&dmm_rt_lock);
}

static int dmm_service_up(struct dmm_priv *pv, const char *name);
static void dmm_service_down(struct dmm_priv *pv);

/* Launch the bridge's worker on pv->o.lcore. */
static int
dmm_worker_up(struct dmm_priv *pv)
{
	unsigned int l = (unsigned int)pv->o.lcore;
	int ret;

	if (!rte_lcore_is_enabled(l) || l == rte_get_main_lcore() ||
			l == rte_lcore_id() ||
			rte_eal_get_lcore_state(l) != WAIT) {
		DMM_LOG(ERR, "dmadev %d: worker lcore %u is not a free worker lcore",
			pv->id, l);
		return -EINVAL;
	}
	__atomic_store_n(&pv->w_stop, 0, __ATOMIC_RELAXED);
	ret = rte_eal_remote_launch(dmm_dev_main, pv, l);
	if (ret != 0) {
		DMM_LOG(ERR, "dmadev %d: cannot launch the worker on lcore %u: %s",
			pv->id, l, rte_strerror(-ret));
		return -EINVAL;
	}
	pv->w_lcore = (int)l;
	return 0;
}

static void
dmm_worker_down(struct dmm_priv *pv)
{
	if (pv->w_lcore < 0)
		return;
	__atomic_store_n(&pv->w_stop, 1, __ATOMIC_RELEASE);
	rte_eal_wait_lcore((unsigned int)pv->w_lcore);
	pv->w_lcore = -1;
}

/*
 * dev= mode start: the ring in front, the bridge over the dmadev named by
 * dev= (which the bridge configures with one MEM_TO_MEM vchan and
 * starts: nobody else may use it meanwhile), bound to @as, the page-
 * request server and the worker.
 */
static int
dmm_dev_start(struct dmm_priv *pv, struct dmm_dma_dev *dev,
	struct mmrt_as *as, const char *bname)
{
	struct bridge_conf bc;
	struct bridge *br;
	struct dmm_front *fr;
	int socket = dev->data->numa < 0 ? SOCKET_ID_ANY : dev->data->numa;
	int id, ret;

	id = rte_dma_get_dev_id_by_name(pv->o.dev);
	if (id < 0) {
		DMM_LOG(ERR, "dmadev %d (%s): dev=%s names no dmadev",
			pv->id, dev->data->name, pv->o.dev);
		return -ENODEV;
	}
	/* the primary's (pv is the shared area): the ring is published at
	 * the end, the shadow before (read only with a ring published) */
	fr = TEST_ALLOC_FAIL() ? NULL : rte_zmalloc_socket("dma_mmrt_front",
		sizeof(*fr), RTE_CACHE_LINE_SIZE, socket);
	pv->shadow = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc_socket("dma_mmrt_shadow",
		sizeof(*pv->shadow) * pv->nb_desc, RTE_CACHE_LINE_SIZE,
		socket);
	if (fr != NULL)
		fr->ring = TEST_ALLOC_FAIL() ? NULL :
			rte_zmalloc_socket("dma_mmrt_front_ring",
			sizeof(*fr->ring) * pv->nb_desc,
			RTE_CACHE_LINE_SIZE, socket);
	if (fr == NULL || fr->ring == NULL || pv->shadow == NULL) {
		if (fr != NULL)
			rte_free(fr->ring);
		rte_free(fr);
		ret = -ENOMEM;
		goto fail;
	}
	fr->mask = pv->nb_desc - 1;
	pv->mask = pv->nb_desc - 1;
	memset(&bc, 0, sizeof(bc));
	bc.name = bname;
	bc.dev_id = (int16_t)id;
	bc.nb_desc = pv->nb_desc;
	bc.consumer.ack_deadline_us = pv->o.ack_us;
	bc.park_timeout_us = pv->o.park_us;
	bc.park_notify = dmm_pf_kick;
	bc.park_notify_arg = pv;
	br = bridge_create(&bc);
	/* published under the lock the readers take; the worker reads pv->fr
	 * from its launch on */
	dmm_eng_lock(pv);
	pv->br = br;
	__atomic_store_n(&pv->fr, fr, __ATOMIC_RELEASE);
	dmm_eng_unlock(pv);
	if (pv->br == NULL) {
		ret = -rte_errno;
		DMM_LOG(ERR, "dmadev %d (%s): cannot put dev=%s behind it: %s (a MEM_TO_MEM copy dmadev nobody else has started?)",
			pv->id, dev->data->name, pv->o.dev,
			rte_strerror(rte_errno));
		goto fail;
	}
	pv->br_dev = (int16_t)id;
	ret = bridge_bind(pv->br, as);
	if (ret < 0) {
		DMM_LOG(ERR, "dmadev %d: bind: %s", pv->id,
			rte_strerror(-ret));
		goto fail;
	}
	ret = dmm_pf_up(pv);
	if (ret < 0)
		goto fail;
	ret = pv->o.service ? dmm_service_up(pv, dev->data->name) :
		dmm_worker_up(pv);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	dmm_pf_down(pv);
	dmm_engine_free(pv);
	return ret;
}

/*
 * The data path of @pv's mode into this process's fast-path object @fp,
 * whose dev_private is the shared private area in every process (set at
 * probe or attach): the plain functions if the engine runs in this
 * process (@runs), else the guarded ones (dmm_dp_enter()). Control path
 * (start, stop, probe), never concurrently with this process's data path.
 */
static void
dmm_fp_install(const struct dmm_priv *pv, struct rte_dma_fp_object *fp,
	bool runs)
{
	if (pv->o.has_dev) {
		/* copies only: fill and copy_sg keep the library's stubs */
		fp->copy = runs ? dmm_dev_copy : dmm_dev_copy_g;
		fp->submit = runs ? dmm_dev_submit : dmm_dev_submit_g;
		fp->completed = runs ? dmm_dev_completed : dmm_dev_completed_g;
		fp->completed_status = runs ? dmm_dev_completed_status :
			dmm_dev_completed_status_g;
		fp->burst_capacity = runs ? dmm_dev_burst_capacity :
			dmm_dev_burst_capacity_g;
	} else {
		fp->copy = runs ? dmm_copy : dmm_copy_g;
		fp->copy_sg = runs ? dmm_copy_sg : dmm_copy_sg_g;
		fp->fill = runs ? dmm_fill : dmm_fill_g;
		fp->submit = runs ? dmm_submit : dmm_submit_g;
		fp->completed = runs ? dmm_completed : dmm_completed_g;
		fp->completed_status = runs ? dmm_completed_status :
			dmm_completed_status_g;
		fp->burst_capacity = runs ? dmm_burst_capacity :
			dmm_burst_capacity_g;
	}
}

/* The device of dmadev @id in this process's list, or NULL; with
 * dmm_devs_lock held. */
static struct dmm_priv *
dmm_devs_find(int id)
{
	struct dmm_priv *pv;

	TAILQ_FOREACH(pv, &dmm_devs, next)
		if (pv->id == id)
			break;
	return pv;
}

int
dmm_perf_dp_guarded(int16_t dev_id, bool guarded)
{
	struct dmm_priv *pv;
	int ret = -ENODEV;

	rte_spinlock_lock(&dmm_devs_lock);
	pv = dmm_devs_find(dev_id);
	if (pv != NULL) {
		ret = pv->o.has_dev ? -ENOTSUP : pv->reng == NULL ?
			-ENOTCONN : 0;
		if (ret == 0)
			dmm_fp_install(pv, pv->dev->fp, !guarded);
	}
	rte_spinlock_unlock(&dmm_devs_lock);
	return ret;
}

int
dmm_perf_lookahead(int16_t dev_id, bool on)
{
	struct dmm_priv *pv;
	int ret = -ENODEV;

	rte_spinlock_lock(&dmm_devs_lock);
	pv = dmm_devs_find(dev_id);
	if (pv != NULL) {
		ret = pv->o.has_dev ? -ENOTSUP : 0;
		if (ret == 0)
			pv->o.lookahead = on;
	}
	rte_spinlock_unlock(&dmm_devs_lock);
	return ret;
}

/* Is @submit one of this driver's (a fast-path object of ours)? */
static bool
dmm_fp_ours(const struct rte_dma_fp_object *fp)
{
	return fp->submit == dmm_submit || fp->submit == dmm_submit_g ||
		fp->submit == dmm_dev_submit || fp->submit == dmm_dev_submit_g;
}

static int dmm_start_engine(struct dmm_dma_dev *dev, struct dmm_priv *pv);
static void dmm_stop_engine(struct dmm_priv *pv);

/*
 * Start, in whichever process calls it. The dmadev library keeps one
 * started bit per device in its shared data, so a device runs in one
 * process at a time; the shared private area's run_pid says which (a
 * CAS claims it, so two processes starting at once cannot both win).
 * A claim left by a process that died is taken over: its engine's memory
 * is reclaimed here if mmrt_reap_dead() (whose dma_mmrt step does it)
 * did not already, its consumer by mmrt_reap_dead().
 */
static int
dmm_start(struct dmm_dma_dev *dev)
{
	struct dmm_priv *pv = dmm_pv(dev);
	struct dmm_priv *sh = dev->data->priv;
	int32_t owner = 0;
	int ret;

	if (pv->local && pv->o.has_dev) {
		DMM_LOG(ERR, "dmadev %d (%s): dev= mode runs in the primary process only",
			pv->id, dev->data->name);
		return -ENOTSUP;
	}
	while (!__atomic_compare_exchange_n(&sh->run_pid, &owner, dmm_me,
			false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		if (owner == dmm_me)
			break;
		if (dmm_pid_alive(owner)) {
			DMM_LOG(ERR, "dmadev %d (%s): its engine runs in process %d",
				pv->id, dev->data->name, (int)owner);
			return -EBUSY;
		}
		DMM_LOG(NOTICE, "dmadev %d (%s): process %d that ran it died; taken over",
			pv->id, dev->data->name, (int)owner);
		if (mmrt_is_up())
			mmrt_reap_dead();
		dmm_reclaim_dead(sh, owner);
		owner = 0;
	}
	ret = dmm_start_engine(dev, pv);
	if (ret != 0) {
		__atomic_store_n(&sh->run_pid, 0, __ATOMIC_RELEASE);
		return ret;
	}
	/* the engine runs here: the plain data path */
	dmm_fp_install(pv, dev->fp, true);
	return 0;
}

/*
 * Create, bind and launch the engine of @pv (this process's), then
 * publish it in the shared private area for the data path of every
 * process and for the readers.
 */
static int
dmm_start_engine(struct dmm_dma_dev *dev, struct dmm_priv *pv)
{
	struct dmm_priv *sh = dmm_sh(pv);
	struct swdma_conf cf;
	struct mmrt_as *as;
	char ename[SWDMA_NAME_SIZE];
	int ret;

	if (sh->nb_desc == 0)
		return -EINVAL;
	if (!pv->o.has_as) {
		ret = dmm_rt_get(pv, dev->data->name);
		if (ret < 0)
			return ret;
		as = dmm_mirror;
	} else if (!mmrt_is_up()) {
		DMM_LOG(ERR, "dmadev %d (%s): the mmrt runtime is not up (mmrt_init() or mmrt_attach() first): cannot bind as=%s",
			pv->id, dev->data->name, pv->o.as);
		return -ENODEV;
	} else {
		as = mmrt_as_lookup(pv->o.as);
		if (as == NULL) {
			DMM_LOG(ERR, "dmadev %d (%s): as=%s names no mmrt address space",
				pv->id, dev->data->name, pv->o.as);
			return -ENODEV;
		}
	}
	snprintf(ename, sizeof(ename), "dma_mmrt.%d", pv->id);
	if (pv->o.has_dev) {
		/* the primary only: pv is the shared area */
		ret = dmm_dev_start(pv, dev, as, ename);
		if (ret == 0)
			pv->starts++;
		return ret;
	}
	memset(&cf, 0, sizeof(cf));
	cf.name = ename;
	cf.nb_desc = sh->nb_desc;
	cf.burst = RTE_MIN(pv->o.burst, sh->nb_desc);
	cf.idle = pv->o.idle;
	cf.consumer.ack_deadline_us = pv->o.ack_us;
	cf.park_timeout_us = pv->o.park_us;
	cf.lookahead = pv->o.lookahead;
	cf.park_notify = dmm_pf_kick;
	cf.park_notify_arg = pv;
	/* no shadow: the engine's ring slots describe failed operations */
	sh->mask = sh->nb_desc - 1;
	pv->reng = swdma_create(&cf);
	if (pv->reng == NULL) {
		ret = -rte_errno;
		DMM_LOG(ERR, "dmadev %d: engine: %s", pv->id,
			rte_strerror(rte_errno));
		goto fail;
	}
	ret = swdma_bind(pv->reng, as);
	if (ret < 0) {
		DMM_LOG(ERR, "dmadev %d: bind to as=%s: %s", pv->id, pv->o.as,
			rte_strerror(-ret));
		goto fail;
	}
	ret = dmm_pf_up(pv);
	if (ret < 0)
		goto fail;
	if (pv->o.service) {
		ret = dmm_service_up(pv, dev->data->name);
	} else {
		ret = swdma_start(pv->reng, (unsigned int)pv->o.lcore);
		if (ret < 0)
			DMM_LOG(ERR, "dmadev %d: engine on lcore %d: %s (lcore in use?)",
				pv->id, pv->o.lcore, rte_strerror(-ret));
	}
	if (ret < 0)
		goto fail;
	/* published under the lock the readers (stats, telemetry) take;
	 * release: the mask before it, for the data path */
	dmm_eng_lock(sh);
	__atomic_store_n(&sh->eng, pv->reng, __ATOMIC_RELEASE);
	sh->starts++;
	dmm_eng_unlock(sh);
	return 0;
fail:
	dmm_pf_down(pv);
	dmm_engine_free(pv);
	return ret;
}

static int
dmm_stop(struct dmm_dma_dev *dev)
{
	struct dmm_priv *pv = dmm_pv(dev);
	struct dmm_priv *sh = dev->data->priv;
	int32_t owner = __atomic_load_n(&sh->run_pid, __ATOMIC_ACQUIRE);

	if (owner != 0 && owner != dmm_me) {
		if (dmm_pid_alive(owner)) {
			DMM_LOG(ERR, "dmadev %d (%s): its engine runs in process %d: stop it there",
				pv->id, dev->data->name, (int)owner);
			return -EBUSY;
		}
		/*
		 * Its process died with the engine running: nothing of the
		 * engine is this process's to stop. Its memory is reclaimed
		 * (by mmrt_reap_dead()'s dma_mmrt step, or here), its
		 * consumer (and what it quarantined) by mmrt_reap_dead();
		 * the device is free to start again, here or elsewhere.
		 */
		DMM_LOG(NOTICE, "dmadev %d (%s): process %d that ran it died: released",
			pv->id, dev->data->name, (int)owner);
		if (mmrt_is_up())
			mmrt_reap_dead();
		dmm_reclaim_dead(sh, owner);
		return 0;
	}
	/* the guarded data path again: this process runs nothing now */
	dmm_fp_install(pv, dev->fp, false);
	if (pv->reng != NULL || pv->br != NULL)
		dmm_stop_engine(pv);
	/* stopped: another process may start it now */
	if (owner == dmm_me)
		__atomic_store_n(&sh->run_pid, 0, __ATOMIC_RELEASE);
	return 0;
}

static void
dmm_stop_engine(struct dmm_priv *pv)
{
	if (pv->o.service)
		dmm_service_down(pv);
	else if (pv->br != NULL)
		dmm_worker_down(pv);
	else
		swdma_stop(pv->reng);
	dmm_pf_down(pv);
	/* operations not finished are dropped: indexes restart at 0 */
	dmm_engine_free(pv);
}

static int
dmm_close(struct dmm_dma_dev *dev)
{
	struct dmm_priv *pv = dmm_pv(dev);

	dmm_stop(dev);
	rte_spinlock_lock(&dmm_devs_lock);
	TAILQ_REMOVE(&dmm_devs, pv, next);
	rte_spinlock_unlock(&dmm_devs_lock);
	/* after the engine is gone: no consumer is bound to the mirror */
	dmm_rt_put(pv);
	/* a secondary's own state (the private area is the primary's) */
	if (pv->local)
		free(pv);
	return 0;
}

static int
dmm_stats_get(const struct dmm_dma_dev *dev, uint16_t vchan,
	struct rte_dma_stats *stats, uint32_t size)
{
	struct dmm_priv *sh = dev->data->priv;

	RTE_SET_USED(size);
	if (vchan != 0 && vchan != RTE_DMA_ALL_VCHAN)
		return -EINVAL;
	dmm_eng_lock(sh);
	stats->submitted = dmm_submitted(sh) - sh->sub_reset;
	dmm_eng_unlock(sh);
	stats->completed = __atomic_load_n(&sh->completed, __ATOMIC_RELAXED);
	stats->errors = __atomic_load_n(&sh->errors, __ATOMIC_RELAXED);
	return 0;
}

static int
dmm_stats_reset(struct dmm_dma_dev *dev, uint16_t vchan)
{
	struct dmm_priv *sh = dev->data->priv;

	if (vchan != 0 && vchan != RTE_DMA_ALL_VCHAN)
		return -EINVAL;
	dmm_eng_lock(sh);
	sh->sub_reset = dmm_submitted(sh);
	dmm_eng_unlock(sh);
	__atomic_store_n(&sh->completed, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->errors, 0, __ATOMIC_RELAXED);
	return 0;
}

/*
 * ACTIVE while any submitted operation, a parked one included, has not
 * been completed by the engine. The engine publishes its done index
 * (release) before it adds to its completed counter, so once the counter
 * reads as caught up, completed() finds every operation done (x86 TSO; the
 * engine's counter store is relaxed).
 */
static int
dmm_vchan_status(const struct dmm_dma_dev *dev, uint16_t vchan,
	enum rte_dma_vchan_status *status)
{
	struct dmm_priv *sh = dev->data->priv;
	struct swdma_stats st;
	int ret = 0;

	if (vchan != 0)
		return -EINVAL;
	*status = RTE_DMA_VCHAN_IDLE;
	/* the engine may run in another process: under its lock */
	dmm_eng_lock(sh);
	if (sh->fr != NULL) {
		/* done is published after the statuses it covers */
		if (__atomic_load_n(&sh->fr->done, __ATOMIC_ACQUIRE) <
				__atomic_load_n(&sh->fr->sub, __ATOMIC_RELAXED))
			*status = RTE_DMA_VCHAN_ACTIVE;
	} else if (sh->eng != NULL) {
		if (swdma_stats(sh->eng, &st) != 0)
			ret = -EIO;
		else if (st.completed < st.submitted)
			*status = RTE_DMA_VCHAN_ACTIVE;
	}
	dmm_eng_unlock(sh);
	return ret;
}

static int
dmm_dump(const struct dmm_dma_dev *dev, FILE *f)
{
	const struct dmm_priv *pv = dmm_pv(dev);
	struct dmm_priv *sh = dev->data->priv;
	struct {
		uint64_t enq, sub, fwd, done, cpl;
	} fr = { 0, 0, 0, 0, 0 };
	struct swdma_stats st;
	struct bridge_stats bs;
	bool has_eng, has_br, has_fr;
	int32_t run_pid;

	if (pv->o.has_as)
		fprintf(f, "  dma_mmrt: as=%s (VAs)", pv->o.as);
	else
		fprintf(f, "  dma_mmrt: IOVAs of DPDK memory through the mirror %s%s",
			DMM_MIRROR_NAME, pv->rt_held ?
			(dmm_mirror_ours ? " (created by the driver)" :
			 " (the application's)") : " (not held)");
	if (pv->o.has_dev)
		fprintf(f, " behind it: dmadev %s", pv->o.dev);
	fprintf(f, " %s=%s", pv->o.has_dev ? "worker" : "engine",
		pv->o.service ? "service" : "lcore");
	if (pv->o.service)
		fprintf(f, " (service id %u)\n", pv->svc_id);
	else
		fprintf(f, " %d\n", pv->o.lcore);
	/* a snapshot under the engine lock (the engine may run in another
	 * process), printed after it */
	dmm_eng_lock(sh);
	run_pid = __atomic_load_n(&sh->run_pid, __ATOMIC_RELAXED);
	has_eng = sh->eng != NULL && swdma_stats(sh->eng, &st) == 0;
	has_br = sh->br != NULL && bridge_stats(sh->br, &bs) == 0;
	has_fr = sh->fr != NULL;
	if (has_fr) {
		fr.enq = sh->fr->enq;
		fr.sub = __atomic_load_n(&sh->fr->sub, __ATOMIC_RELAXED);
		fr.fwd = __atomic_load_n(&sh->fr->fwd, __ATOMIC_RELAXED);
		fr.done = __atomic_load_n(&sh->fr->done, __ATOMIC_RELAXED);
		fr.cpl = sh->fr->cpl;
	}
	dmm_eng_unlock(sh);
	fprintf(f, "    ring %u descriptors, started %s (%" PRIu64 " starts), our view of the library's started bit %u\n",
		sh->nb_desc, has_eng || has_br ? "yes" : "no", sh->starts,
		dev->data->flag_bits & DMM_DMA_STARTED_BIT);
	if (run_pid != 0)
		fprintf(f, "    runs in process %d%s%s\n", (int)run_pid,
			run_pid == dmm_me ? " (this one)" : "",
			dmm_pid_alive(run_pid) ? "" :
			" (dead: reclaimed by mmrt_reap_dead() or rte_dma_stop())");
	if (has_eng)
		fprintf(f, "    engine: submitted %" PRIu64 " completed %" PRIu64
			" errors %" PRIu64 " page_faults %" PRIu64
			" parks %" PRIu64 " resumes %" PRIu64 " bytes %" PRIu64
			"\n", st.submitted, st.completed, st.errors,
			st.page_faults, st.parks, st.resumes, st.bytes);
	if (has_eng)
		fprintf(f, "    consumer: page_requests %" PRIu64
			" faults_resolved %" PRIu64 " userfaults %" PRIu64
			" fences %" PRIu64 "\n", st.consumer.page_requests,
			st.consumer.faults_resolved, st.consumer.userfaults,
			st.consumer.fences);
	if (has_br)
		fprintf(f, "    bridge to dmadev %d: submitted %" PRIu64
			" completed %" PRIu64 " errors %" PRIu64
			" pieces %" PRIu64 " on the device %" PRIu64
			" parks %" PRIu64 " acks held %" PRIu64
			"; consumer: acks %" PRIu64 " fences %" PRIu64
			" page_requests %" PRIu64 "\n", sh->br_dev,
			bs.submitted, bs.completed, bs.errors,
			bs.pieces, bs.inflight, bs.parks, bs.acks_held,
			bs.consumer.acks, bs.consumer.fences,
			bs.consumer.page_requests);
	if (has_fr)
		fprintf(f, "    front ring: enqueued %" PRIu64 " submitted %"
			PRIu64 " forwarded %" PRIu64 " done %" PRIu64
			" reaped %" PRIu64 "\n", fr.enq, fr.sub, fr.fwd,
			fr.done, fr.cpl);
	if (sh->fault_cnt == 0) {
		fprintf(f, "    no operation failed\n");
	} else if (sh->fault_op.fill) {
		fprintf(f, "    %" PRIu64 " failed; last: op %u status %u fill dst %#" PRIx64 " len %u\n",
			sh->fault_cnt, sh->fault_idx, sh->fault_status,
			sh->fault_op.dst, sh->fault_op.len);
	} else if (sh->fault_op.nb_src != 0) {
		fprintf(f, "    %" PRIu64 " failed; last: op %u status %u copy_sg %u+%u segments, first src %#" PRIx64 " dst %#" PRIx64 ", %u bytes\n",
			sh->fault_cnt, sh->fault_idx, sh->fault_status,
			sh->fault_op.nb_src, sh->fault_op.nb_dst,
			sh->fault_op.src, sh->fault_op.dst, sh->fault_op.len);
	} else {
		fprintf(f, "    %" PRIu64 " failed; last: op %u status %u copy src %#" PRIx64 " dst %#" PRIx64 " len %u\n",
			sh->fault_cnt, sh->fault_idx, sh->fault_status,
			sh->fault_op.src, sh->fault_op.dst, sh->fault_op.len);
	}
	return 0;
}

static const struct dmm_dma_ops dmm_ops = {
	.info_get = dmm_info_get,
	.configure = dmm_configure,
	.start = dmm_start,
	.stop = dmm_stop,
	.close = dmm_close,
	.vchan_setup = dmm_vchan_setup,
	.stats_get = dmm_stats_get,
	.stats_reset = dmm_stats_reset,
	.vchan_status = dmm_vchan_status,
	.dump = dmm_dump,
};

/* ---- probe and remove ------------------------------------------------- */

/* After rte_dma_pmd_allocate(): does the library's record sit where our
 * layout says? Every read is of memory the library just allocated. */
static bool
dmm_check_allocated(const char *name, struct dmm_dma_dev *dev)
{
	const struct rte_memzone *mz;
	const struct dmm_dma_data *d;
	int id;

	if (dev->state != DMM_DMA_REGISTERED || dev->data == NULL)
		return false;
	d = dev->data;
	if (strncmp(d->name, name, sizeof(d->name)) != 0 || d->id < 0 ||
			d->priv == NULL)
		return false;
	mz = rte_memzone_lookup(DMM_DMA_DATA_MZ);
	if (mz == NULL || DMM_DMA_DATA_HDR + ((size_t)d->id + 1) *
			sizeof(*d) > mz->len ||
			(const uint8_t *)d != (const uint8_t *)mz->addr +
			DMM_DMA_DATA_HDR + (size_t)d->id * sizeof(*d))
		return false;
	if (dev->fp != &rte_dma_fp_objs[d->id])
		return false;
	id = rte_dma_get_dev_id_by_name(name);
	return id == d->id;
}

/* After the device is ready: do the public accessors agree? */
static bool
dmm_check_ready(struct dmm_priv *pv)
{
	struct rte_dma_info info;

	memset(&info, 0, sizeof(info));
	if (rte_dma_info_get(pv->id, &info) != 0)
		return false;
	return info.dev_name == pv->dev->data->name &&
		info.numa_node == rte_dev_numa_node(pv->rdev) &&
		info.max_vchans == 1;
}

/*
 * A DPDK secondary. DPDK 22.11's dmadev library gives a secondary no way
 * to create a device: rte_dma_pmd_allocate() there only attaches to the
 * record the primary allocated under the same name (the private area is
 * the primary's, in shared memory); the per-process parts are the
 * library's rte_dma_dev entry (ops, device) and the fast-path object.
 * So a secondary attaches to the primary's dma_mmrt devices (the vdev bus
 * gives it their names at rte_eal_init(), without arguments) with a
 * process-local struct dmm_priv, and a name the primary has not probed
 * fails with -ENOTSUP. Its options are this process's own --vdev for the
 * same name when it gave one (its lcore, its space), else the primary's
 * with the engine lcore chosen here. Its data path is the guarded one
 * on the shared private area (dmm_dp_enter()): it reaches the engine of
 * whichever process runs the device; the plain one while the engine runs
 * here.
 */
static int
dmm_probe_secondary(struct rte_device *rdev, const char *name)
{
	const struct rte_devargs *da;
	struct rte_devargs *own;
	const char *args = NULL;
	struct dmm_dma_dev *dev;
	struct rte_dma_fp_object *fp;
	struct dmm_priv *pv, *sh;
	struct dmm_opts o;
	int ret;

	RTE_EAL_DEVARGS_FOREACH("vdev", own)
		if (strcmp(own->name, name) == 0) {
			args = own->args;
			break;
		}
	if (args == NULL) {
		da = rte_dev_devargs(rdev);
		args = da != NULL ? da->args : NULL;
	}
	dev = rte_dma_pmd_allocate(name, rte_dev_numa_node(rdev), sizeof(*pv));
	if (dev == NULL) {
		DMM_LOG(ERR, "%s: a secondary process cannot create a dmadev: in DPDK 22.11 rte_dma_pmd_allocate() there only attaches to a device the primary probed. Create it in the primary (--vdev or rte_vdev_init() there) and start it here",
			name);
		return -ENOTSUP;
	}
	if (!dmm_check_allocated(name, dev)) {
		DMM_LOG(ERR, "%s: ABI check failed: the dmadev records do not match DPDK 22.11's; not attached",
			name);
		rte_dma_pmd_release(name);
		return -EPROTO;
	}
	sh = dev->data->priv;
	if (args != NULL && args[0] != '\0') {
		ret = dmm_parse(name, args, &o);
		if (ret < 0) {
			rte_dma_pmd_release(name);
			return ret;
		}
	} else {
		o = sh->o;
		if (!o.service)
			o.lcore = -1;
	}
	pv = TEST_ALLOC_FAIL() ? NULL : calloc(1, sizeof(*pv));
	if (pv == NULL) {
		rte_dma_pmd_release(name);
		return -ENOMEM;
	}
	rte_spinlock_lock(&dmm_devs_lock);
	ret = dmm_check_opts(name, &o);
	if (ret < 0) {
		rte_spinlock_unlock(&dmm_devs_lock);
		free(pv);
		rte_dma_pmd_release(name);
		return ret;
	}
	pv->local = true;
	pv->dev = dev;
	pv->rdev = rdev;
	pv->id = dev->data->id;
	pv->o = o;
	pv->w_lcore = -1;
	rte_spinlock_init(&pv->svc_lock);
	dev->device = rdev;
	dev->ops = &dmm_ops;
	/* the guarded data path on the shared area: it reaches the engine
	 * of whichever process runs the device */
	fp = dev->fp;
	fp->dev_private = sh;
	dmm_fp_install(pv, fp, false);
	TAILQ_INSERT_TAIL(&dmm_devs, pv, next);
	__atomic_store_n(&dev->state, DMM_DMA_READY, __ATOMIC_RELEASE);
	rte_spinlock_unlock(&dmm_devs_lock);
	if (!dmm_check_ready(pv)) {
		DMM_LOG(ERR, "%s: ABI check failed: rte_dma_info_get() disagrees with the device record; not attached",
			name);
		/* through rte_dma_close(): dmm_close() frees pv */
		rte_dma_pmd_release(name);
		return -EPROTO;
	}
	DMM_LOG(INFO, "%s: dmadev %d of the primary attached in this secondary%s; engine here on %s %d once started here",
		name, pv->id, args != NULL && args[0] != '\0' ?
		" with this process's devargs" : "",
		o.service ? "a service" : "lcore", o.service ? -1 : o.lcore);
	return 0;
}

/*
 * A secondary's remove (rte_eal_cleanup()): stop the engine if it runs
 * here, then drop this process's attachment only; a device running in
 * another process keeps running (its started bit is shared).
 */
static int
dmm_remove_secondary(const char *name)
{
	struct dmm_dma_dev *dev;
	struct dmm_priv *pv;
	int id = rte_dma_get_dev_id_by_name(name);

	if (id < 0)
		return 0;
	rte_spinlock_lock(&dmm_devs_lock);
	pv = dmm_devs_find(id);
	rte_spinlock_unlock(&dmm_devs_lock);
	if (pv == NULL)
		return 0;
	dev = pv->dev;
	if (__atomic_load_n(&((struct dmm_priv *)dev->data->priv)->run_pid,
			__ATOMIC_ACQUIRE) == dmm_me)
		rte_dma_stop((int16_t)id);
	if (rte_dma_close((int16_t)id) == 0)
		return 0;
	/* started elsewhere: the library would not close; release our
	 * record only (a secondary's release leaves the shared data) */
	dmm_close(dev);
	dev->state = DMM_DMA_REGISTERED;
	return rte_dma_pmd_release(name);
}

static int
dmm_probe(struct dmm_vdev_dev *vdev)
{
	struct rte_device *rdev = dmm_vdev_generic(vdev);
	const struct rte_devargs *da;
	struct dmm_dma_dev *dev;
	struct rte_dma_fp_object *fp;
	struct dmm_priv *pv;
	struct dmm_opts o;
	const char *name;
	int ret;

	/* the vdev record: our offset must give a vdev-bus device of ours */
	name = rte_dev_name(rdev);
	if (rte_dev_bus(rdev) != rte_bus_find_by_name("vdev") ||
			name == NULL ||
			strncmp(name, DMM_DRV_NAME, strlen(DMM_DRV_NAME)) != 0) {
		DMM_LOG(ERR, "ABI check failed: the vdev device record does not match DPDK 22.11's; not probing");
		return -EPROTO;
	}
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return dmm_probe_secondary(rdev, name);
	da = rte_dev_devargs(rdev);
	ret = dmm_parse(name, da != NULL ? da->args : NULL, &o);
	if (ret < 0)
		return ret;

	rte_spinlock_lock(&dmm_devs_lock);
	ret = dmm_check_opts(name, &o);
	if (ret < 0)
		goto unlock;
	dev = TEST_ALLOC_FAIL() ? NULL :
		rte_dma_pmd_allocate(name, rte_dev_numa_node(rdev),
		sizeof(*pv));
	if (dev == NULL) {
		ret = -rte_errno != 0 ? -rte_errno : -ENOMEM;
		DMM_LOG(ERR, "%s: cannot allocate the dmadev (%s)", name,
			rte_strerror(-ret));
		goto unlock;
	}
	if (!dmm_check_allocated(name, dev)) {
		DMM_LOG(ERR, "%s: ABI check failed: the dmadev records do not match DPDK 22.11's; device released",
			name);
		rte_dma_pmd_release(name);
		ret = -EPROTO;
		goto unlock;
	}
	pv = dev->data->priv;
	pv->dev = dev;
	pv->rdev = rdev;
	pv->id = dev->data->id;
	pv->o = o;
	rte_spinlock_init(&pv->svc_lock);
	dev->device = rdev;
	dev->ops = &dmm_ops;
	pv->w_lcore = -1;
	fp = dev->fp;
	fp->dev_private = pv;
	dmm_fp_install(pv, fp, false);
	TAILQ_INSERT_TAIL(&dmm_devs, pv, next);
	__atomic_store_n(&dev->state, DMM_DMA_READY, __ATOMIC_RELEASE);

	if (!dmm_check_ready(pv)) {
		DMM_LOG(ERR, "%s: ABI check failed: rte_dma_info_get() disagrees with the device record; device released",
			name);
		ret = -EPROTO;
		goto release;
	}
	rte_spinlock_unlock(&dmm_devs_lock);
	if (o.has_dev)
		DMM_LOG(INFO, "%s: dmadev %d, dmadev %s behind the translation (configured and started with it)",
			name, pv->id, o.dev);
	if (o.has_as)
		DMM_LOG(INFO, "%s: dmadev %d, addresses are VAs of mmrt space %s%s; engine on %s %d",
			name, pv->id, o.as,
			mmrt_is_up() ? "" : " (looked up at start)",
			o.service ? "a service (registered at start)" : "lcore",
			o.service ? -1 : o.lcore);
	else
		DMM_LOG(INFO, "%s: dmadev %d, addresses are IOVAs of DPDK memory (mirror %s, at start; mmrt %s); engine on %s %d",
			name, pv->id, DMM_MIRROR_NAME,
			mmrt_is_up() ? "up" : "attached at start",
			o.service ? "a service (registered at start)" : "lcore",
			o.service ? -1 : o.lcore);
	return 0;
release:
	rte_spinlock_unlock(&dmm_devs_lock);
	/* through rte_dma_close(): calls dmm_close(), frees priv */
	rte_dma_pmd_release(name);
	return ret;
unlock:
	rte_spinlock_unlock(&dmm_devs_lock);
	return ret;
}

static int
dmm_remove(struct dmm_vdev_dev *vdev)
{
	struct rte_device *rdev = dmm_vdev_generic(vdev);
	const char *name = rte_dev_name(rdev);
	int id;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return dmm_remove_secondary(name);
	id = rte_dma_get_dev_id_by_name(name);
	if (id < 0)
		return 0; /* closed by the application already */
	rte_dma_stop((int16_t)id);
	DMM_LOG(INFO, "%s: remove", name);
	return rte_dma_pmd_release(name);
}

/*
 * rte_dev_dma_map()/rte_dev_dma_unmap(), which the vdev bus forwards
 * here: the calls DPDK prescribes for external memory
 * (rte_extmem_register()) and a device. The range goes to the process's
 * DPDK-memory mirrors (mmrt_mirror_dma_map()), so a mirror-mode device,
 * started now or later, reaches it by @iova; an as= device's addresses
 * are VAs of its space and it never reads the mirror. The registry is
 * the process's, not the device's: two devices given the same range
 * count two references. On return of the unmap no engine uses the range
 * (invariant A). 0, or a negative errno with rte_errno set (DPDK's
 * convention for these calls).
 */
static int
dmm_dma_map(struct dmm_vdev_dev *vdev, void *va, uint64_t iova, size_t len)
{
	int ret = mmrt_mirror_dma_map(va, iova, len);

	if (ret < 0) {
		DMM_LOG(ERR, "%s: rte_dev_dma_map(%p, IOVA %#" PRIx64 ", %zu): %s",
			rte_dev_name(dmm_vdev_generic(vdev)), va, iova, len,
			rte_strerror(-ret));
		rte_errno = -ret;
	}
	return ret;
}

static int
dmm_dma_unmap(struct dmm_vdev_dev *vdev, void *va, uint64_t iova,
	size_t len)
{
	int ret = mmrt_mirror_dma_unmap(va, iova, len);

	if (ret < 0) {
		DMM_LOG(ERR, "%s: rte_dev_dma_unmap(%p, IOVA %#" PRIx64 ", %zu): %s",
			rte_dev_name(dmm_vdev_generic(vdev)), va, iova, len,
			rte_strerror(-ret));
		rte_errno = -ret;
	}
	return ret;
}

static struct dmm_vdev_drv dmm_drv = {
	.probe = dmm_probe,
	.remove = dmm_remove,
	.dma_map = dmm_dma_map,
	.dma_unmap = dmm_dma_unmap,
};

int
mmrt_dma_mmrt_stats(int16_t dev_id, struct mmrt_dma_mmrt_stats *st)
{
	struct swdma_stats es;
	struct bridge_stats bs;
	struct dmm_priv *pv, *sh;
	int ret = -ENODEV;

	if (st == NULL)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	rte_spinlock_lock(&dmm_devs_lock);
	pv = dmm_devs_find(dev_id);
	if (pv == NULL)
		goto out;
	st->dev_mode = pv->o.has_dev;
	ret = -ENOTCONN;
	/* the shared area: the engine may run in any process (its lock:
	 * taken inside the list lock, never the other way round) */
	sh = dmm_sh(pv);
	dmm_eng_lock(sh);
	st->run_pid = __atomic_load_n(&sh->run_pid, __ATOMIC_RELAXED);
	if (sh->eng != NULL && swdma_stats(sh->eng, &es) == 0) {
		st->submitted = es.submitted;
		st->completed = es.completed;
		st->errors = es.errors;
		st->page_faults = es.page_faults;
		st->bytes = es.bytes;
		st->parks = es.parks;
		st->resumes = es.resumes;
		st->steps = es.steps;
		st->idle_polls = es.idle_polls;
		st->consumer = es.consumer;
		ret = 0;
	} else if (sh->br != NULL && bridge_stats(sh->br, &bs) == 0) {
		st->submitted = bs.submitted;
		st->completed = bs.completed;
		st->errors = bs.errors;
		st->bytes = bs.bytes;
		st->parks = bs.parks;
		st->pieces = bs.pieces;
		st->acks_held = bs.acks_held;
		st->inflight = bs.inflight;
		st->consumer = bs.consumer;
		ret = 0;
	}
	dmm_eng_unlock(sh);
	if (ret != 0)
		st->run_pid = 0;
out:
	rte_spinlock_unlock(&dmm_devs_lock);
	return ret;
}

/*
 * The driver may be in a process twice: linked into libmmrt
 * (libmmrt_pmd_dma_mmrt) and loaded as the -d plugin. This symbol is
 * exported by both; with default symbol interposition both copies reach
 * the first-loaded definition, so only the first constructor registers.
 */
int mmrt_dma_mmrt_once;

bool
mmrt_dma_mmrt_registered(void)
{
	return __atomic_load_n(&mmrt_dma_mmrt_once, __ATOMIC_RELAXED) != 0;
}

/* ---- telemetry ---------------------------------------------------------- */

/*
 * /mmrt/dma_mmrt/list: the dmadev ids of the dma_mmrt devices (the
 * dmadev library's enumeration; mmrt_dma_mmrt_stats() tells ours apart).
 * /mmrt/dma_mmrt/info,ID: mmrt_dma_mmrt_stats() of a started device,
 * "started": 0 and no counters for a stopped one. Run on the telemetry
 * thread: mmrt_dma_mmrt_stats() reads the engine under dmm_devs_lock,
 * under which start publishes it and stop takes it away.
 */
#define DMM_TEL_U64(d, st, f) rte_tel_data_add_dict_u64(d, #f, (st)->f)

static int
dmm_tel_list(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	struct mmrt_dma_mmrt_stats st;
	int16_t id;

	if (params != NULL && params[0] != '\0')
		return -EINVAL;
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	RTE_DMA_FOREACH_DEV(id)
		if (mmrt_dma_mmrt_stats(id, &st) != -ENODEV)
			rte_tel_data_add_array_int(d, id);
	return 0;
}

static int
dmm_tel_info(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	struct mmrt_dma_mmrt_stats st;
	struct rte_tel_data *cd;
	char *end;
	long id;
	int ret;

	if (params == NULL || params[0] == '\0')
		return -EINVAL;
	errno = 0;
	id = strtol(params, &end, 10);
	if (errno != 0 || *end != '\0' || id < 0 || id > INT16_MAX)
		return -EINVAL;
	ret = mmrt_dma_mmrt_stats((int16_t)id, &st);
	if (ret < 0 && ret != -ENOTCONN)
		return ret;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "dev_id", (int)id);
	rte_tel_data_add_dict_int(d, "started", ret == 0);
	if (ret != 0)
		return 0;
	rte_tel_data_add_dict_int(d, "dev_mode", st.dev_mode);
	rte_tel_data_add_dict_int(d, "run_pid", st.run_pid);
	DMM_TEL_U64(d, &st, submitted);
	DMM_TEL_U64(d, &st, completed);
	DMM_TEL_U64(d, &st, errors);
	DMM_TEL_U64(d, &st, page_faults);
	DMM_TEL_U64(d, &st, bytes);
	DMM_TEL_U64(d, &st, parks);
	DMM_TEL_U64(d, &st, resumes);
	DMM_TEL_U64(d, &st, pieces);
	DMM_TEL_U64(d, &st, acks_held);
	DMM_TEL_U64(d, &st, inflight);
	DMM_TEL_U64(d, &st, steps);
	DMM_TEL_U64(d, &st, idle_polls);
	cd = rte_tel_data_alloc();
	if (cd == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(cd);
	DMM_TEL_U64(cd, &st.consumer, tlb_hits);
	DMM_TEL_U64(cd, &st.consumer, tlb_misses);
	DMM_TEL_U64(cd, &st.consumer, inval_descs);
	DMM_TEL_U64(cd, &st.consumer, acks);
	DMM_TEL_U64(cd, &st.consumer, fences);
	DMM_TEL_U64(cd, &st.consumer, page_requests);
	DMM_TEL_U64(cd, &st.consumer, userfaults);
	/* freed with @d */
	rte_tel_data_add_dict_container(d, "consumer", cd, 0);
	return 0;
}

/*
 * mmrt_reap_dead()'s step for a dead process (run in any process of the
 * runtime): the engines it ran on the dma_mmrt devices this process has
 * (its fast-path objects of ours; their dev_private is the shared area)
 * are reclaimed (dmm_reclaim_dead()). It runs before dev's step (order
 * above 30), so no reader follows a dead engine to its consumer once
 * that is freed. A process without this driver, or without the device,
 * reaps the rest; then the next rte_dma_start() or rte_dma_stop() of the
 * device, in any process, reclaims the engine.
 */
#define DMM_REAP_ORDER 40

static int
dmm_reap(int32_t pid, unsigned int slot)
{
	const struct rte_dma_fp_object *fp;
	int16_t id;
	int n = 0;

	RTE_SET_USED(slot);
	RTE_DMA_FOREACH_DEV(id) {
		fp = &rte_dma_fp_objs[id];
		if (dmm_fp_ours(fp) && fp->dev_private != NULL)
			n += dmm_reclaim_dead(fp->dev_private, pid);
	}
	return n;
}

/* A forked child is another process: the shared words name it. */
static void
dmm_atfork_child(void)
{
	dmm_me = (int32_t)getpid();
}

RTE_INIT(dmm_register)
{
	dmm_me = (int32_t)getpid();
	pthread_atfork(NULL, NULL, dmm_atfork_child);
	if (__atomic_exchange_n(&mmrt_dma_mmrt_once, 1, __ATOMIC_RELAXED)) {
		DMM_LOG(INFO, "driver already registered by another copy (libmmrt and the -d plugin both loaded); this one stays out");
		return;
	}
	dmm_drv.generic.name = DMM_DRV_NAME;
	rte_vdev_register(&dmm_drv);
	mmrt_reap_register("dma_mmrt", DMM_REAP_ORDER, dmm_reap);
	rte_telemetry_register_cmd("/mmrt/dma_mmrt/list", dmm_tel_list,
		"Dmadev ids of the dma_mmrt devices. Takes no parameters");
	rte_telemetry_register_cmd("/mmrt/dma_mmrt/info", dmm_tel_info,
		"mmrt counters of a dma_mmrt device. Parameters: int dev_id");
}

RTE_PMD_EXPORT_NAME(dma_mmrt, _dmm);
RTE_PMD_REGISTER_PARAM_STRING(dma_mmrt,
	"as=<mmrt address space; none: IOVAs of DPDK memory> "
	"dev=<a dmadev to put behind the translation> "
	"lcore=<worker lcore> "
	"service=<0|1> "
	"burst=<ops per engine step> "
	"idle=<pause|spin|backoff> "
	"ack_us=<invalidation ack deadline> "
	"park_us=<how long an operation may stay parked on one page> "
	"lookahead=<0|1: the engine translates 16 pages ahead (default 1)>");
