/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * lib/core: configuration, init/attach/fini, subsystems, the QSBR domain
 * and topology/placement. Criterion forks per test, so every test that
 * needs the runtime brings up its own EAL.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>

#include "common.h"

/* Bounded waits: nothing here should take anywhere near this long. */
#define WAIT_NS (5ULL * 1000 * 1000 * 1000)

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait (bounded) until *flag != 0; returns its final value. */
static int
wait_flag(const int *flag)
{
	uint64_t end = now_ns() + WAIT_NS;

	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) == 0 && now_ns() < end)
		rte_pause();
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/* Write @p text to a fresh temp file; the caller unlinks it. */
static void
write_temp(char *path, size_t len, const char *text)
{
	int fd;

	snprintf(path, len, "/tmp/mmrt-test-core-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Load @p text as a configuration file; returns mmrt_config_load's value. */
static int
load_text(const char *text, struct mmrt_config *cfg)
{
	char path[64];
	int ret;

	write_temp(path, sizeof(path), text);
	ret = mmrt_config_load(path, cfg);
	unlink(path);
	return ret;
}

/*
 * Configuration
 */

Test(core_config, defaults)
{
	struct mmrt_config cfg;

	memset(&cfg, 0xa5, sizeof(cfg));
	mmrt_config_defaults(&cfg);
	cr_assert_str_empty(cfg.path);
	cr_assert_eq(cfg.max_threads, 64);
	cr_assert_eq(cfg.log_level, 6); /* RTE_LOG_NOTICE */
	cr_assert_eq(cfg.pool_mb, 256);
	cr_assert_eq(cfg.pool_huge_pct, 25);
	cr_assert_eq(cfg.cache_size, 64);
	cr_assert_eq(cfg.gather_batch_max, 64);
	cr_assert_eq(cfg.gather_free_chunk, 512);
	cr_assert_eq(cfg.qsbr_dq_size, 4096);
	cr_assert_eq(cfg.max_as, 64);
}

Test(core_config, valid_file)
{
	struct mmrt_config cfg;
	char path[64];

	write_temp(path, sizeof(path),
		"; comment\n"
		"[core]\nmax_threads = 8\nlog_level = 7\n"
		"[mem]\npool_mb = 32\nhuge_reserve_pct = 0\ncache_size = 0\n"
		"[mm]\ngather_batch_max = 1\ngather_free_chunk = 16\n"
		"qsbr_dq_size = 64\n");
	mmrt_config_defaults(&cfg);
	cr_assert_eq(mmrt_config_load(path, &cfg), 0);
	cr_assert_str_eq(cfg.path, path);
	unlink(path);
	cr_assert_eq(cfg.max_threads, 8);
	cr_assert_eq(cfg.log_level, 7);
	cr_assert_eq(cfg.pool_mb, 32);
	cr_assert_eq(cfg.pool_huge_pct, 0);
	cr_assert_eq(cfg.cache_size, 0);
	cr_assert_eq(cfg.gather_batch_max, 1);
	cr_assert_eq(cfg.gather_free_chunk, 16);
	cr_assert_eq(cfg.qsbr_dq_size, 64);
	/* Keys not in the file keep the built-in default. */
	cr_assert_eq(cfg.max_as, 64);
}

Test(core_config, shipped_default_ini)
{
	struct mmrt_config def, cfg;
	const char *paths[] = { "config/default.ini", "../config/default.ini",
		"../../config/default.ini", NULL };
	unsigned int i;

	for (i = 0; paths[i] != NULL; i++)
		if (access(paths[i], R_OK) == 0)
			break;
	if (paths[i] == NULL)
		cr_skip_test("config/default.ini not found from the cwd");
	mmrt_config_defaults(&def);
	cr_assert_eq(mmrt_config_load(paths[i], &cfg), 0);
	/* The shipped file states exactly the built-in defaults. */
	memset(def.path, 0, sizeof(def.path));
	memset(cfg.path, 0, sizeof(cfg.path));
	cr_assert_eq(memcmp(&def, &cfg, sizeof(cfg)), 0);
}

Test(core_config, errors_leave_cfg_untouched)
{
	static const struct {
		const char *text;
		int ret;
	} bad[] = {
		{ "[core]\nmax_thread = 8\n", -EINVAL },        /* typo */
		{ "[cor]\nmax_threads = 8\n", -EINVAL },       /* section */
		{ "[Mem]\npool_mb = 8\n", -EINVAL },            /* case */
		{ "[mme]\npool_mb = 8\n", -EINVAL },            /* near mm */
		{ "[app]\nx = 1\n[mem]\npool_mbb = 8\n", -EINVAL }, /* key */
		{ "[mem]\npool_mb = 3\n", -EINVAL },            /* < min */
		{ "[mem]\npool_mb = 65537\n", -EINVAL },        /* > max */
		{ "[mem]\nhuge_reserve_pct = 101\n", -EINVAL },
		{ "[mem]\npool_mb = 12ab\n", -EINVAL },         /* garbage */
		{ "[mem]\npool_mb = -8\n", -EINVAL },           /* sign */
		{ "[mem]\npool_mb = 99999999999\n", -EINVAL },  /* overflow */
		{ "[core]\nlog_level = 0\n", -EINVAL },
		{ "[core]\nlog_level = 9\n", -EINVAL },
		{ "[mm]\nqsbr_dq_size = 1000\n", -EINVAL },     /* not 2^n */
		{ "[mm]\nqsbr_dq_size = 32\n", -EINVAL },       /* < min */
		{ "[mm]\nmax_as = 0\n", -EINVAL },
		{ "[mem]\ncache_size = 513\n", -EINVAL },
		{ "[mm]\ngather_free_chunk = 15\n", -EINVAL },
		{ "[mm]\ngather_batch_max = 1025\n", -EINVAL },
		{ "[core]\nmax_threads = 1025\n", -EINVAL },
		{ "[mm]\nmax_as = 8\nbogus = 1\n", -EINVAL },   /* late error */
	};
	struct mmrt_config cfg, saved;
	unsigned int i;

	memset(&cfg, 0x5a, sizeof(cfg));
	saved = cfg;
	for (i = 0; i < RTE_DIM(bad); i++) {
		cr_assert_eq(load_text(bad[i].text, &cfg), bad[i].ret,
			"case %u: %s", i, bad[i].text);
		cr_assert_eq(memcmp(&cfg, &saved, sizeof(cfg)), 0,
			"case %u changed the configuration", i);
	}
	cr_assert_eq(mmrt_config_load("/tmp/mmrt-no-such-file.ini", &cfg),
		-ENOENT);
	cr_assert_eq(memcmp(&cfg, &saved, sizeof(cfg)), 0);
	cr_assert_eq(mmrt_config_load(NULL, &cfg), -EINVAL);
	cr_assert_eq(mmrt_config_load("/tmp/x.ini", NULL), -EINVAL);
	cr_assert_eq(memcmp(&cfg, &saved, sizeof(cfg)), 0);
}

/*
 * A file shared with the application (issue 10): mmrt reads its own
 * sections and skips the application's, and keys before any section.
 */
Test(core_config, shared_with_application)
{
	struct mmrt_config cfg;
	int ret;

	mmrt_config_defaults(&cfg);
	ret = load_text("; the application's and mmrt's\n"
		"verbose = 1\n"
		"[app]\nthreads = 4\nname = demo\n"
		"[mem]\npool_mb = 32\n"
		"[database]\nurl = postgres://localhost/x\n"
		"[memory]\nlimit = 8\n"
		"[mm]\nmax_as = 8\n"
		"[dev]\nqueues = 2\n", &cfg);
	cr_assert_eq(ret, 0, "a file with the application's sections: %d",
		ret);
	cr_assert_eq(cfg.pool_mb, 32);
	cr_assert_eq(cfg.max_as, 8);
	cr_assert_eq(cfg.max_threads, 64);
}

/*
 * Init, attach, fini
 */

Test(core_init, before_init)
{
	cr_assert_not(mmrt_is_up());
	cr_assert_null(mmrt_config_get());
	cr_assert_null(mmrt_qsbr());
	cr_assert_eq(mmrt_attach(NULL), -ENODEV);
	cr_assert_eq(mmrt_fini(), -ENODEV);
	cr_assert_eq(mmrt_thread_register(), -ENODEV);
	cr_assert_eq(mmrt_thread_unregister(), -ENOENT);
	cr_assert_eq(mmrt_thread_id(), -1);
	cr_assert_not(mmrt_thread_is_online());
	mmrt_quiescent(); /* no-op, must not crash */
}

Test(core_init, consumed_args_and_twice)
{
	char *argv[] = { (char *)"prog", (char *)"--", (char *)"--pool-mb",
		(char *)"16", (char *)"--log-level", (char *)"4",
		(char *)"--", (char *)"app-arg", NULL };
	char *again[] = { (char *)"prog", NULL };
	const struct mmrt_config *cfg;

	/* "--" + 4 mmrt words + the second "--" */
	cr_assert_eq(mmrt_init(8, argv), 6);
	cr_assert_str_eq(argv[6], "prog");
	cr_assert_str_eq(argv[7], "app-arg");
	cr_assert(mmrt_is_up());
	cfg = mmrt_config_get();
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->pool_mb, 16);
	cr_assert_eq(cfg->log_level, 4);
	cr_assert_not_null(mmrt_qsbr());

	cr_assert_eq(mmrt_init(1, again), -EALREADY);
	cr_assert_eq(mmrt_attach(NULL), -EALREADY);
	cr_assert(mmrt_is_up());

	cr_assert_eq(mmrt_fini(), 0);
	cr_assert_not(mmrt_is_up());
	cr_assert_null(mmrt_qsbr());
	/* The EAL cannot be brought up twice in one process. */
	cr_assert_eq(mmrt_init(1, again), -EALREADY);
	cr_assert_eq(mmrt_fini(), -ENODEV);
}

Test(core_init, no_args_embedded)
{
	char *argv[] = { (char *)"prog", NULL };

	cr_assert_eq(mmrt_init(1, argv), 0);
	cr_assert_geq(rte_lcore_count(), 1);
	cr_assert_eq(mmrt_config_get()->pool_mb, 256);
	mmrt_test_down();
}

/*
 * The test scaffolding's lcores (mmrt_test_lcores() in common.h): each
 * allowed on every cpu of the process, none pinned to one. A thread
 * pinned to one cpu held its process at rte_eal_init() and at exit while
 * another process's poller spun on that cpu (test workers timed out after
 * their [PASS]).
 */
Test(core_init, test_lcores_float)
{
	cpu_set_t allowed;
	unsigned int lc;

	CPU_ZERO(&allowed);
	cr_assert_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	if (CPU_COUNT(&allowed) < 2)
		cr_skip_test("one cpu: no lcore can be pinned apart");
	mmrt_test_up(16);
	cr_assert_eq(rte_lcore_count(), 2, "as many lcores as the default");
	RTE_LCORE_FOREACH(lc) {
		rte_cpuset_t cs = rte_lcore_cpuset(lc);

		cr_assert(CPU_EQUAL(&cs, &allowed),
			"lcore %u may run on %d of the %d cpus", lc,
			CPU_COUNT(&cs), CPU_COUNT(&allowed));
	}
	mmrt_test_down();
}

Test(core_init, bad_options_then_good)
{
	char *bad1[] = { (char *)"prog", (char *)"--", (char *)"--pool-mb",
		(char *)"lots", NULL };
	char *bad2[] = { (char *)"prog", (char *)"--", (char *)"--pool-mb",
		NULL };
	char *bad3[] = { (char *)"prog", (char *)"--", (char *)"--config",
		(char *)"/tmp/mmrt-no-such-file.ini", NULL };
	char *bad4[] = { (char *)"prog", (char *)"--", (char *)"--log-level",
		(char *)"0", NULL };

	/* Bad mmrt options fail before the EAL starts, so a retry works. */
	cr_assert_eq(mmrt_init(4, bad1), -EINVAL);
	cr_assert_eq(mmrt_init(3, bad2), -EINVAL);
	cr_assert_eq(mmrt_init(4, bad3), -ENOENT);
	cr_assert_eq(mmrt_init(4, bad4), -EINVAL);
	cr_assert_not(mmrt_is_up());
	mmrt_test_up(16);
	cr_assert(mmrt_is_up());
	mmrt_test_down();
}

Test(core_init, config_file_option)
{
	char path[64];
	char *argv[] = { (char *)"prog", (char *)"--", (char *)"--config",
		path, (char *)"--pool-mb", (char *)"24", NULL };
	const struct mmrt_config *cfg;

	write_temp(path, sizeof(path),
		"[core]\nmax_threads = 4\n[mem]\npool_mb = 8\n");
	cr_assert_eq(mmrt_init(6, argv), 5);
	unlink(path);
	cfg = mmrt_config_get();
	cr_assert_eq(cfg->max_threads, 4);
	/* The command line overrides the file. */
	cr_assert_eq(cfg->pool_mb, 24);
	cr_assert_str_eq(cfg->path, path);
	mmrt_test_down();
}

Test(core_init, explicit_eal_args)
{
	char prefix[64];
	char *argv[] = { (char *)"prog", (char *)"--no-huge", (char *)"-m",
		(char *)"256", (char *)"--no-pci", (char *)"--no-shconf",
		(char *)"--no-telemetry", prefix, (char *)"-l", (char *)"0",
		(char *)"--log-level=lib.eal:error", (char *)"--",
		(char *)"--pool-mb", (char *)"16", NULL };

	mmrt_test_prefix(prefix, sizeof(prefix), "mmrt-test");
	cr_assert_eq(mmrt_init(14, argv), 13);
	cr_assert_eq(rte_lcore_count(), 1);
	cr_assert_eq(mmrt_config_get()->pool_mb, 16);
	mmrt_test_down();
}

Test(core_init, attach_after_eal)
{
	char prefix[64];
	char *argv[] = { (char *)"prog", (char *)"--no-huge", (char *)"-m",
		(char *)"256", (char *)"--no-pci", (char *)"--no-shconf",
		(char *)"--no-telemetry", prefix,
		(char *)"--log-level=lib.eal:error", NULL };
	char path[64];

	mmrt_test_prefix(prefix, sizeof(prefix), "mmrt-test");
	cr_assert_geq(rte_eal_init(9, argv), 0);
	cr_assert_eq(mmrt_attach("/tmp/mmrt-no-such-file.ini"), -ENOENT);
	write_temp(path, sizeof(path), "[mem]\npool_mb = 1\n");
	cr_assert_eq(mmrt_attach(path), -EINVAL);
	unlink(path);
	cr_assert_not(mmrt_is_up());
	write_temp(path, sizeof(path), "[mem]\npool_mb = 16\n");
	cr_assert_eq(mmrt_attach(path), 0);
	unlink(path);
	cr_assert(mmrt_is_up());
	cr_assert_eq(mmrt_attach(NULL), -EALREADY);
	cr_assert_eq(mmrt_fini(), 0);
	/* The EAL is the application's: attaching again works. */
	cr_assert_eq(mmrt_attach(NULL), 0);
	cr_assert_eq(mmrt_config_get()->pool_mb, 256);
	cr_assert_eq(mmrt_fini(), 0);
	rte_eal_cleanup();
}

/*
 * Subsystems
 */

static char ss_log[64];
static int ss_busy_once;

static void
ss_note(char c)
{
	size_t n = strlen(ss_log);

	if (n + 1 < sizeof(ss_log)) {
		ss_log[n] = c;
		ss_log[n + 1] = '\0';
	}
}

static int
ss_a_init(const struct mmrt_config *c)
{
	cr_assert_not_null(c);
	ss_note('A');
	return 0;
}

static int
ss_a_fini(void)
{
	ss_note('a');
	return 0;
}

static int
ss_b_init(const struct mmrt_config *c)
{
	cr_assert_not_null(c);
	ss_note('B');
	return 0;
}

static int
ss_b_fini(void)
{
	ss_note('b');
	if (ss_busy_once) {
		ss_busy_once = 0;
		return -EBUSY;
	}
	return 0;
}

static int
ss_c_init(const struct mmrt_config *c)
{
	cr_assert_not_null(c);
	ss_note('C');
	return -ENOMEM;
}

Test(core_subsys, order_and_unwind)
{
	const struct mmrt_subsys a = { "test-a", 1001, ss_a_init, ss_a_fini };
	const struct mmrt_subsys b = { "test-b", 1000, ss_b_init, ss_b_fini };
	const struct mmrt_subsys c = { "test-c", 1002, ss_c_init, NULL };
	const struct mmrt_subsys bad = { "bad", 1, NULL, NULL };
	char *argv[] = { (char *)"prog", NULL };

	cr_assert_eq(mmrt_subsys_register(NULL), -EINVAL);
	cr_assert_eq(mmrt_subsys_register(&bad), -EINVAL);
	cr_assert_eq(mmrt_subsys_register(&a), 0);
	cr_assert_eq(mmrt_subsys_register(&b), 0);
	cr_assert_eq(mmrt_subsys_register(&c), 0);
	cr_assert_lt(mmrt_init(1, argv), 0);
	cr_assert_not(mmrt_is_up());
	/* Ascending order, then the failing step unwinds the others. */
	cr_assert_str_eq(ss_log, "BACab");
}

Test(core_subsys, busy_fini_restores)
{
	const struct mmrt_subsys a = { "test-a", 1001, ss_a_init, ss_a_fini };
	const struct mmrt_subsys b = { "test-b", 1000, ss_b_init, ss_b_fini };

	cr_assert_eq(mmrt_subsys_register(&a), 0);
	cr_assert_eq(mmrt_subsys_register(&b), 0);
	mmrt_test_up(16);
	cr_assert_eq(mmrt_subsys_register(&a), -EALREADY);
	cr_assert_str_eq(ss_log, "BA");
	ss_busy_once = 1;
	cr_assert_eq(mmrt_fini(), -EBUSY);
	cr_assert(mmrt_is_up());
	/* a was torn down before b said busy, and is brought back. */
	cr_assert_str_eq(ss_log, "BAabA");
	cr_assert_eq(mmrt_fini(), 0);
	cr_assert_str_eq(ss_log, "BAabAab");
}

/*
 * QSBR domain
 */

Test(core_qsbr, register_unregister)
{
	int id;

	mmrt_test_up(16);
	cr_assert_eq(mmrt_thread_id(), -1);
	cr_assert_eq(mmrt_thread_unregister(), -ENOENT);
	id = mmrt_thread_register();
	cr_assert_geq(id, 0);
	cr_assert_lt((unsigned int)id, mmrt_config_get()->max_threads);
	cr_assert_eq(mmrt_thread_id(), id);
	cr_assert(mmrt_thread_is_online());
	cr_assert_eq(mmrt_thread_register(), -EEXIST);
	cr_assert_eq(mmrt_thread_id(), id, "id must be stable");

	mmrt_quiescent();
	mmrt_thread_offline();
	cr_assert_not(mmrt_thread_is_online());
	mmrt_thread_offline();
	mmrt_quiescent(); /* must not put it back online */
	cr_assert_not(mmrt_thread_is_online());
	mmrt_thread_online();
	cr_assert(mmrt_thread_is_online());
	cr_assert_eq(mmrt_thread_id(), id);
	/* A registered, online caller counts itself as quiescent. */
	mmrt_synchronize();

	cr_assert_eq(mmrt_thread_unregister(), 0);
	cr_assert_eq(mmrt_thread_id(), -1);
	cr_assert_not(mmrt_thread_is_online());
	cr_assert_eq(mmrt_thread_unregister(), -ENOENT);
	cr_assert_geq(mmrt_thread_register(), 0);
	/* fini unregisters the calling thread itself. */
	cr_assert_eq(mmrt_fini(), 0);
	cr_assert_eq(mmrt_thread_id(), -1);
}

static void *
reg_thread(void *arg)
{
	int *ids = arg;

	ids[0] = mmrt_thread_register();
	ids[1] = mmrt_thread_register();
	return NULL;
}

Test(core_qsbr, slots_run_out)
{
	char path[64];
	char *argv[] = { (char *)"prog", (char *)"--", (char *)"--config",
		path, (char *)"--log-level", (char *)"3", NULL };
	pthread_t th[3];
	int ids[3][2];
	int i, ok = 0, nospc = 0;

	write_temp(path, sizeof(path), "[core]\nmax_threads = 2\n"
		"[mem]\npool_mb = 16\n");
	cr_assert_geq(mmrt_init(6, argv), 0);
	unlink(path);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(pthread_create(&th[i], NULL, reg_thread, ids[i]),
			0);
		pthread_join(th[i], NULL);
	}
	for (i = 0; i < 3; i++) {
		/* Threads exit registered: slots stay taken. */
		if (ids[i][0] >= 0) {
			ok++;
			cr_assert_eq(ids[i][1], -EEXIST);
		} else {
			cr_assert_eq(ids[i][0], -ENOSPC);
			nospc++;
		}
	}
	cr_assert_eq(ok, 2);
	cr_assert_eq(nospc, 1);
	cr_assert_neq(ids[0][0], ids[1][0]);
	/* Still-registered threads make fini refuse. */
	cr_assert_eq(mmrt_fini(), -EBUSY);
	cr_assert(mmrt_is_up());
}

