/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_CORE_H
#define MMRT_CORE_H

/**
 * @file
 * mmrt runtime core: EAL attach, configuration, logging, lcore topology and
 * placement, and the QSBR domain every mmrt poller reports to.
 *
 * Unless stated otherwise, functions return 0 or a positive count on
 * success and a negative errno on failure, and change nothing on failure.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_log.h>
#include <rte_rwlock.h>
#include <rte_spinlock.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Log type of lib/core, "lib.mmrt.core". Each mmrt library and driver
 * registers its own type in its own source (lib.mmrt.mem, lib.mmrt.mm,
 * lib.mmrt.dev, pmd.dma.mmrt.*); EAL's --log-level and mmrt's core.log_level
 * reach all of them.
 */
extern int mmrt_logtype_core;

/**
 * Log through rte_log with the mmrt log type mmrt_logtype_<type>, e.g.
 * MMRT_LOG(INFO, core, ...). Other libraries' types are internal to them.
 */
#define MMRT_LOG(level, type, fmt, ...) \
	rte_log(RTE_LOG_ ## level, mmrt_logtype_ ## type, \
		"mmrt_" #type ": " fmt "\n", ##__VA_ARGS__)

/** Longest configuration file path accepted. */
#define MMRT_PATH_MAX 256

/**
 * Runtime configuration. Every field has a key in config/default.ini
 * (section.key given next to it) and a built-in default used when no file
 * is given.
 */
struct mmrt_config {
	char path[MMRT_PATH_MAX];   /**< File the values came from, "" = built-in. */
	uint32_t pool_mb;           /**< mem.pool_mb: frame pool size in MiB. */
	uint32_t pool_huge_pct;     /**< mem.huge_reserve_pct: % of pool kept as 2 MiB frames. */
	uint32_t cache_size;        /**< mem.cache_size: frames per lcore cache. */
	uint32_t gather_batch_max;  /**< mm.gather_batch_max: batches per gather. */
	uint32_t gather_free_chunk; /**< mm.gather_free_chunk: frames freed per chunk. */
	uint32_t qsbr_dq_size;      /**< mm.qsbr_dq_size: deferred page-table frees. */
	uint32_t max_as;            /**< mm.max_as: address spaces at once. */
	uint32_t max_threads;       /**< core.max_threads: QSBR reader slots. */
	uint32_t log_level;         /**< core.log_level: rte_log level (1..8). */
};

/**
 * Bring up DPDK and the runtime.
 *
 * Command line: EAL arguments, then mmrt options after "--":
 *
 *   --config FILE    INI configuration file (see mmrt_config_load())
 *   --pool-mb N      frame pool size in MiB (mem.pool_mb)
 *   --log-level N    level of the *.mmrt* log types, rte_log number 1..8
 *                    (core.log_level)
 *   --mmrt-help      print mmrt's options (mmrt_usage()) and exit(0),
 *                    as the EAL does for -h; nothing is started
 *
 * Values may also be written --name=value; the command line overrides the
 * file. mmrt looks at the words between the first "--" and a further "--"
 * (or the end): its options may stand anywhere among them and are moved to
 * the front, and every other word is left, in order, to the application.
 * A "--word" that is a near miss of one of mmrt's options (an abbreviation
 * of three letters or more, or two edits or fewer away, e.g. --pool or
 * --pool_mb) is an error (-EINVAL, one log line with "did you mean"), so
 * an application option that looks like mmrt's must come after a further
 * "--". That further "--" is consumed too if no application word stands
 * before it; words after it are never looked at. The EAL's -h/--help
 * prints mmrt's options after the EAL's.
 *
 * Embedded default: unless the EAL arguments name a memory or process
 * option (-m, --socket-mem, --socket-limit, --no-huge, --in-memory,
 * --huge-dir, --huge-unlink, --legacy-mem, --single-file-segments,
 * --match-allocations, --proc-type, --file-prefix), mmrt brings the EAL up
 * on its embedded default: --no-huge -m max(512, pool_mb + 128) --no-pci
 * --no-shconf --file-prefix=mmrt-<pid>-<n>, lcores 0-1 on
 * the first two cpus of the affinity mask (one lcore if there is only
 * one cpu), --log-level=lib.eal:error and --log-level=lib.telemetry:error
 * (telemetry is on: dpdk-telemetry.py -f mmrt-<pid>-<n> reaches the
 * /mmrt/ endpoints), followed by the EAL arguments
 * given (--vdev, -a, -d, --log-level, --main-lcore, ...), which add to it.
 * If they name lcores (-l, --lcores, -c), those replace the default
 * lcores. One NOTICE log line shows the EAL arguments used. The runtime
 * directory the embedded EAL creates is removed by mmrt_fini(). With a
 * memory option the EAL arguments are passed on unchanged; if the EAL
 * then finds no usable hugepages, one log line says how to reserve them
 * or run without them.
 *
 * Log levels: core.log_level (or --log-level N) is applied to every
 * "*.mmrt*" log type before the EAL parses its arguments, so an EAL
 * --log-level=<pattern>:<level> (e.g. pmd.dma.mmrt.*:debug) wins for the
 * types it names.
 *
 * DPDK secondary processes (--proc-type=secondary, or auto resolving to
 * it, with the primary's --file-prefix): mmrt_init() joins the runtime
 * the primary's mmrt_init()/mmrt_attach() brought up, with the primary's
 * configuration (the secondary's --config/--pool-mb are checked, then
 * ignored; its --log-level applies to it). The secondary finds the
 * primary's address spaces by name (mmrt_as_lookup()) and reads, writes,
 * translates, maps and unmaps in them; its pollers share the primary's
 * QSBR domain. Rules and what only the primary may do: docs/architecture.md,
 * "Processes", and each function's -E_RTE_SECONDARY. Every process must
 * use its own lcore ids (-l/--lcores): an lcore id enabled in a live
 * process of the runtime makes mmrt_init() fail with -EBUSY (one log line
 * names the lcore and the process). Without an mmrt runtime in the
 * primary it fails with -ENOENT (one log line). Under the embedded default
 * nothing is shared (--no-shconf, --no-huge): the primary must name its
 * memory (hugepages) for secondaries to attach.
 *
 * The EAL can be brought up only once per process: after mmrt_fini() (or
 * a failure after the EAL started), mmrt_init() returns -EALREADY.
 * Option and configuration errors are found before the EAL starts, so a
 * call that fails with -EINVAL or -ENOENT may be retried; argv is then
 * unchanged.
 *
 * @param argc
 *   Argument count, as given to main().
 * @param argv
 *   Argument vector; argv[0] is the program name.
 * @return
 *   Number of arguments consumed (like rte_eal_init(): argv[ret] is set to
 *   the program name and argv[ret + 1 ..] are the application's), or a
 *   negative errno: -EALREADY if the runtime or its EAL already ran,
 *   -EINVAL for a bad or misspelt mmrt option or configuration value,
 *   -ENOENT for a missing configuration file, -ENOMEM if the frame pool
 *   does not fit in the EAL's memory (one log line says how much it
 *   needs), in a secondary -ENOENT (no mmrt runtime in the primary) or
 *   -EBUSY (an lcore id of another live process), or the EAL's error (e.g.
 *   -EACCES: no hugepages). Not thread-safe: call once from the main
 *   thread. May wait (EAL init).
 */
int mmrt_init(int argc, char **argv);

/**
 * Print mmrt's command-line options (those mmrt_init() takes after "--")
 * to @p out (stdout if NULL), e.g. from an application's own --help.
 * Thread-safe. Does not wait.
 */
void mmrt_usage(FILE *out);

/**
 * Bring the runtime up in an application that already ran rte_eal_init().
 *
 * The application's --log-level settings stay in force: core.log_level
 * is applied to the "*.mmrt*" log types only if the file sets it to
 * another value than the built-in default.
 *
 * @param config_file
 *   INI configuration file, or NULL for the built-in defaults.
 * @return
 *   0, -EALREADY if already up, -ENODEV if the EAL is not initialised,
 *   -ENOENT/-EINVAL for a missing or bad configuration file, -ENOMEM if
 *   the frame pool does not fit in the EAL's memory (one log line says
 *   how much it needs; nothing is left allocated); in a DPDK secondary
 *   process it joins the primary's runtime as mmrt_init() does, with
 *   the primary's configuration (@p config_file is checked and only its
 *   log level used), failing with -ENOENT or -EBUSY as there.
 *   Not thread-safe. May wait.
 */
int mmrt_attach(const char *config_file);

/**
 * Tear the runtime down (every address space must be destroyed first).
 * In a DPDK secondary process, leave it instead: the spaces and the pool
 * are the runtime's and stay; the frames cached by this process's lcores
 * go back to the pool, its deferred page-table frees complete after a
 * grace period, and its lcore ids are released. In the primary, fini
 * fails with -EBUSY while a live secondary is attached or any process
 * has registered threads.
 * Runs the subsystem fini steps in reverse order; calls rte_eal_cleanup()
 * only if mmrt_init() ran the EAL. The calling thread is unregistered from
 * the QSBR domain if it was registered; any other registered thread makes
 * it fail with -EBUSY.
 *
 * @return 0, or -EBUSY if objects are still alive (threads registered,
 *   secondaries attached (primary only), or
 *   a subsystem fini step said so: the runtime then stays up, with the
 *   steps already run brought back), -ENODEV if not up.
 *   Not thread-safe. May wait.
 */
int mmrt_fini(void);

/** @return true once mmrt_init()/mmrt_attach() succeeded. Thread-safe. */
bool mmrt_is_up(void);

/**
 * @return true while the runtime is up on the EAL that mmrt_init() started
 *   with its embedded default arguments (devices or lcores the user added
 *   included); false after mmrt_attach(), with the user's own memory
 *   options, or when not up. Thread-safe. Never waits.
 */
bool mmrt_embedded_default(void);

/**
 * @return the active configuration (read-only), or NULL if not up. Also
 *   valid inside the subsystem init and fini steps.
 */
const struct mmrt_config *mmrt_config_get(void);

/**
 * Load a configuration file into @p cfg, starting from the built-in defaults.
 *
 * The file may be shared with the application: mmrt reads its own
 * sections ([core], [mem], [mm]) and skips the others, and keys before
 * the first section. Inside mmrt's sections an unknown key is -EINVAL (a
 * typo must not pass silently; the log line names the closest key), and
 * so is a section whose name looks like a typo of mmrt's (another case,
 * e.g. [Mem], or one edit from a name of up to four letters, e.g. [cor]
 * or [mme]). Comments start with ';'. Lines are at most 324 bytes and
 * names 63 (rte_cfgfile's limits, which apply to the whole file).
 *
 * @return 0, -ENOENT (no such file), -EINVAL (parse error, unknown key,
 *   value out of range). @p cfg is unchanged on error. Thread-safe.
 */
int mmrt_config_load(const char *file, struct mmrt_config *cfg);

/** Fill @p cfg with the built-in defaults. Thread-safe. */
void mmrt_config_defaults(struct mmrt_config *cfg);

/*
 * QSBR domain. Every thread that walks page tables without locks (mmrt
 * pollers, consumers, callers of mmrt_translate() on the fast path)
 * registers and reports quiescent states; freed page-table pages are only
 * reused after every registered online thread passed one.
 */

/**
 * Register the calling thread as an mmrt poller and put it online.
 *
 * @return the thread's QSBR id (>= 0), -EEXIST if already registered,
 *   -ENOSPC if all core.max_threads slots are taken, -ENODEV if not up.
 *   Thread-safe. Does not wait.
 */
int mmrt_thread_register(void);

/**
 * Unregister the calling thread (goes offline first).
 * @return 0, -ENOENT if not registered. Thread-safe. Does not wait.
 */
int mmrt_thread_unregister(void);

/** @return the calling thread's QSBR id, or -1 if not registered. */
int mmrt_thread_id(void);

/**
 * Report a quiescent state: the calling thread holds no pointer obtained
 * from a lockless walk. No-op for unregistered threads. Never waits.
 */
void mmrt_quiescent(void);

/**
 * Take the calling thread offline (it may block; it holds nothing from
 * lockless walks). No-op if not registered or already offline. Never waits.
 */
void mmrt_thread_offline(void);

/** Put the calling thread back online after mmrt_thread_offline(). */
void mmrt_thread_online(void);

/**
 * @internal The calling thread's QSBR id while it is online, -1 otherwise.
 * Read only through mmrt_thread_is_online(); written by the functions above.
 */
extern __thread int mmrt_tls_online_id __attribute__((tls_model("initial-exec")));

/**
 * @return true if the calling thread is registered and online. Inline: one
 * TLS load, so lockless fast paths may test it per call. Never waits.
 */
static inline bool
mmrt_thread_is_online(void)
{
	return mmrt_tls_online_id >= 0;
}

/**
 * Wait until every registered online thread (other than the caller) has
 * passed a quiescent state. The caller, if registered, is counted as
 * quiescent. Waits (spins with rte_pause()).
 */
void mmrt_synchronize(void);

struct rte_rcu_qsbr;
/**
 * @return the runtime's QSBR variable (for rte_rcu_qsbr_dq), NULL if not
 *   up. Also valid inside the subsystem init and fini steps.
 */
struct rte_rcu_qsbr *mmrt_qsbr(void);

/*
 * Processes of the runtime and their death (docs/architecture.md,
 * "Processes").
 */

/** Most processes attached to one runtime at once, the primary included. */
#define MMRT_PROC_MAX 64

/**
 * Reclaim what processes of this runtime left behind when they died
 * without mmrt_fini() (SIGKILL, a crash). A process is dead when its pid
 * is gone, is a zombie, or names a process started after the one that
 * attached (the start time recorded at mmrt_init()/mmrt_attach()).
 *
 * For each dead process, in this order: its QSBR reader slots are taken
 * offline and freed (grace periods stop waiting for it); its consumers
 * are fenced (invalidators stop waiting for their acks, frames the space
 * releases meanwhile are quarantined), unbound (the quarantine is
 * dropped: the dead owner uses no translation) and destroyed; the
 * userfaults its handlers had read but not resolved become unread (each
 * waiter posts its fault again, for the next handler to read: a handler
 * may so see a fault twice, and its second resolution fails with
 * -EEXIST, as with the kernel's userfaultfd); its lcore ids are freed;
 * then its slot in the process table. A restarted process attaches as a
 * new one.
 *
 * What is not recovered: a process killed inside an mmrt call that held
 * a shared lock (a map change, a fault's fill, a consumer's bind) leaves
 * that lock held, and one killed inside an rte_ring or rte_malloc
 * operation leaves that structure as DPDK does; these windows are the
 * length of one call. Pins cannot be taken in a secondary (they are
 * interval notifiers, primary only), so none is left by one.
 *
 * Run automatically by mmrt_init()/mmrt_attach() (a restarted secondary
 * cleans up after the one it replaces) and by the primary's mmrt_fini()
 * (dead secondaries do not make it -EBUSY). Waiting for a grace period
 * (mmrt_synchronize()) and a missed ack deadline of a consumer whose
 * process died free that process's reader slots at once, without the
 * rest. Call it from a housekeeping loop (the main lcore, once a second
 * say) or when mmrt_consumer_fenced() reports a fence.
 *
 * @return the number of dead processes reclaimed (0: none found), or
 *   -ENODEV if the runtime is not up. Thread-safe and callable from any
 *   process of the runtime; concurrent callers reclaim each dead process
 *   once (a reclaimer that dies is taken over). May wait: for a grace
 *   period and the map locks of the spaces a dead consumer was bound
 *   to. Not from a notifier callback or with an mmrt lock held.
 */
int mmrt_reap_dead(void);

/**
 * Whether process @p pid lives. For a process attached to this runtime
 * the start time recorded at attach must match too (a reused pid is a
 * different process); other pids are checked by /proc/<pid> alone.
 *
 * @return true if alive (also when /proc cannot tell), false if the pid
 *   is gone, a zombie, or reused. Thread-safe. Never waits (reads
 *   /proc/<pid>/stat: not for a fast path).
 */
bool mmrt_process_alive(int32_t pid);

/**
 * @internal The calling process's slot in the runtime's process table
 * (0 .. MMRT_PROC_MAX - 1), or -1 if it is not attached. Never waits.
 */
int mmrt_process_slot(void);

/**
 * @internal The pid attached in process slot @p slot, 0 if the slot is
 * free or out of range. Never waits.
 */
int32_t mmrt_process_slot_pid(int slot);

/**
 * @internal Whether process @p pid, which was attached in slot @p slot,
 * is gone from it: the slot holds another pid (or none), or the process
 * of the slot is dead (as for mmrt_reap_dead(), start time included).
 * For a count a process keeps per slot, tagged with its pid, that its
 * death would leave raised (the uffd waiters). Never waits (reads
 * /proc/<pid>/stat: not for a fast path).
 */
bool mmrt_process_slot_gone(int slot, int32_t pid);

/**
 * @internal Free the QSBR reader slots of every dead process of the
 * runtime (the first step of mmrt_reap_dead(), alone). Lock-free; safe
 * with any lock held, from any thread.
 * @return the number of reader slots freed. Never waits.
 */
unsigned int mmrt_qsbr_reap(void);

/*
 * Topology and placement (hwloc).
 */

/** Where one EAL lcore sits. Ids are hwloc logical indexes, -1 if unknown. */
struct mmrt_lcore_topo {
	unsigned int lcore_id; /**< EAL lcore id. */
	int cpu;               /**< OS cpu the lcore is pinned to (first of its set). */
	int core;              /**< Physical core. */
	int l2;                /**< L2 cache instance. */
	int l3;                /**< L3 cache instance. */
	int numa;              /**< NUMA node. */
	unsigned int smt;      /**< Hardware threads on this core. */
};

/**
 * Describe the enabled EAL lcores.
 *
 * @param out
 *   Array of @p n entries.
 * @return number of lcores described (at most @p n), -EINVAL if out is
 *   NULL or n is 0, -ENODEV if not up. Thread-safe after init.
 */
int mmrt_topo_lcores(struct mmrt_lcore_topo *out, unsigned int n);

/** Closeness of two lcores, from closest to farthest. */
enum mmrt_share {
	MMRT_SHARE_CORE = 0, /**< SMT siblings of one core. */
	MMRT_SHARE_L2,       /**< Distinct cores sharing an L2. */
	MMRT_SHARE_L3,       /**< Sharing a last-level cache. */
	MMRT_SHARE_NUMA,     /**< Same NUMA node only. */
	MMRT_SHARE_NONE,     /**< Different NUMA nodes. */
};

/** @return the name of a sharing level ("core", "l2", ...). */
const char *mmrt_share_name(enum mmrt_share s);

/** @return how closely two lcores share hardware, or -EINVAL. */
int mmrt_topo_share(unsigned int lcore_a, unsigned int lcore_b);

/** One consumer lcore and the lcore that serves its faults. */
struct mmrt_placement {
	unsigned int server_lcore;   /**< Fault/invalidation service lcore. */
	unsigned int consumer_lcore; /**< Consumer (DMA engine, poller) lcore. */
	enum mmrt_share share;       /**< How closely they share hardware. */
};

/**
 * Plan @p n pairs of (server, consumer) lcores among the enabled lcores,
 * each consumer as close as possible to its server (SMT sibling, then L2,
 * L3, NUMA node). The main lcore is used only if there are not enough
 * others. Servers may serve several consumers when lcores run short.
 *
 * @return number of pairs planned (@p n), -EINVAL for NULL/0, -ENOSPC if
 *   fewer than two lcores are enabled, -ENODEV if not up. Thread-safe.
 */
int mmrt_placement_plan(struct mmrt_placement *plan, unsigned int n);


/*
 * Subsystems. The libraries above core (mem, mm, dev, ...) register an init
 * and a fini step from a constructor; mmrt_init()/mmrt_attach() run the
 * init steps in ascending @p order after the configuration is loaded, and
 * mmrt_fini() runs the fini steps in reverse. A failing init step unwinds
 * the ones before it.
 */

/** A subsystem of the runtime. */
struct mmrt_subsys {
	const char *name;                            /**< For logs. */
	unsigned int order;                          /**< 10 = mem, 20 = mm, 30 = dev. */
	int (*init)(const struct mmrt_config *cfg);  /**< 0 or negative errno. */
	int (*fini)(void);                           /**< 0, or -EBUSY if objects live. */
};

/**
 * Register a subsystem (from an RTE_INIT constructor).
 * @return 0, -EINVAL (NULL or missing init), -ENOSPC (table full),
 *   -EALREADY (runtime already up). Not thread-safe (constructors).
 */
int mmrt_subsys_register(const struct mmrt_subsys *ss);

/**
 * Define the subsystem @p sym (a static struct mmrt_subsys named @p nm,
 * of order @p ord, with steps @p init_fn and @p fini_fn) and register it
 * from a constructor of its own, the one way a library above core joins
 * the runtime. The registration cannot fail there: the table has room
 * for every library and the runtime is not up before main().
 */
#define MMRT_SUBSYS_REGISTER(sym, nm, ord, init_fn, fini_fn) \
static const struct mmrt_subsys sym = { \
	.name = (nm), \
	.order = (ord), \
	.init = (init_fn), \
	.fini = (fini_fn), \
}; \
RTE_INIT(sym ## _register) \
{ \
	mmrt_subsys_register(&sym); \
}

/**
 * A subsystem's reclaim step for dead processes: reclaim what dead
 * process @p pid (process-table slot @p slot, 0 .. MMRT_PROC_MAX - 1)
 * left in the subsystem. Called by mmrt_reap_dead() in another process
 * of the runtime, once the dead one's QSBR reader slots are freed. Must
 * be idempotent (a reclaimer that dies is replaced and starts over).
 * @return the number of objects reclaimed, or a negative errno (logged).
 */
typedef int (*mmrt_reap_fn_t)(int32_t pid, unsigned int slot);

/**
 * Register a reclaim step (from an RTE_INIT constructor). Steps run in
 * descending @p order (the subsystem orders of struct mmrt_subsys: dev
 * before mm before mem), once per dead process.
 * @return 0, -EINVAL (NULL @p name or @p fn), -ENOSPC (table full).
 *   Not thread-safe (constructors).
 */
int mmrt_reap_register(const char *name, unsigned int order,
	mmrt_reap_fn_t fn);

/**
 * @internal Robust locks: true in a secondary process of a running
 * runtime, where every lock of mmrt's libraries (the class wrappers of
 * lib/mm/mm_locking.h) is taken by the mmrt_robust_*() calls below, which
 * record it in shared memory so that mmrt_reap_dead() can release it if
 * the process dies holding it. False in the primary (its death ends the
 * runtime), whose locks are the plain DPDK calls. Set by mmrt_init() and
 * mmrt_attach() before any subsystem starts, cleared by mmrt_fini() after
 * the last one stopped; read only by mmrt's own libraries.
 */
extern bool mmrt_robust_locks;

/**
 * @internal Robust locks (mmrt_robust_locks true): take, try, release
 * @p l as rte_spinlock_lock(), rte_spinlock_trylock() (1 taken, 0 not)
 * and rte_spinlock_unlock() do, recording it for the calling thread;
 * @p cls is its class in the lock sheet (for the logs and test hooks).
 * The lock word holds the holder's tag instead of 1. A lock taken by a
 * plain call may be released by mmrt_robust_spin_unlock() and the other
 * way round. The take waits as rte_spinlock_lock() does.
 */
void mmrt_robust_spin_lock(rte_spinlock_t *l, unsigned int cls);
/** @internal See mmrt_robust_spin_lock(). Never waits. */
int mmrt_robust_spin_trylock(rte_spinlock_t *l, unsigned int cls);
/** @internal See mmrt_robust_spin_lock(). Never waits. */
void mmrt_robust_spin_unlock(rte_spinlock_t *l);

/**
 * @internal Robust locks: the rte_rwlock_t counterparts, with the same
 * results and waits as rte_rwlock_read_lock(), rte_rwlock_read_trylock()
 * (0 taken, -EBUSY not: also when another secondary's read transition
 * lasts), rte_rwlock_read_unlock(), rte_rwlock_write_lock() and
 * rte_rwlock_write_unlock(). A writer's word holds its tag in bits 20..30
 * beside RTE_RWLOCK_WRITE; a reader's take and release each set its tag
 * there for the few instructions of the transition (one compare-and-swap
 * changes the count and sets it).
 */
void mmrt_robust_read_lock(rte_rwlock_t *l, unsigned int cls);
/** @internal See mmrt_robust_read_lock(). Never waits. */
int mmrt_robust_read_trylock(rte_rwlock_t *l, unsigned int cls);
/** @internal See mmrt_robust_read_lock(). Never waits. */
void mmrt_robust_read_unlock(rte_rwlock_t *l);
/** @internal See mmrt_robust_read_lock(). */
void mmrt_robust_write_lock(rte_rwlock_t *l, unsigned int cls);
/** @internal See mmrt_robust_read_lock(). Never waits. */
void mmrt_robust_write_unlock(rte_rwlock_t *l);

/** @internal Words of arguments of a journalled edit. */
#define MMRT_ROBUST_EDIT_ARGS 10
/** @internal Kinds of journalled edits (op 1 .. MMRT_ROBUST_EDIT_OPS - 1). */
#define MMRT_ROBUST_EDIT_OPS 8

/**
 * @internal Robust edits: the journal of an edit of a structure in shared
 * memory that takes several stores (a region array's shift, a list's
 * links), so that the reaper of a process killed in the middle of it can
 * finish it before it releases the dead thread's locks. One per thread of
 * a recording process (a secondary), in its robust record: written only by
 * that thread, read only by the reaper of its slot once the process is
 * dead. @p op 0: no edit; else a kind with a handler
 * (mmrt_robust_edit_handler()) in the reaping process.
 */
struct mmrt_robust_edit {
	uint32_t op;      /**< 0 none, else the kind; stored last (arming) */
	uint32_t step;    /**< the edit's progress, the kind's own numbering */
	uintptr_t obj;    /**< the structure (an address in shared memory) */
	uint32_t tag;     /**< the thread's robust tag (!= 0), for the kinds
			   * that mark a shared word with it */
	uint32_t pad;
	uint64_t arg[MMRT_ROBUST_EDIT_ARGS]; /**< the kind's arguments */
};

/**
 * @internal The calling thread's edit journal, or NULL when this process
 * does not record (the primary, whose death ends the runtime; a thread
 * beyond the records). Its op is 0 between edits. Never waits.
 */
struct mmrt_robust_edit *mmrt_robust_edit_journal(void);

/**
 * @internal Finish the edit @p e (op, step and arguments as its dead
 * thread left them) of a process that died in its middle; runs in the
 * reaper, before that thread's locks are released, so nothing else
 * changes the structure meanwhile. Must not take those locks.
 */
typedef void (*mmrt_robust_repair_t)(struct mmrt_robust_edit *e);

/**
 * @internal Set this process's repair of edits of kind @p op (1 ..
 * MMRT_ROBUST_EDIT_OPS - 1; a library, at its init). Repairs are per
 * process: a reaper finishes the edits of kinds its own libraries know.
 * @return 0, or -EINVAL (@p op out of range, @p fn NULL).
 */
int mmrt_robust_edit_handler(uint32_t op, mmrt_robust_repair_t fn);
/** @internal 64-bit words of a thread's frames-in-flight record. */
#define MMRT_ROBUST_FLY_WORDS 24

/**
 * @internal Frames in flight (lib/mm/mm_fly.h): the calling thread's
 * record of MMRT_ROBUST_FLY_WORDS words in shared memory, where it notes
 * the frames it holds outside every page table and the pool, so that
 * mmrt_reap_dead() can return them if the process dies. NULL when this
 * process does not record (the primary, or mmrt_robust_locks false) or
 * the thread has no robust-lock record (more threads than records).
 * Records are zero when a process attaches.
 */
uint64_t *mmrt_robust_fly(void);

/**
 * @internal The reclaim of a dead thread's record @p fly, run by
 * mmrt_reap_dead() for every thread of a dead process before the locks
 * it held are released: @p spin_word is the value of a spin lock's word
 * that the thread held (its robust tag), @p pid the dead process.
 */
typedef void (*mmrt_robust_fly_fn)(uint64_t *fly, int spin_word,
	int32_t pid);
/** @internal Set the function above (one; lib/mm's constructor). */
void mmrt_robust_fly_register(mmrt_robust_fly_fn fn);

/**
 * @internal The record of thread index @p ti of process slot @p slot, for
 * a reclaim step (mmrt_reap_register()) of a dead process: valid until
 * the slot is attached again, after every step. NULL if out of range.
 */
uint64_t *mmrt_robust_fly_of(unsigned int slot, unsigned int ti);
/** @internal Thread records per process slot (mmrt_robust_fly_of()). */
unsigned int mmrt_robust_fly_threads(void);

/** @internal 64-bit words of a thread's pool record. */
#define MMRT_ROBUST_MEM_WORDS 8

/**
 * @internal The pool's record (lib/mem/pool.c): the calling thread's
 * MMRT_ROBUST_MEM_WORDS words in shared memory, where the frame pool
 * notes the allocation or free it is in the middle of, so that
 * mmrt_reap_dead() can finish or undo it if the process dies there.
 * NULL as for mmrt_robust_fly(). Records are zero when a process
 * attaches.
 */
uint64_t *mmrt_robust_mem(void);

/**
 * @internal Set the reclaim of a dead thread's pool record (one; lib/mem's
 * constructor). mmrt_reap_dead() runs it for every thread of a dead
 * process before the frames-in-flight one (mmrt_robust_fly_register()):
 * a frame the pool was writing into a caller's record is then either in
 * the pool or allocated, never in between.
 */
void mmrt_robust_mem_register(mmrt_robust_fly_fn fn);

#ifdef MMRT_TEST_HOOKS
/**
 * @internal Test builds only (-Dtest_hooks=true; never declared, compiled
 * or exported in a production build): allocation-failure injection.
 *
 * Every allocation site of the runtime (frames and page-table pages from
 * the pool, rte_malloc/rte_zmalloc/rte_realloc, rings, gather batches,
 * device TLBs, uffd contexts) asks mmrt_test_alloc_fail() first. Arm
 * with mmrt_test_fail_alloc_after(n): the next n sites succeed, the one
 * after them fails as if memory were exhausted (rte_errno ENOMEM), and
 * the sites after that succeed again (one failure per arming). n < 0
 * disarms. Process-wide; atomic, so any thread may pass a site, but a
 * sweep is meaningful only when one thread allocates.
 */
void mmrt_test_fail_alloc_after(int64_t n);

/** @internal Test builds only: mmrt_test_reap_skip() steps. */
#define MMRT_TEST_REAP_SKIP_QSBR (1u << 0)  /**< dead readers keep their slots */
#define MMRT_TEST_REAP_SKIP_QUARANTINE (1u << 1) /**< a dead owner's fence
						   * holds no frame */
#define MMRT_TEST_REAP_SKIP_LOCKS (1u << 2) /**< locks a dead process held
					      * are not released */
#define MMRT_TEST_REAP_SKIP_FLY (1u << 3) /**< frames a dead process held
					    * in flight are not returned */
#define MMRT_TEST_REAP_SKIP_POOL (1u << 4) /**< a dead thread's pool
					     * operation is left as it is */
#define MMRT_TEST_REAP_SKIP_WAITERS (1u << 5) /**< a uffd's destroy keeps
						* the waits of dead
						* processes */

/**
 * @internal Test builds only: negative controls of mmrt_reap_dead().
 * Skip the reclaim steps in @p steps (MMRT_TEST_REAP_SKIP_*) in this
 * process from now on; 0 restores them. Not thread-safe against a
 * running reclaim.
 */
void mmrt_test_reap_skip(uint32_t steps);


/** @internal Test builds only: mmrt_test_lock_kill() moments. */
enum mmrt_test_lock_at {
	MMRT_TEST_LOCK_AT_HELD = 0,  /**< taken and recorded held */
	MMRT_TEST_LOCK_AT_WAITING,   /**< recorded pending, not taken (a
				      *   writer: with its wait bit set) */
	MMRT_TEST_LOCK_AT_TAKEN,     /**< the lock word changed, the record
				      *   still pending (a read: its tag
				      *   still in the word) */
	MMRT_TEST_LOCK_AT_RELEASING, /**< the lock word released, the record
				      *   not cleared yet (a read: its tag
				      *   still in the word) */
	MMRT_TEST_LOCK_AT_N,
};

/** @internal Or-ed into mmrt_test_lock_kill()'s moment: write locks only. */
#define MMRT_TEST_LOCK_WRITE_ONLY 0x100u

/**
 * @internal Test builds only: the calling process raises SIGKILL at the
 * @p nth (1 for the first) robust acquisition (or release) of a lock of
 * class @p cls (lib/mm/mm_locking.h's enum mm_lock_class; 0: any class)
 * at moment @p at (MMRT_TEST_LOCK_AT_*, or-ed with
 * MMRT_TEST_LOCK_WRITE_ONLY to count write-held rwlocks only), from now
 * on. @p nth 0 disarms. Only secondaries
 * (mmrt_robust_locks) pass these points.
 * @return 0, or -EINVAL (@p at out of range).
 */
int mmrt_test_lock_kill(unsigned int cls, unsigned int at, uint32_t nth);

/**
 * @internal Test builds only: locks of dead processes this process
 * released in mmrt_reap_dead(), ever.
 */
uint64_t mmrt_test_locks_reaped(void);

/**
 * @internal Test builds only: the calling process raises SIGKILL at the
 * @p nth (1 for the first) step of a journalled edit of kind @p op (0:
 * any) it records (mmrt_robust_edit_journal(): secondaries), after the
 * step is journalled and before its stores. @p nth 0 disarms.
 */
void mmrt_test_edit_kill(uint32_t op, uint32_t nth);

/**
 * @internal Test builds only: a journalled edit of kind @p op is at a
 * step (core_robust.h's core_edit_step()): the point
 * mmrt_test_edit_kill() arms.
 */
void mmrt_test_edit_step(uint32_t op);

/**
 * @internal Test builds only: journal the calling process's edits in
 * @p j (in memory a test's other process can read, e.g. a MAP_SHARED
 * mapping), recording or not (a primary too); NULL restores the robust
 * records. Not thread-safe against running edits.
 */
void mmrt_test_edit_force(struct mmrt_robust_edit *j);

/** @internal Test builds only: the journal mmrt_test_edit_force() set. */
struct mmrt_robust_edit *mmrt_test_edit_forced(void);

/**
 * @internal Test builds only: finish the edit @p j as a reaper does (the
 * repair of its kind in this process), then clear it.
 * @return 0, -ENOENT (no edit), -ENOTSUP (no repair of that kind here).
 */
int mmrt_test_edit_repair(struct mmrt_robust_edit *j);


/** @internal Test builds only: the steps mmrt_test_reap_skip() set. */
uint32_t mmrt_test_reap_skipped(void);

/**
 * @internal Test builds only: allocation sites passed since the last
 * mmrt_test_fail_alloc_after() (the failing one included), and in
 * @p failed (if not NULL) whether the armed failure happened.
 */
uint64_t mmrt_test_alloc_sites(bool *failed);

/**
 * @internal Test builds only: called by each allocation site. @return
 * true (with rte_errno ENOMEM) if this allocation must fail.
 */
bool mmrt_test_alloc_fail(void);

/**
 * @internal Test builds only: the lock-order check (lib/mm/mm_locking.h,
 * through CORE_LOCK_ACQUIRE() and its siblings in lib/core's
 * core_testhooks.h). The calling thread is about to take a lock of class
 * @p cls (> 0; 0 is ignored), @p name for the message, at @p file:@p line.
 * If it holds a lock of a class above @p cls, or of @p cls itself unless
 * @p nested (the second lock of a same-class pair taken in the pair's
 * documented order), it logs both classes and where each was taken, and
 * aborts. Per thread; never waits.
 */
void mmrt_test_lock_acquire(unsigned int cls, const char *name, bool nested,
	const char *file, int line);

/**
 * @internal Test builds only: the calling thread took a lock of class
 * @p cls with a try-lock (not checked: a try cannot wait, so it cannot
 * close a cycle); later acquisitions are checked against it.
 */
void mmrt_test_lock_tried(unsigned int cls, const char *name,
	const char *file, int line);

/**
 * @internal Test builds only: the calling thread releases its most recent
 * lock of class @p cls (a class it does not hold is ignored: a lock taken
 * over from a dead process, say).
 */
void mmrt_test_lock_release(unsigned int cls);
#endif

/**
 * @internal
 * Happens-before edges ThreadSanitizer cannot see, for mmrt's own engines
 * and programs. DPDK's EAL is not instrumented: a worker lcore's return
 * reaches rte_eal_wait_lcore() through EAL's own atomics, so a TSan build
 * would report every result the main lcore reads after the wait. The
 * worker releases a token as its last step (MMRT_TSAN_RELEASE), the
 * waiter acquires it after the wait (MMRT_TSAN_ACQUIRE). No-ops in other
 * builds.
 */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MMRT_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define MMRT_TSAN 1
#endif

#ifdef MMRT_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
/** @internal Mark a release edge TSan cannot see (see above). */
#define MMRT_TSAN_RELEASE(addr) __tsan_release((void *)(addr))
/** @internal Mark the acquire edge paired with MMRT_TSAN_RELEASE(). */
#define MMRT_TSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
#else
#define MMRT_TSAN_RELEASE(addr) do { } while (0)
#define MMRT_TSAN_ACQUIRE(addr) do { } while (0)
#endif

#ifdef __cplusplus
}
#endif

#endif /* MMRT_CORE_H */
