/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Runtime bring-up and tear-down.
 *
 * Runtime states, by the predicates that define them:
 *   down:     !core_up && !core_eal_dead
 *   starting: !core_up, inside mmrt_init()/mmrt_attach() (QSBR domain and
 *             configuration exist, subsystem init steps are running)
 *   up:       core_up
 *   dead:     core_eal_dead (mmrt_init() ran the EAL and it was cleaned up
 *             again; DPDK cannot bring it back in this process)
 * Transitions:
 *   down -> starting -> up:   mmrt_init() or mmrt_attach() succeeds
 *   starting -> down:         an init step fails after mmrt_attach()
 *   starting -> dead:         an init step fails after mmrt_init()
 *   up -> down:               mmrt_fini() after mmrt_attach()
 *   up -> dead:               mmrt_fini() after mmrt_init()
 * All transitions happen on the one thread that calls init/fini (the API
 * says these are not thread-safe); core_up is read with acquire by
 * mmrt_is_up() and written with release once everything it guards is set.
 */

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_memzone.h>

#include "mmrt_core.h"
#include "core_priv.h"
#include "core_testhooks.h"

RTE_LOG_REGISTER(mmrt_logtype_core, lib.mmrt.core, NOTICE);

#define MMRT_SUBSYS_MAX 16
/* Embedded default: EAL memory is at least this, and pool + headroom. */
#define CORE_EMBED_MEM_MB 512
#define CORE_EMBED_HEADROOM_MB 128

static struct mmrt_subsys core_subsys[MMRT_SUBSYS_MAX];
static unsigned int core_nsubsys;
static unsigned int core_ninit; /* subsystems (sorted) whose init ran */

static struct mmrt_config core_cfg;
static int core_up;
static bool core_eal_ours;  /* mmrt_init() ran rte_eal_init() */
static bool core_eal_dead;  /* ... and rte_eal_cleanup() since */
static bool core_embedded;  /* ... with the embedded default's arguments */

struct core_shared *core_sh;
static const struct rte_memzone *core_sh_mz; /* the primary's, to free */

/*
 * Processes
 * ---------
 * The primary's mmrt_init()/mmrt_attach() makes the shared state
 * (CORE_SHARED_MZ) and publishes it by a release store of its magic; a
 * secondary's looks it up, checks the magic with acquire and uses the
 * primary's configuration. Every process claims the lcore ids it has
 * enabled in core_sh->lcore_pid: the pool's per-lcore caches, the
 * gather's per-lcore batches and DPDK's own per-lcore state are indexed
 * by lcore id, and two processes on one id would both write its slot
 * without synchronisation. A slot held by a process that no longer
 * exists is taken over.
 *
 * Liveness. Every process also takes a slot of core_sh->procs (state
 * machine in core_priv.h) with its pid and its start time from
 * /proc/<pid>/stat, so that a reused pid is not taken for the process
 * that attached. A process is dead when /proc/<pid> is gone, says it is
 * a zombie (a SIGKILLed child its parent has not waited for yet: its
 * memory is gone all the same), or gives another start time. kill(pid,
 * 0) alone would keep a zombie alive. DPDK's multi-process channel
 * would tell only processes that answer; a lease would need every
 * poller to renew it; /proc needs nothing of the watched process.
 *
 * Reclaim (mmrt_reap_dead()): one reaper per dead process (CAS of its
 * reaper word; a reaper that dies is replaced), which frees, in order:
 *   0. the locks it held when it died (core_robust.c), for every dead
 *      process the reaper claimed before any step below;
 *   1. its QSBR reader slots (core_qsbr_reap_pid()): lock-free, first,
 *      so that the later steps' grace periods do not wait for it;
 *   2. what each subsystem holds for it (mmrt_reap_register(), last
 *      subsystem first): lib/dev fences its consumers (quarantine),
 *      unbinds them (drops the quarantine: the dead owner uses no
 *      translation) and destroys them; lib/mm makes the userfaults its
 *      handlers had read unread again;
 *   3. its lcore ids;
 *   4. its process slot (pid stored 0 last, with release).
 * Every step is idempotent, so a replacing reaper redoes them.
 */