struct reader {
	int registered;
	int release;  /* start reporting quiescent states */
	int stop;
	int offline;  /* go offline instead of reporting */
	int id;
};

/*
 * Threads created by the main lcore inherit its one-cpu affinity; move a
 * spinning reader to a worker lcore's cpus so that it does not time-share
 * with the spinning writer.
 */
static void
move_off_main_lcore(void)
{
	rte_cpuset_t cs;
	unsigned int lc;

	lc = rte_get_next_lcore(-1, 1, 0);
	if (lc >= RTE_MAX_LCORE)
		return;
	cs = rte_lcore_cpuset(lc);
	pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
}

static void *
reader_main(void *arg)
{
	struct reader *r = arg;

	move_off_main_lcore();
	r->id = mmrt_thread_register();
	__atomic_store_n(&r->registered, 1, __ATOMIC_RELEASE);
	if (r->id < 0)
		return NULL;
	/* Online and holding "references": no report until released. */
	while (!__atomic_load_n(&r->release, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&r->offline, __ATOMIC_ACQUIRE))
			mmrt_thread_offline();
		rte_pause();
	}
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		mmrt_quiescent();
		rte_pause();
	}
	mmrt_thread_unregister();
	return NULL;
}

/* Start reader @p r on thread *@p th; return once it is registered. */
static void
reader_start(pthread_t *th, struct reader *r)
{
	cr_assert_eq(pthread_create(th, NULL, reader_main, r), 0);
	cr_assert(wait_flag(&r->registered));
	cr_assert_geq(r->id, 0);
}

