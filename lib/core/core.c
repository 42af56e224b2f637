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
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "mmrt_core.h"
#include "core_priv.h"

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

/* Everything after the EAL: logging, QSBR, topology, subsystems. */
static int
core_start(const struct mmrt_config *cfg)
{
	unsigned int i;
	int ret;

	/* Every mmrt log type, registered or not yet: lib.mmrt.* and
	 * pmd.dma.mmrt.* (the pattern also applies to later registrations). */
	rte_log_set_level_pattern("*.mmrt*", cfg->log_level);
	core_cfg = *cfg;

	ret = core_qsbr_create(cfg->max_threads);
	if (ret < 0) {
		MMRT_LOG(ERR, core, "QSBR domain: %s", strerror(-ret));
		return ret;
	}
	ret = core_topo_init();
	if (ret < 0) {
		core_qsbr_destroy();
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
			return ret;
		}
		MMRT_LOG(DEBUG, core, "%s up", core_subsys[i].name);
	}
	core_ninit = core_nsubsys;
	__atomic_store_n(&core_up, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Options that mmrt_init() parses after "--". */
struct core_opts {
	const char *config;
	const char *pool_mb;
	const char *log_level;
};

/*
 * Parse mmrt options from argv[0..argc-1] (the words after "--"). Parsing
 * stops at the first word that is not an mmrt option, or just after a
 * further "--"; the rest belongs to the application.
 * @return words consumed, or -EINVAL (missing value).
 */
static int
core_parse_opts(int argc, char **argv, struct core_opts *o)
{
	const char **dst;
	int i = 0;

	while (i < argc) {
		if (strcmp(argv[i], "--") == 0)
			return i + 1;
		if (strcmp(argv[i], "--config") == 0)
			dst = &o->config;
		else if (strcmp(argv[i], "--pool-mb") == 0)
			dst = &o->pool_mb;
		else if (strcmp(argv[i], "--log-level") == 0)
			dst = &o->log_level;
		else
			break;
		if (i + 1 >= argc) {
			MMRT_LOG(ERR, core, "option %s needs a value", argv[i]);
			return -EINVAL;
		}
		*dst = argv[i + 1];
		i += 2;
	}
	return i;
}

/* Built-in defaults, the configuration file, then command-line values. */
static int
core_build_config(const struct core_opts *o, struct mmrt_config *cfg)
{
	int ret;

	mmrt_config_defaults(cfg);
	if (o->config != NULL) {
		ret = mmrt_config_load(o->config, cfg);
		if (ret < 0) {
			/* -EINVAL was already logged with the key at fault. */
			if (ret != -EINVAL)
				MMRT_LOG(ERR, core, "configuration %s: %s",
					o->config, strerror(-ret));
			return ret;
		}
	}
	if (o->pool_mb != NULL &&
	    core_config_set(cfg, "mem", "pool_mb", o->pool_mb) < 0)
		return -EINVAL;
	if (o->log_level != NULL &&
	    core_config_set(cfg, "core", "log_level", o->log_level) < 0)
		return -EINVAL;
	return 0;
}

/* Embedded EAL arguments; they must outlive rte_eal_init(). */
static char core_embed_mem[16];
static char core_embed_prefix[64];
static char core_embed_lcores[64];
static char *core_embed_argv[16];
static unsigned int core_embed_count;

/* Fill core_embed_argv; returns its argc. */
static int
core_embed_args(const char *prog, const struct mmrt_config *cfg)
{
	const char *lflag;
	cpu_set_t cs;
	int cpus[2], ncpu = 0, c, argc = 0;
	unsigned int mb;

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

	core_embed_argv[argc++] = (char *)(uintptr_t)prog;
	core_embed_argv[argc++] = (char *)(uintptr_t)"--no-huge";
	core_embed_argv[argc++] = (char *)(uintptr_t)"-m";
	core_embed_argv[argc++] = core_embed_mem;
	core_embed_argv[argc++] = (char *)(uintptr_t)"--no-pci";
	core_embed_argv[argc++] = (char *)(uintptr_t)"--no-shconf";
	core_embed_argv[argc++] = (char *)(uintptr_t)"--no-telemetry";
	core_embed_argv[argc++] = core_embed_prefix;
	core_embed_argv[argc++] = (char *)(uintptr_t)lflag;
	core_embed_argv[argc++] = core_embed_lcores;
	core_embed_argv[argc++] = (char *)(uintptr_t)"--log-level=lib.eal:error";
	core_embed_argv[argc] = NULL;
	return argc;
}

int
mmrt_init(int argc, char **argv)
{
	struct core_opts opts = { NULL, NULL, NULL };
	struct mmrt_config cfg;
	char line[512];
	char *prog;
	int dd, n, eal_argc, eal_ret, ret, i;
	size_t len;
	bool embed;

	if (__atomic_load_n(&core_up, __ATOMIC_ACQUIRE) || core_eal_dead ||
	    core_eal_ours)
		return -EALREADY;
	if (argc < 0 || (argc > 0 && argv == NULL))
		return -EINVAL;
	prog = argc > 0 && argv[0] != NULL ? argv[0] : (char *)(uintptr_t)"mmrt";

	/* dd: index of the first "--" (argc if none). */
	for (dd = 1; dd < argc; dd++)
		if (strcmp(argv[dd], "--") == 0)
			break;
	embed = argc <= 1 || dd == 1;
	n = 0;
	if (dd < argc) {
		n = core_parse_opts(argc - dd - 1, argv + dd + 1, &opts);
		if (n < 0)
			return n;
	}
	ret = core_build_config(&opts, &cfg);
	if (ret < 0)
		return ret;

	if (embed) {
		eal_argc = core_embed_args(prog, &cfg);
		/* Before the EAL rewrites its argv. */
		len = 0;
		line[0] = '\0';
		for (i = 1; i < eal_argc && len < sizeof(line); i++)
			len += snprintf(line + len, sizeof(line) - len, "%s%s",
				i > 1 ? " " : "", core_embed_argv[i]);
		ret = rte_eal_init(eal_argc, core_embed_argv);
	} else {
		/* The EAL stops at "--" and returns its index. */
		ret = rte_eal_init(dd < argc ? dd + 1 : argc, argv);
	}
	if (ret < 0)
		return rte_errno > 0 ? -rte_errno : -EINVAL;
	eal_ret = ret;
	core_eal_ours = true;

	ret = core_start(&cfg);
	if (ret < 0) {
		rte_eal_cleanup();
		core_eal_dead = true;
		return ret;
	}

	if (embed)
		MMRT_LOG(NOTICE, core,
			"no EAL arguments, embedded default in use: %s", line);
	MMRT_LOG(INFO, core, "up: %u lcores, pool %u MiB, config %s",
		rte_lcore_count(), cfg.pool_mb,
		cfg.path[0] != '\0' ? cfg.path : "built-in");

	/*
	 * Consumed: the EAL words and "--" (argv[1 .. dd]) plus n mmrt
	 * words; like rte_eal_init(), argv[consumed] becomes the program name.
	 */
	if (dd >= argc)
		return embed ? 0 : eal_ret;
	ret = dd + n;
	argv[ret] = prog;
	return ret;
}

int
mmrt_attach(const char *config_file)
{
	struct core_opts opts = { config_file, NULL, NULL };
	struct mmrt_config cfg;
	int ret;

	if (__atomic_load_n(&core_up, __ATOMIC_ACQUIRE))
		return -EALREADY;
	if (core_eal_dead || rte_lcore_count() == 0)
		return -ENODEV;
	ret = core_build_config(&opts, &cfg);
	if (ret < 0)
		return ret;
	return core_start(&cfg);
}

int
mmrt_fini(void)
{
	unsigned int i, others;
	int ret;

	if (!__atomic_load_n(&core_up, __ATOMIC_ACQUIRE))
		return -ENODEV;
	others = core_qsbr_others();
	if (others > 0) {
		MMRT_LOG(ERR, core, "fini: %u threads still registered",
			others);
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
	if (core_eal_ours) {
		rte_eal_cleanup();
		core_eal_dead = true;
	}
	return 0;
}

bool
mmrt_is_up(void)
{
	return __atomic_load_n(&core_up, __ATOMIC_ACQUIRE) != 0;
}

const struct mmrt_config *
mmrt_config_get(void)
{
	/* Also valid while the subsystem init steps run. */
	if (mmrt_qsbr() == NULL)
		return NULL;
	return &core_cfg;
}