/* /proc/<pid>/stat: the state letter and the start time; false if gone. */
static bool
core_proc_stat(int32_t pid, char *state, uint64_t *start)
{
	char path[64], buf[512], *p;
	unsigned long long st = 0;
	unsigned int field;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return false;
	n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* the command name may hold anything: fields start after its ')' */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ' || p[2] == '\0')
		return false;
	*state = p[2];
	/* field 3 is the state; the start time is field 22 */
	p += 3;
	for (field = 3; field < 22 && p != NULL; field++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	if (p != NULL)
		st = strtoull(p, NULL, 10);
	*start = st;
	return true;
}

bool
core_pid_alive(int32_t pid)
{
	uint64_t start;
	char state;

	if (pid <= 0)
		return false;
	if (!core_proc_stat(pid, &state, &start))
		/* no /proc: kill() tells existence (a zombie counts alive) */
		return kill(pid, 0) == 0 || errno != ESRCH;
	return state != 'Z' && state != 'X' && state != 'x';
}

/* Is the process of slot @p (pid != 0) dead? */
static bool
core_proc_dead(const struct core_proc *p)
{
	int32_t pid = __atomic_load_n(&p->pid, __ATOMIC_ACQUIRE);
	uint64_t want = __atomic_load_n(&p->start, __ATOMIC_ACQUIRE), start;
	char state;

	if (pid <= 0)
		return false;
	if (!core_proc_stat(pid, &state, &start))
		return kill(pid, 0) != 0 && errno == ESRCH;
	if (state == 'Z' || state == 'X' || state == 'x')
		return true;
	return want != 0 && start != want;
}

static int core_proc_me = -1; /* this process's slot in core_sh->procs */

/* Take a process slot; -ENOSPC if MMRT_PROC_MAX processes are attached. */
static int
core_proc_claim(void)
{
	int32_t me = (int32_t)getpid(), cur;
	uint64_t start = 0;
	unsigned int i;
	char state;

	core_proc_stat(me, &state, &start);
	for (i = 0; i < MMRT_PROC_MAX; i++) {
		cur = 0;
		if (!__atomic_compare_exchange_n(&core_sh->procs[i].pid, &cur,
				me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		__atomic_store_n(&core_sh->procs[i].reaper, 0,
			__ATOMIC_RELAXED);
		__atomic_store_n(&core_sh->procs[i].start, start,
			__ATOMIC_RELEASE);
		core_proc_me = (int)i;
		return 0;
	}
	MMRT_LOG(ERR, core, "%u processes attached already (or dead ones"
		" not reaped: mmrt_reap_dead())", MMRT_PROC_MAX);
	return -ENOSPC;
}

static void
core_proc_release(void)
{
	struct core_proc *p;

	if (core_proc_me < 0 || core_sh == NULL)
		return;
	p = &core_sh->procs[core_proc_me];
	__atomic_store_n(&p->start, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&p->pid, 0, __ATOMIC_RELEASE);
	core_proc_me = -1;
}

int
mmrt_process_slot(void)
{
	return core_proc_me;
}

int32_t
mmrt_process_slot_pid(int slot)
{
	if (core_sh == NULL || slot < 0 || slot >= MMRT_PROC_MAX)
		return 0;
	return __atomic_load_n(&core_sh->procs[slot].pid, __ATOMIC_ACQUIRE);
}

bool
mmrt_process_slot_gone(int slot, int32_t pid)
{
	if (core_sh == NULL || slot < 0 || slot >= MMRT_PROC_MAX)
		return true;
	return __atomic_load_n(&core_sh->procs[slot].pid,
		__ATOMIC_ACQUIRE) != pid || core_proc_dead(&core_sh->procs[slot]);
}

bool
mmrt_process_alive(int32_t pid)
{
	unsigned int i;

	if (pid <= 0)
		return false;
	if (core_sh != NULL)
		for (i = 0; i < MMRT_PROC_MAX; i++)
			if (__atomic_load_n(&core_sh->procs[i].pid,
					__ATOMIC_ACQUIRE) == pid)
				return !core_proc_dead(&core_sh->procs[i]);
	return core_pid_alive(pid);
}

/* Release the lcore ids this process claimed. */
static void
core_lcores_release(void)
{
	int32_t me = (int32_t)getpid(), cur;
	unsigned int i;

	for (i = 0; i < RTE_MAX_LCORE; i++) {
		cur = me;
		__atomic_compare_exchange_n(&core_sh->lcore_pid[i], &cur, 0,
			false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	}
}

/* Claim every lcore id enabled in this process; -EBUSY if one is taken. */
static int
core_lcores_claim(void)
{
	int32_t me = (int32_t)getpid(), cur;
	unsigned int i;

	RTE_LCORE_FOREACH(i) {
		cur = __atomic_load_n(&core_sh->lcore_pid[i], __ATOMIC_ACQUIRE);
		for (;;) {
			if (cur == me)
				break;
			if (cur != 0 && core_pid_alive(cur)) {
				MMRT_LOG(ERR, core, "lcore %u is used by process"
					" %d of this runtime: give every DPDK"
					" process its own lcore ids (-l, or"
					" --lcores=<id>@<cpu> to put another id"
					" on the same cpu)", i, (int)cur);
				core_lcores_release();
				return -EBUSY;
			}
			if (__atomic_compare_exchange_n(&core_sh->lcore_pid[i],
					&cur, me, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
				break;
		}
	}
	return 0;
}

/* Processes other than this one holding lcore ids of the runtime. */
static unsigned int
core_lcores_others(void)
{
	int32_t me = (int32_t)getpid(), cur;
	unsigned int i, n = 0;

	for (i = 0; i < RTE_MAX_LCORE; i++) {
		cur = __atomic_load_n(&core_sh->lcore_pid[i], __ATOMIC_ACQUIRE);
		if (cur != 0 && cur != me && core_pid_alive(cur))
			n++;
	}
	return n;
}

/*
 * Make (primary) or find (secondary) the shared state; in a secondary
 * @p cfg becomes the primary's configuration.
 */
static int
core_shared_up(struct mmrt_config *cfg)
{
	const struct rte_memzone *mz;
	struct core_shared *sh;

	if (rte_eal_process_type() == RTE_PROC_PRIMARY) {
		mz = TEST_ALLOC_FAIL() ? NULL :
			rte_memzone_reserve(CORE_SHARED_MZ, sizeof(*sh),
			SOCKET_ID_ANY, 0);
		if (mz == NULL) {
			MMRT_LOG(ERR, core, "shared state %s: %s",
				CORE_SHARED_MZ, rte_strerror(rte_errno));
			return rte_errno == EEXIST ? -EEXIST : -ENOMEM;
		}
		sh = mz->addr;
		memset(sh, 0, sizeof(*sh));
		sh->cfg = *cfg;
		core_sh_mz = mz;
		core_sh = sh;
		return 0;
	}
	mz = rte_memzone_lookup(CORE_SHARED_MZ);
	sh = mz != NULL ? mz->addr : NULL;
	if (sh == NULL ||
	    __atomic_load_n(&sh->magic, __ATOMIC_ACQUIRE) != CORE_SHARED_MAGIC) {
		MMRT_LOG(ERR, core, "secondary: the primary of %s runs no"
			" mmrt runtime (no %s memzone): bring mmrt up in the"
			" primary first", rte_eal_get_runtime_dir(),
			CORE_SHARED_MZ);
		return -ENOENT;
	}
	*cfg = sh->cfg;
	core_sh = sh;
	return 0;
}

static void
core_shared_down(void)
{
	if (core_sh == NULL)
		return;
	core_lcores_release();
	core_robust_stop();
	core_proc_release();
	if (core_sh_mz != NULL) {
		__atomic_store_n(&core_sh->magic, 0, __ATOMIC_RELEASE);
		rte_memzone_free(core_sh_mz);
		core_sh_mz = NULL;
	}
	core_sh = NULL;
}

/* Reclaim steps (mmrt_reap_register()), by descending order. */
#define CORE_REAP_MAX 8
static struct {
	const char *name;
	unsigned int order;
	mmrt_reap_fn_t fn;
} core_reaps[CORE_REAP_MAX];
static unsigned int core_nreap;

int
mmrt_reap_register(const char *name, unsigned int order, mmrt_reap_fn_t fn)
{
	unsigned int j;

	if (name == NULL || fn == NULL)
		return -EINVAL;
	if (core_nreap == CORE_REAP_MAX)
		return -ENOSPC;
	for (j = core_nreap; j > 0 && core_reaps[j - 1].order < order; j--)
		core_reaps[j] = core_reaps[j - 1];
	core_reaps[j].name = name;
	core_reaps[j].order = order;
	core_reaps[j].fn = fn;
	core_nreap++;
	return 0;
}

/* Free the lcore ids of dead process @pid. */
static void
core_lcores_reap(int32_t pid)
{
	unsigned int i;
	int32_t cur;

	for (i = 0; i < RTE_MAX_LCORE; i++) {
		cur = pid;
		__atomic_compare_exchange_n(&core_sh->lcore_pid[i], &cur, 0,
			false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	}
}

/* Reclaim dead process slot @i (pid @pid): the steps at the top. */
static void
core_reap_one(unsigned int i, int32_t pid)
{
	struct core_proc *p = &core_sh->procs[i];
	unsigned int k, slots;
	int ret, total = 0;

	slots = core_qsbr_reap_pid(pid);
	for (k = 0; k < core_nreap; k++) {
		ret = core_reaps[k].fn(pid, i);
		if (ret < 0)
			MMRT_LOG(ERR, core, "dead process %d: reclaim in %s: %s",
				(int)pid, core_reaps[k].name, strerror(-ret));
		else
			total += ret;
	}
	core_lcores_reap(pid);
	MMRT_LOG(NOTICE, core, "dead process %d reclaimed: %u reader slots,"
		" %d objects", (int)pid, slots, total);
	__atomic_fetch_add(&core_sh->reaped, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&p->start, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&p->reaper, 0, __ATOMIC_RELAXED);
	/* Release: the steps above happen before the slot's next claim. */
	__atomic_store_n(&p->pid, 0, __ATOMIC_RELEASE);
}

/*
 * Reclaim every dead process; @return how many. Up, or starting.
 * Every dead slot is claimed first and the locks of all of them released
 * (core_robust.c) before any other reclaim step runs: a dead reaper may
 * hold a lock (pin->lock, a map lock) that the steps for the process it
 * was reaping take.
 */
static int
core_reap_dead(void)
{
	int32_t me = (int32_t)getpid(), pid, r, pids[MMRT_PROC_MAX];
	unsigned int i, k, n = 0, slots[MMRT_PROC_MAX];
	struct core_proc *p;

	for (i = 0; i < MMRT_PROC_MAX; i++) {
		p = &core_sh->procs[i];
		pid = __atomic_load_n(&p->pid, __ATOMIC_ACQUIRE);
		if (pid == 0 || pid == me || !core_proc_dead(p))
			continue;
		/* one reaper; a dead one is replaced */
		r = __atomic_load_n(&p->reaper, __ATOMIC_ACQUIRE);
		if (r == me || (r != 0 && core_pid_alive(r)))
			continue;
		if (!__atomic_compare_exchange_n(&p->reaper, &r, me, false,
				__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		/* the slot may have been freed and taken since the load */
		if (__atomic_load_n(&p->pid, __ATOMIC_ACQUIRE) != pid ||
				!core_proc_dead(p)) {
			__atomic_store_n(&p->reaper, 0, __ATOMIC_RELEASE);
			continue;
		}
		slots[n] = i;
		pids[n++] = pid;
	}
	for (k = 0; k < n; k++)
		core_robust_reap(slots[k], pids[k]);
	for (k = 0; k < n; k++)
		core_reap_one(slots[k], pids[k]);
	return (int)n;
}

int
mmrt_reap_dead(void)
{
	if (!__atomic_load_n(&core_up, __ATOMIC_ACQUIRE) || core_sh == NULL)
		return -ENODEV;
	return core_reap_dead();
}

int
mmrt_subsys_register(const struct mmrt_subsys *ss)
{
	if (ss == NULL || ss->init == NULL)
		return -EINVAL;
	if (__atomic_load_n(&core_up, __ATOMIC_ACQUIRE))
		return -EALREADY;
	if (core_nsubsys == MMRT_SUBSYS_MAX)
		return -ENOSPC;
	core_subsys[core_nsubsys++] = *ss;
	return 0;
}

/* Stable insertion sort by order: equal orders keep registration order. */
static void
core_subsys_sort(void)
{
	struct mmrt_subsys tmp;
	unsigned int i, j;

	for (i = 1; i < core_nsubsys; i++) {
		tmp = core_subsys[i];
		for (j = i; j > 0 && core_subsys[j - 1].order > tmp.order; j--)
			core_subsys[j] = core_subsys[j - 1];
		core_subsys[j] = tmp;
	}
}

/* Run fini of the first @p n initialised subsystems, last first. */
static void
core_subsys_unwind(unsigned int n)
{
	int ret;

	while (n > 0) {
		n--;
		if (core_subsys[n].fini == NULL)
			continue;
		ret = core_subsys[n].fini();
		if (ret < 0)
			MMRT_LOG(ERR, core, "unwinding %s: %s",
				core_subsys[n].name, strerror(-ret));
	}
}

/* Everything after the EAL: QSBR, topology, subsystems. */
static int
core_start(const struct mmrt_config *cfg)
{
	bool primary = rte_eal_process_type() == RTE_PROC_PRIMARY;
	unsigned int i;
	int ret;

	core_cfg = *cfg;
	ret = core_shared_up(&core_cfg);
	if (ret < 0)
		return ret;
	ret = core_proc_claim();
	if (ret == 0) {
		/* a secondary's locks are recorded from its first one on */
		core_robust_start(core_proc_me, !primary);
		ret = core_lcores_claim();
	}
	if (ret < 0) {
		core_shared_down();
		return ret;
	}
	ret = primary ? core_qsbr_create(core_cfg.max_threads) :
		core_qsbr_join();
	if (ret < 0) {
		MMRT_LOG(ERR, core, "QSBR domain: %s", strerror(-ret));
		core_shared_down();
		return ret;
	}
	ret = core_topo_init();
	if (ret < 0) {
		core_qsbr_destroy();
		core_shared_down();
		return ret;
	}

	core_subsys_sort();
	for (i = 0; i < core_nsubsys; i++) {
		ret = core_subsys[i].init(&core_cfg);
		if (ret < 0) {
			MMRT_LOG(ERR, core, "init of %s failed: %s",
				core_subsys[i].name, strerror(-ret));
			core_subsys_unwind(i);
			core_topo_fini();
			core_qsbr_destroy();
			core_shared_down();
			return ret;
		}
		MMRT_LOG(DEBUG, core, "%s up", core_subsys[i].name);
	}
	core_ninit = core_nsubsys;
	/* secondaries find the runtime from here on */
	if (primary)
		__atomic_store_n(&core_sh->magic, CORE_SHARED_MAGIC,
			__ATOMIC_RELEASE);
	__atomic_store_n(&core_up, 1, __ATOMIC_RELEASE);
	/* a restarted process cleans up after the one it replaces */
	if (!primary)
		core_reap_dead();
	return 0;
}

/*
 * The level of every mmrt log type, registered or not yet: lib.mmrt.* and
 * pmd.dma.mmrt.* (a pattern also applies to later registrations).
 * mmrt_init() sets it before the EAL parses its --log-level options, so
 * those come later and win for the types they name.
 */
static void
core_log_level(const struct mmrt_config *cfg)
{
	rte_log_set_level_pattern("*.mmrt*", cfg->log_level);
}

/*
 * mmrt's options after "--". Keep in step with mmrt_init()'s doc and
 * mmrt_usage().
 */
enum core_opt_id {
	CORE_OPT_CONFIG,
	CORE_OPT_POOL_MB,
	CORE_OPT_LOG_LEVEL,
	CORE_OPT_HELP,
	CORE_OPT_N,
};

static const struct {
	const char *name; /* without the leading "--" */
	const char *arg;  /* name of the value, NULL for a flag */
	const char *help;
} core_opt_tab[CORE_OPT_N] = {
	[CORE_OPT_CONFIG] = { "config", "FILE",
		"INI configuration file (keys as in config/default.ini)" },
	[CORE_OPT_POOL_MB] = { "pool-mb", "N",
		"frame pool size in MiB, 4..65536 (mem.pool_mb)" },
	[CORE_OPT_LOG_LEVEL] = { "log-level", "N",
		"level of the *.mmrt* log types, 1 (emerg) .. 8 (debug)"
		" (core.log_level)" },
	[CORE_OPT_HELP] = { "mmrt-help", NULL,
		"print these options and exit" },
};

/* Values found on the command line (NULL: not given). */
struct core_opts {
	const char *val[CORE_OPT_N];
};

void
mmrt_usage(FILE *out)
{
	char left[32];
	unsigned int i;

	if (out == NULL)
		out = stdout;
	fprintf(out, "mmrt options, after \"--\" (a further \"--\" ends them;"
		" other words are left to the application):\n");
	for (i = 0; i < CORE_OPT_N; i++) {
		snprintf(left, sizeof(left), "--%s%s%s", core_opt_tab[i].name,
			core_opt_tab[i].arg != NULL ? " " : "",
			core_opt_tab[i].arg != NULL ? core_opt_tab[i].arg : "");
		fprintf(out, "  %-18s %s\n", left, core_opt_tab[i].help);
	}
	fprintf(out, "Values may also be given as --name=value. Without a"
		" memory option among the EAL\narguments (-m, --socket-mem,"
		" --no-huge, --in-memory, --huge-dir, --legacy-mem,\n"
		"--proc-type, --file-prefix, ...) mmrt's embedded default"
		" applies and the EAL\narguments given are added to it.\n");
}

static int
core_opt_find(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < CORE_OPT_N; i++)
		if (strlen(core_opt_tab[i].name) == len &&
		    strncmp(core_opt_tab[i].name, name, len) == 0)
			return i;
	return -1;
}

/*
 * mmrt's option that "--name" most likely misspells, or -1: an
 * abbreviation of at least three letters, or two edits or fewer away.
 */
static int
core_opt_near(const char *name, size_t len)
{
	unsigned int i;
	size_t olen;

	for (i = 0; i < CORE_OPT_N; i++) {
		olen = strlen(core_opt_tab[i].name);
		if (len >= 3 && len < olen &&
		    strncmp(core_opt_tab[i].name, name, len) == 0)
			return i;
		if (len >= 4 && core_edit_distance(name, len,
		    core_opt_tab[i].name, olen) <= 2)
			return i;
	}
	return -1;
}

/*
 * Find mmrt's options among w[0..m-1], the words after the first "--".
 * Only the words before a further "--" are looked at; mmrt's options may
 * stand anywhere among them, every other word is the application's. A
 * "--word" that is close to one of mmrt's names is an error, so a typo
 * does not pass silently to the application. The further "--" is mmrt's
 * too if no application word stands before it.
 * take[i] is set for every word that is mmrt's; nothing else is written.
 * @return number of words taken, or -EINVAL.
 */
static int
core_parse_opts(int m, char **w, struct core_opts *o, unsigned char *take)
{
	const char *name, *eq;
	bool app_seen = false;
	int i, k, end, n = 0;
	size_t len;

	for (end = 0; end < m && strcmp(w[end], "--") != 0; end++)
		;
	for (i = 0; i < end; i++) {
		if (strncmp(w[i], "--", 2) != 0) {
			app_seen = true;
			continue;
		}
		name = w[i] + 2;
		eq = strchr(name, '=');
		len = eq != NULL ? (size_t)(eq - name) : strlen(name);
		k = core_opt_find(name, len);
		if (k < 0) {
			k = core_opt_near(name, len);
			if (k >= 0) {
				MMRT_LOG(ERR, core,
					"unknown option --%.*s: did you mean"
					" --%s? (see --mmrt-help; put the"
					" application's options after a"
					" further \"--\")", (int)len, name,
					core_opt_tab[k].name);
				return -EINVAL;
			}
			app_seen = true;
			continue;
		}
		take[i] = 1;
		n++;
		if (core_opt_tab[k].arg == NULL) {
			if (eq != NULL) {
				MMRT_LOG(ERR, core, "option --%s takes no value",
					core_opt_tab[k].name);
				return -EINVAL;
			}
			o->val[k] = "";
			continue;
		}
		if (eq != NULL) {
			o->val[k] = eq + 1;
			continue;
		}
		if (i + 1 >= end) {
			MMRT_LOG(ERR, core, "option --%s needs a value (%s)",
				core_opt_tab[k].name, core_opt_tab[k].arg);
			return -EINVAL;
		}
		take[++i] = 1;
		n++;
		o->val[k] = w[i];
	}
	if (end < m && !app_seen) {
		take[end] = 1;
		n++;
	}
	return n;
}

/* Move the words marked in @p take to the front of w[0..m-1], both groups
 * keeping their order (as getopt permutes). */
static void
core_take_front(int m, char **w, const unsigned char *take)
{
	char *t;
	int i, j = 0;

	for (i = 0; i < m; i++) {
		if (!take[i])
			continue;
		t = w[i];
		memmove(&w[j + 1], &w[j], (size_t)(i - j) * sizeof(*w));
		w[j++] = t;
	}
}

/* Built-in defaults, the configuration file, then command-line values. */
static int
core_build_config(const struct core_opts *o, struct mmrt_config *cfg)
{
	const char *file = o->val[CORE_OPT_CONFIG];
	int ret;

	mmrt_config_defaults(cfg);
	if (file != NULL) {
		ret = mmrt_config_load(file, cfg);
		if (ret < 0) {
			/* -EINVAL was already logged with the key at fault. */
			if (ret != -EINVAL)
				MMRT_LOG(ERR, core, "configuration %s: %s",
					file, strerror(-ret));
			return ret;
		}
	}
	if (o->val[CORE_OPT_POOL_MB] != NULL &&
	    core_config_set(cfg, "mem", "pool_mb",
		o->val[CORE_OPT_POOL_MB]) < 0)
		return -EINVAL;
	if (o->val[CORE_OPT_LOG_LEVEL] != NULL &&
	    core_config_set(cfg, "core", "log_level",
		o->val[CORE_OPT_LOG_LEVEL]) < 0)
		return -EINVAL;
	return 0;
}

/*
 * EAL options that choose the EAL's memory or its process model: with
 * one of them on the command line the user chose where memory comes from,
 * and the embedded default (--no-huge, no shared files) does not apply.
 */
static const char *const core_mem_opts[] = {
	"socket-mem", "socket-limit", "no-huge", "in-memory", "huge-dir",
	"huge-unlink", "legacy-mem", "single-file-segments",
	"match-allocations", "proc-type", "file-prefix",
};

/* Whether "--name[=v]" or "-x..." is @p lname (or getopt's abbreviation
 * of it, at least four letters) or the short option @p sname. */
static bool
core_eal_opt_is(const char *word, const char *lname, char sname)
{
	size_t len;

	if (word[0] != '-')
		return false;
	if (word[1] != '-')
		return sname != '\0' && word[1] == sname;
	word += 2;
	len = strcspn(word, "=");
	if (lname == NULL || len == 0 || len > strlen(lname))
		return false;
	return strncmp(word, lname, len) == 0 &&
		(len == strlen(lname) || len >= 4);
}

static bool
core_eal_has(int n, char **w, const char *lname)
{
	int i;

	for (i = 0; i < n; i++)
		if (core_eal_opt_is(w[i], lname, '\0'))
			return true;
	return false;
}

static bool
core_eal_names_memory(int n, char **w)
{
	unsigned int j;
	int i;

	for (i = 0; i < n; i++) {
		if (core_eal_opt_is(w[i], NULL, 'm'))
			return true;
		for (j = 0; j < RTE_DIM(core_mem_opts); j++)
			if (core_eal_opt_is(w[i], core_mem_opts[j], '\0'))
				return true;
	}
	return false;
}

static bool
core_eal_names_lcores(int n, char **w)
{
	int i;

	for (i = 0; i < n; i++)
		if (core_eal_opt_is(w[i], "lcores", 'l') ||
		    core_eal_opt_is(w[i], NULL, 'c'))
			return true;
	return false;
}

/*
 * The embedded default's own EAL arguments; they and the argument vector
 * handed to rte_eal_init() live until mmrt_fini().
 */
#define CORE_EMBED_ARGS 12
static char core_embed_mem[16];
static char core_embed_prefix[64];
static char core_embed_lcores[64];
static unsigned int core_embed_count;
static char **core_eal_argv;
/* Runtime directory the embedded default's EAL made; removed at the end. */
static char core_embed_rundir[PATH_MAX];
/* The process that made it (a forked child must not remove it). */
static pid_t core_embed_rundir_pid;

/*
 * Build the embedded default's EAL argv in core_eal_argv: its own
 * arguments, then the user's @p nuser EAL words @p user (and "--" if
 * @p dashes). The default lcores are left out if the user names lcores.
 * @return argc, with *ndef set to the number of default words after
 * argv[0], or -ENOMEM.
 */
static int
core_embed_args(const char *prog, const struct mmrt_config *cfg,
	int nuser, char **user, bool dashes, int *ndef)
{
	const char *lflag;
	cpu_set_t cs;
	int cpus[2], ncpu = 0, c, argc = 0, i;
	unsigned int mb;
	char **v;

	v = TEST_ALLOC_FAIL() ? NULL :
		calloc(CORE_EMBED_ARGS + nuser + 2, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	mb = CORE_EMBED_MEM_MB;
	if (cfg->pool_mb + CORE_EMBED_HEADROOM_MB > mb)
		mb = cfg->pool_mb + CORE_EMBED_HEADROOM_MB;
	snprintf(core_embed_mem, sizeof(core_embed_mem), "%u", mb);
	snprintf(core_embed_prefix, sizeof(core_embed_prefix),
		"--file-prefix=mmrt-%d-%u", (int)getpid(), core_embed_count++);

	/* Lcores 0 and 1 on the first two cpus we may run on. */
	CPU_ZERO(&cs);
	if (sched_getaffinity(0, sizeof(cs), &cs) == 0) {
		for (c = 0; c < CPU_SETSIZE && ncpu < 2; c++)
			if (CPU_ISSET(c, &cs))
				cpus[ncpu++] = c;
	}
	if (ncpu == 0)
		cpus[ncpu++] = 0;
	lflag = "-l";
	if (ncpu == 2 && cpus[0] == 0 && cpus[1] == 1)
		snprintf(core_embed_lcores, sizeof(core_embed_lcores), "0-1");
	else if (ncpu == 1 && cpus[0] == 0)
		snprintf(core_embed_lcores, sizeof(core_embed_lcores), "0");
	else {
		lflag = "--lcores";
		if (ncpu == 2)
			snprintf(core_embed_lcores, sizeof(core_embed_lcores),
				"0@%d,1@%d", cpus[0], cpus[1]);
		else
			snprintf(core_embed_lcores, sizeof(core_embed_lcores),
				"0@%d", cpus[0]);
	}

	v[argc++] = (char *)(uintptr_t)prog;
	v[argc++] = (char *)(uintptr_t)"--no-huge";
	v[argc++] = (char *)(uintptr_t)"-m";
	v[argc++] = core_embed_mem;
	v[argc++] = (char *)(uintptr_t)"--no-pci";
	v[argc++] = (char *)(uintptr_t)"--no-shconf";
	v[argc++] = core_embed_prefix;
	if (!core_eal_names_lcores(nuser, user)) {
		v[argc++] = (char *)(uintptr_t)lflag;
		v[argc++] = core_embed_lcores;
	}
	/* Before the user's words: a --log-level of theirs comes later. */
	v[argc++] = (char *)(uintptr_t)"--log-level=lib.eal:error";
	/* telemetry warns on every start that it made no legacy socket */
	v[argc++] = (char *)(uintptr_t)"--log-level=lib.telemetry:error";
	*ndef = argc - 1;
	for (i = 0; i < nuser; i++)
		v[argc++] = user[i];
	if (dashes)
		v[argc++] = (char *)(uintptr_t)"--";
	v[argc] = NULL;
	core_eal_argv = v;
	return argc;
}

/*
 * The sockets DPDK 22.11's telemetry makes in the runtime directory: the
 * v2 socket (dpdk-telemetry.py) and the legacy one. rte_eal_cleanup()
 * leaves them (telemetry unlinks them from an atexit() handler, and its
 * threads keep running): removed here, so the directory can go. With
 * the socket gone no new client connects.
 */
static const char *const core_tel_sockets[] = {
	"dpdk_telemetry.v2", "telemetry",
};

/*
 * Remove the runtime directory the embedded default's EAL made, once the
 * EAL is gone: the telemetry sockets in it (only sockets of those names),
 * then the directory, with rmdir (empty: --no-shconf). Nothing else is
 * removed: a file we did not expect keeps the directory.
 */
static void
core_embed_rundir_remove(void)
{
	char path[PATH_MAX + 32];
	struct stat sb;
	unsigned int i;

	if (core_embed_rundir[0] == '\0')
		return;
	for (i = 0; i < RTE_DIM(core_tel_sockets); i++) {
		snprintf(path, sizeof(path), "%s/%s", core_embed_rundir,
			core_tel_sockets[i]);
		if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
		    unlink(path) < 0)
			MMRT_LOG(DEBUG, core, "unlink %s: %s", path,
				strerror(errno));
	}
	if (rmdir(core_embed_rundir) < 0 && errno != ENOENT)
		MMRT_LOG(DEBUG, core, "rmdir %s: %s", core_embed_rundir,
			strerror(errno));
	core_embed_rundir[0] = '\0';
}

/*
 * At exit without mmrt_fini() (a DPDK application often just returns
 * from main), the directory goes too, but only in the process that made
 * it: a child forked from it shares the name and must leave it.
 */
static void
core_embed_rundir_atexit(void)
{
	if (getpid() == core_embed_rundir_pid)
		core_embed_rundir_remove();
}

/* Note the EAL runtime directory if it is the embedded default's. */
static void
core_embed_rundir_note(void)
{
	static bool hooked;
	const char *dir = rte_eal_get_runtime_dir();
	const char *prefix = core_embed_prefix + strlen("--file-prefix=");
	const char *base;

	if (dir == NULL || (base = strrchr(dir, '/')) == NULL ||
	    strcmp(base + 1, prefix) != 0)
		return;
	snprintf(core_embed_rundir, sizeof(core_embed_rundir), "%s", dir);
	core_embed_rundir_pid = getpid();
	if (!hooked && atexit(core_embed_rundir_atexit) == 0)
		hooked = true;
}

/* Tear down the EAL that mmrt_init() brought up; it cannot come back. */
static void
core_eal_stop(void)
{
	rte_eal_cleanup();
	core_eal_dead = true;
	core_embed_rundir_remove();
	free(core_eal_argv);
	core_eal_argv = NULL;
}

/* EAL usage (-h, or a bad EAL option) ends with mmrt's options. */
static rte_usage_hook_t core_prev_usage;

static void
core_usage_hook(const char *prog)
{
	if (core_prev_usage != NULL) {
		core_prev_usage(prog);
		printf("\n");
	}
	mmrt_usage(stdout);
}

int
mmrt_init(int argc, char **argv)
{
	struct core_opts opts;
	struct mmrt_config cfg;
	unsigned char *take = NULL;
	char line[512];
	char *prog;
	int dd, n, ndef = 0, eal_argc, eal_ret, ret, i, err;
	size_t len;
	bool embed;

	if (__atomic_load_n(&core_up, __ATOMIC_ACQUIRE) || core_eal_dead ||
	    core_eal_ours)
		return -EALREADY;
	if (argc < 0 || (argc > 0 && argv == NULL))
		return -EINVAL;
	prog = argc > 0 && argv[0] != NULL ? argv[0] : (char *)(uintptr_t)"mmrt";
	memset(&opts, 0, sizeof(opts));

	/* dd: index of the first "--" (argc if none). */
	for (dd = 1; dd < argc; dd++)
		if (strcmp(argv[dd], "--") == 0)
			break;
	n = 0;
	if (dd + 1 < argc) {
		take = TEST_ALLOC_FAIL() ? NULL : calloc(argc - dd - 1, 1);
		if (take == NULL)
			return -ENOMEM;
		n = core_parse_opts(argc - dd - 1, argv + dd + 1, &opts, take);
		if (n < 0) {
			free(take);
			return n;
		}
	}
	if (opts.val[CORE_OPT_HELP] != NULL) {
		/* Like the EAL's --help: print and leave, nothing started. */
		mmrt_usage(stdout);
		free(take);
		exit(EXIT_SUCCESS);
	}
	ret = core_build_config(&opts, &cfg);
	if (ret < 0) {
		free(take);
		return ret;
	}

	/* The embedded default, unless the user chose the EAL's memory. */
	embed = !core_eal_names_memory(dd - 1, argv + 1);
	core_log_level(&cfg);
	core_prev_usage = rte_set_application_usage_hook(core_usage_hook);
	if (embed) {
		eal_argc = core_embed_args(prog, &cfg, dd - 1, argv + 1,
			dd < argc, &ndef);
		if (eal_argc < 0) {
			rte_set_application_usage_hook(core_prev_usage);
			free(take);
			return eal_argc;
		}
		/* Before the EAL permutes its argv. */
		len = 0;
		line[0] = '\0';
		for (i = 1; i < eal_argc && len < sizeof(line); i++)
			len += snprintf(line + len, sizeof(line) - len, "%s%s",
				i > 1 ? " " : "", core_eal_argv[i]);
		ret = rte_eal_init(eal_argc, core_eal_argv);
	} else {
		/* The EAL stops at "--" and returns its index. */
		ret = rte_eal_init(dd < argc ? dd + 1 : argc, argv);
	}
	err = rte_errno;
	rte_set_application_usage_hook(core_prev_usage);
	if (ret < 0) {
		if (embed) {
			core_embed_rundir_note();
			core_embed_rundir_remove();
			free(core_eal_argv);
			core_eal_argv = NULL;
		} else if ((err == EACCES || err == ENOMEM) &&
		    !core_eal_has(dd - 1, argv + 1, "no-huge")) {
			MMRT_LOG(ERR, core, "the EAL found no usable hugepages"
				" (%s): reserve some (dpdk-hugepages.py -p 2M"
				" --setup 1G, or ./mmrt.sh hugepages reserve"
				" 1G), add --no-huge -m <MiB>, or give no"
				" memory option (-m, --socket-mem, --huge-dir,"
				" --file-prefix, ...) so that mmrt's embedded"
				" default (--no-huge) applies", strerror(err));
		}
		free(take);
		return err > 0 ? -err : -EINVAL;
	}
	eal_ret = ret;
	core_eal_ours = true;
	core_embedded = embed;
	if (embed)
		core_embed_rundir_note();

	ret = core_start(&cfg);
	if (ret < 0) {
		core_eal_stop();
		free(take);
		return ret;
	}

	if (embed)
		MMRT_LOG(NOTICE, core, "embedded default in use: %s", line);
	MMRT_LOG(INFO, core, "up: %u lcores, pool %u MiB, config %s",
		rte_lcore_count(), cfg.pool_mb,
		cfg.path[0] != '\0' ? cfg.path : "built-in");

	if (dd >= argc) {
		if (!embed)
			return eal_ret;
		/*
		 * The user's words were permuted by the EAL in our vector
		 * (options first); give the caller the same order.
		 */
		for (i = 1; i < dd; i++)
			argv[i] = core_eal_argv[ndef + i];
		ret = eal_ret - ndef;
		argv[ret] = prog;
		return ret;
	}
	/*
	 * Consumed: the EAL words and "--" (argv[1 .. dd]) plus n mmrt
	 * words, moved to the front; like rte_eal_init(), argv[consumed]
	 * becomes the program name.
	 */
	if (take != NULL)
		core_take_front(argc - dd - 1, argv + dd + 1, take);
	free(take);
	ret = dd + n;
	argv[ret] = prog;
	return ret;
}

int
mmrt_attach(const char *config_file)
{
	struct core_opts opts;
	struct mmrt_config cfg, def;
	int ret;

	if (__atomic_load_n(&core_up, __ATOMIC_ACQUIRE))
		return -EALREADY;
	if (core_eal_dead || rte_lcore_count() == 0)
		return -ENODEV;
	memset(&opts, 0, sizeof(opts));
	opts.val[CORE_OPT_CONFIG] = config_file;
	ret = core_build_config(&opts, &cfg);
	if (ret < 0)
		return ret;
	/* The application's --log-level stays, unless the file says more. */
	mmrt_config_defaults(&def);
	if (cfg.log_level != def.log_level)
		core_log_level(&cfg);
	return core_start(&cfg);
}

int
mmrt_fini(void)
{
	unsigned int i, others;
	bool primary;
	int ret;

	if (!__atomic_load_n(&core_up, __ATOMIC_ACQUIRE))
		return -ENODEV;
	primary = rte_eal_process_type() == RTE_PROC_PRIMARY;
	/* dead secondaries hold nothing that makes the primary wait */
	if (primary)
		core_reap_dead();
	others = core_qsbr_others(primary);
	if (others > 0) {
		MMRT_LOG(ERR, core, "fini: %u threads still registered",
			others);
		return -EBUSY;
	}
	others = primary ? core_lcores_others() : 0;
	if (others > 0) {
		MMRT_LOG(ERR, core, "fini: %u lcores of secondary processes"
			" still attached", others);
		return -EBUSY;
	}

	/* Subsystem fini steps, last first; -EBUSY restores what ran. */
	for (i = core_ninit; i > 0; i--) {
		if (core_subsys[i - 1].fini == NULL)
			continue;
		ret = core_subsys[i - 1].fini();
		if (ret == -EBUSY) {
			MMRT_LOG(ERR, core, "fini: %s busy",
				core_subsys[i - 1].name);
			for (; i < core_ninit; i++)
				if (core_subsys[i].init(&core_cfg) < 0)
					MMRT_LOG(ERR, core,
						"fini: could not restore %s",
						core_subsys[i].name);
			return -EBUSY;
		}
		if (ret < 0)
			MMRT_LOG(ERR, core, "fini of %s: %s",
				core_subsys[i - 1].name, strerror(-ret));
	}
	core_ninit = 0;
	__atomic_store_n(&core_up, 0, __ATOMIC_RELEASE);
	core_topo_fini();
	core_qsbr_destroy();
	core_shared_down();
	if (core_eal_ours)
		core_eal_stop();
	return 0;
}

bool
mmrt_is_up(void)
{
	return __atomic_load_n(&core_up, __ATOMIC_ACQUIRE) != 0;
}

bool
mmrt_embedded_default(void)
{
	return mmrt_is_up() && core_embedded;
}

const struct mmrt_config *
mmrt_config_get(void)
{
	/* Also valid while the subsystem init steps run. */
	if (mmrt_qsbr() == NULL)
		return NULL;
	return &core_cfg;
}