/* Stop reader @p r and join its thread @p th. */
static void
reader_stop(pthread_t th, struct reader *r)
{
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
}

struct syncer {
	int done;
};

static void *
sync_main(void *arg)
{
	struct syncer *s = arg;

	mmrt_synchronize();
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

Test(core_qsbr, synchronize_with_reporting_reader, .timeout = 30)
{
	struct reader r = { 0, 1, 0, 0, -1 };
	pthread_t th;
	int i;

	mmrt_test_up(16);
	reader_start(&th, &r);
	/* a hang is caught by the test's timeout, not by a clock threshold */
	for (i = 0; i < 1000; i++)
		mmrt_synchronize();
	/* Also from a registered caller. */
	cr_assert_geq(mmrt_thread_register(), 0);
	for (i = 0; i < 100; i++)
		mmrt_synchronize();
	cr_assert_eq(mmrt_thread_unregister(), 0);
	reader_stop(th, &r);
	mmrt_test_down();
}

/*
 * Up, a reader registered and online that does not report, and a writer
 * in mmrt_synchronize() on its own thread: after @p ms (a chance for a
 * wrong early return, not a measurement) it must not have returned.
 */
static void
sync_blocked(struct reader *r, struct syncer *s, pthread_t *rth,
	pthread_t *sth, unsigned int ms)
{
	mmrt_test_up(16);
	reader_start(rth, r);
	cr_assert_eq(pthread_create(sth, NULL, sync_main, s), 0);
	sleep_ms(ms);
	cr_assert_eq(__atomic_load_n(&s->done, __ATOMIC_ACQUIRE), 0,
		"synchronize returned while an online reader never reported");
}

/* The reader sets *@p flag: the writer must return; all down. */
static void
sync_released(struct reader *r, struct syncer *s, pthread_t rth,
	pthread_t sth, int *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_RELEASE);
	cr_assert(wait_flag(&s->done),
		"synchronize did not return after the reader reported or "
		"went offline");
	pthread_join(sth, NULL);
	reader_stop(rth, r);
	mmrt_test_down();
}

Test(core_qsbr, synchronize_waits_for_silent_reader, .timeout = 30)
{
	struct reader r = { 0, 0, 0, 0, -1 };
	struct syncer s = { 0 };
	pthread_t rth, sth;

	sync_blocked(&r, &s, &rth, &sth, 50);
	sync_released(&r, &s, rth, sth, &r.release);
}

Test(core_qsbr, offline_reader_does_not_block, .timeout = 30)
{
	struct reader r = { 0, 0, 0, 0, -1 };
	struct syncer s = { 0 };
	pthread_t rth, sth;

	sync_blocked(&r, &s, &rth, &sth, 20);
	/* Going offline (without a report) releases the writer too. */
	sync_released(&r, &s, rth, sth, &r.offline);
}

/*
 * Topology and placement
 */

Test(core_topo, lcores)
{
	struct mmrt_lcore_topo t[RTE_MAX_LCORE];
	int n, i;

	cr_assert_eq(mmrt_topo_lcores(t, RTE_MAX_LCORE), -ENODEV);
	mmrt_test_up(16);
	cr_assert_eq(mmrt_topo_lcores(NULL, 4), -EINVAL);
	cr_assert_eq(mmrt_topo_lcores(t, 0), -EINVAL);
	n = mmrt_topo_lcores(t, RTE_MAX_LCORE);
	cr_assert_geq(n, 1);
	cr_assert_eq((unsigned int)n, rte_lcore_count());
	for (i = 0; i < n; i++) {
		cr_assert(rte_lcore_is_enabled(t[i].lcore_id));
		cr_assert_geq(t[i].cpu, 0);
		cr_assert_geq(t[i].numa, 0);
		cr_assert_geq(t[i].smt, 1);
		cr_assert_eq(mmrt_topo_share(t[i].lcore_id, t[i].lcore_id),
			MMRT_SHARE_CORE);
	}
	/* Truncation to the caller's array. */
	cr_assert_eq(mmrt_topo_lcores(t, 1), 1);
	cr_assert_eq(mmrt_topo_share(RTE_MAX_LCORE, 0), -EINVAL);
	cr_assert_eq(mmrt_topo_share(0, RTE_MAX_LCORE + 5), -EINVAL);
	cr_assert_str_eq(mmrt_share_name(MMRT_SHARE_CORE), "core");
	cr_assert_str_eq(mmrt_share_name(MMRT_SHARE_L3), "l3");
	cr_assert_str_eq(mmrt_share_name(MMRT_SHARE_NONE), "none");
	mmrt_test_down();
}

Test(core_topo, placement)
{
	struct mmrt_placement p[4];
	int n, i;

	cr_assert_eq(mmrt_placement_plan(p, 1), -ENODEV);
	mmrt_test_up(16);
	cr_assert_eq(mmrt_placement_plan(NULL, 1), -EINVAL);
	cr_assert_eq(mmrt_placement_plan(p, 0), -EINVAL);
	if (rte_lcore_count() < 2) {
		cr_assert_eq(mmrt_placement_plan(p, 1), -ENOSPC);
		mmrt_test_down();
		cr_skip_test("only one cpu: no pair to plan");
	}
	for (n = 1; n <= 4; n++) {
		cr_assert_eq(mmrt_placement_plan(p, n), n);
		for (i = 0; i < n; i++) {
			cr_assert_neq(p[i].server_lcore, p[i].consumer_lcore);
			cr_assert(rte_lcore_is_enabled(p[i].server_lcore));
			cr_assert(rte_lcore_is_enabled(p[i].consumer_lcore));
			cr_assert_eq((int)p[i].share,
				mmrt_topo_share(p[i].server_lcore,
					p[i].consumer_lcore));
		}
	}
	mmrt_test_down();
}
