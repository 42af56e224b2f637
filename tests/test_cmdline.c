/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * mmrt_init()'s command line as a new user meets it (issue 10): mmrt's
 * options among the application's, near misses, --mmrt-help and the EAL's
 * -h, EAL arguments added to the embedded default, the hugepage advice,
 * log levels given to the EAL, the embedded runtime directory, and a DPDK
 * secondary process (a real primary in a child process).
 *
 * Criterion forks per test, so every test brings up its own EAL. Waits
 * for child processes are bounded and never asserted on as times.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include <criterion/logging.h>

#include "common.h"

#define ARGC(v) ((int)RTE_DIM(v) - 1)

/* Lines of @p f that contain both @p a and @p b (b may be NULL). */
static unsigned int
log_count(FILE *f, const char *a, const char *b)
{
	char line[2048];
	unsigned int n = 0;

	fflush(f);
	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, a) != NULL && (b == NULL ||
		    strstr(line, b) != NULL))
			n++;
	return n;
}

/*
 * Run @p fn(@p arg) in a child process whose stdout and stderr go to
 * @p out (NUL-terminated, truncated to @p len). @return the child's wait
 * status. The child never returns into Criterion: it leaves with _exit()
 * unless @p fn itself exits.
 */
static int
run_child(void (*fn)(void *), void *arg, char *out, size_t len)
{
	int p[2], status = -1;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		fn(arg);
		fflush(NULL);
		_exit(120);
	}
	close(p[1]);
	/* EOF comes when the child has exited (or closed its outputs). */
	while ((r = read(p[0], out + got, len - 1 - got)) > 0 &&
	    got + (size_t)r < len - 1)
		got += (size_t)r;
	if (r > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/*
 * mmrt's options among the application's
 */

Test(cmdline, options_among_application_words)
{
	char *argv[] = { (char *)"prog", (char *)"--", (char *)"--app-x",
		(char *)"1", (char *)"--pool-mb", (char *)"16",
		(char *)"--app-y", (char *)"--", (char *)"--log-level",
		(char *)"3", NULL };
	const struct mmrt_config *cfg;

	/* mmrt takes --pool-mb 16 from among the application's words; the
	 * further "--" follows application words, so it stays theirs. */
	cr_assert_eq(mmrt_init(ARGC(argv), argv), 3);
	cr_assert_str_eq(argv[3], "prog");
	cr_assert_str_eq(argv[4], "--app-x");
	cr_assert_str_eq(argv[5], "1");
	cr_assert_str_eq(argv[6], "--app-y");
	cr_assert_str_eq(argv[7], "--");
	cr_assert_str_eq(argv[8], "--log-level");
	cr_assert_str_eq(argv[9], "3");
	cfg = mmrt_config_get();
	cr_assert_eq(cfg->pool_mb, 16);
	/* After the further "--": the application's, not mmrt's. */
	cr_assert_eq(cfg->log_level, 6);
	mmrt_test_down();
}

Test(cmdline, name_equals_value)
{
	char *argv[] = { (char *)"prog", (char *)"--",
		(char *)"--pool-mb=16", (char *)"--log-level=4",
		(char *)"app", NULL };

	cr_assert_eq(mmrt_init(ARGC(argv), argv), 3);
	cr_assert_str_eq(argv[3], "prog");
	cr_assert_str_eq(argv[4], "app");
	cr_assert_eq(mmrt_config_get()->pool_mb, 16);
	cr_assert_eq(mmrt_config_get()->log_level, 4);
	mmrt_test_down();
}

Test(cmdline, near_misses_are_errors)
{
	static const char *const typo[] = { "--pool", "--pool_mb",
		"--poolmb", "--log-levle", "--confg", "--conf", "--log",
		"--pool-mb-", "--mmrt-hlp" };
	char *argv[6];
	FILE *log = mmrt_test_log_capture();
	unsigned int i;

	for (i = 0; i < RTE_DIM(typo); i++) {
		argv[0] = (char *)"prog";
		argv[1] = (char *)"--";
		argv[2] = (char *)"--app";
		argv[3] = (char *)(uintptr_t)typo[i];
		argv[4] = (char *)"64";
		argv[5] = NULL;
		cr_assert_eq(mmrt_init(5, argv), -EINVAL, "%s passed", typo[i]);
		cr_assert_str_eq(argv[3], typo[i], "argv changed");
		cr_assert_str_eq(argv[2], "--app", "argv changed");
	}
	cr_assert_eq(log_count(log, "did you mean --pool-mb?", NULL), 4);
	cr_assert_eq(log_count(log, "did you mean --log-level?", NULL), 2);
	cr_assert_eq(log_count(log, "did you mean --config?", NULL), 2);
	cr_assert_not(mmrt_is_up());
	rte_openlog_stream(NULL);
	fclose(log);

	/* Far from mmrt's names: the application's. Behind a further
	 * "--": never looked at. */
	argv[0] = (char *)"prog";
	argv[1] = (char *)"--";
	argv[2] = (char *)"--";
	argv[3] = (char *)"--pool";
	argv[4] = (char *)"--threads";
	argv[5] = NULL;
	cr_assert_eq(mmrt_init(5, argv), 2);
	cr_assert_str_eq(argv[3], "--pool");
	cr_assert_str_eq(argv[4], "--threads");
	mmrt_test_down();
}

Test(cmdline, option_errors)
{
	char *noval[] = { (char *)"prog", (char *)"--", (char *)"--pool-mb",
		NULL };
	char *noval2[] = { (char *)"prog", (char *)"--", (char *)"--pool-mb",
		(char *)"--", (char *)"16", NULL };
	char *flagval[] = { (char *)"prog", (char *)"--",
		(char *)"--mmrt-help=1", NULL };

	cr_assert_eq(mmrt_init(ARGC(noval), noval), -EINVAL);
	cr_assert_eq(mmrt_init(ARGC(noval2), noval2), -EINVAL);
	cr_assert_eq(mmrt_init(ARGC(flagval), flagval), -EINVAL);
	cr_assert_not(mmrt_is_up());
}

static void
child_init(void *arg)
{
	char **argv = arg;
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	mmrt_init(argc, argv);
	/* Only reached if the options did not exit. */
	_exit(121);
}

Test(cmdline, mmrt_help, .timeout = 60)
{
	char *argv[] = { (char *)"prog", (char *)"--", (char *)"--app",
		(char *)"--mmrt-help", NULL };
	static char out[16384];
	int st;

	st = run_child(child_init, argv, out, sizeof(out));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"status %#x, output:\n%s", st, out);
	cr_assert_not_null(strstr(out, "--pool-mb N"), "%s", out);
	cr_assert_not_null(strstr(out, "--config FILE"), "%s", out);
	cr_assert_not_null(strstr(out, "--log-level N"), "%s", out);
	cr_assert_not_null(strstr(out, "--mmrt-help"), "%s", out);
	/* Nothing was started. */
	cr_assert_null(strstr(out, "EAL:"), "%s", out);
}

Test(cmdline, eal_help_lists_mmrt_options, .timeout = 60)
{
	char *argv[] = { (char *)"prog", (char *)"-h", NULL };
	static char out[65536];
	int st;

	st = run_child(child_init, argv, out, sizeof(out));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"status %#x, output:\n%s", st, out);
	cr_assert_not_null(strstr(out, "--file-prefix"), "no EAL usage: %s",
		out);
	cr_assert_not_null(strstr(out, "--pool-mb N"), "no mmrt usage: %s",
		out);
}

Test(cmdline, usage_to_a_stream)
{
	char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	cr_assert_not_null(f);
	mmrt_usage(f);
	fclose(f);
	cr_assert_not_null(strstr(buf, "--pool-mb N"));
}

/*
 * EAL arguments added to the embedded default
 */

Test(cmdline, embedded_default_takes_added_eal_args)
{
	char *argv[] = { (char *)"prog", (char *)"-l", (char *)"0",
		(char *)"--log-level=lib.mmrt.core:info", (char *)"--",
		(char *)"--pool-mb", (char *)"16", (char *)"app", NULL };
	struct mmrt_mem_stats st;

	/* No memory option: the embedded default applies (no hugepages
	 * needed), with the lcores given instead of its own. */
	cr_assert_eq(mmrt_init(ARGC(argv), argv), 6);
	cr_assert_str_eq(argv[6], "prog");
	cr_assert_str_eq(argv[7], "app");
	cr_assert_eq(rte_lcore_count(), 1);
	cr_assert_eq(mmrt_mem_stats(&st), 0);
	cr_assert_not(st.hugepages);
	mmrt_test_down();
}

Test(cmdline, embedded_default_without_dashes)
{
	char *argv[] = { (char *)"prog", (char *)"--vdev=dma_skeleton0",
		(char *)"--lcores=0", NULL };

	cr_assert_not(mmrt_embedded_default());
	cr_assert_eq(mmrt_init(ARGC(argv), argv), 2);
	cr_assert_str_eq(argv[2], "prog");
	cr_assert_eq(rte_lcore_count(), 1);
	cr_assert(mmrt_embedded_default(), "added EAL args dropped the default");
	mmrt_test_down();
	cr_assert_not(mmrt_embedded_default());
}

/* A memory option is the user's choice of EAL memory: no embedded default. */
Test(cmdline, memory_option_is_not_the_embedded_default)
{
	char *argv[] = { (char *)"prog", (char *)"--no-huge", (char *)"-m",
		(char *)"512", (char *)"--no-pci", (char *)"--no-shconf",
		(char *)"--lcores=0", NULL };

	cr_assert_eq(mmrt_init(ARGC(argv), argv), 6);
	cr_assert_not(mmrt_embedded_default());
	mmrt_test_down();
}

Test(cmdline, hugepage_failure_says_what_to_do, .timeout = 60)
{
	char dir[64], hd[96], prefix[64];
	char *argv[] = { (char *)"prog", hd, (char *)"--no-pci",
		(char *)"--no-shconf", (char *)"--no-telemetry", prefix,
		(char *)"-l", (char *)"0", (char *)"--log-level=lib.eal:crit",
		(char *)"--", (char *)"--pool-mb", (char *)"16", NULL };
	FILE *log = mmrt_test_log_capture();
	int ret;

	/* A memory option (--huge-dir) keeps the EAL arguments as given;
	 * the directory is no hugetlbfs mount, so the EAL finds no pages. */
	snprintf(dir, sizeof(dir), "/tmp/mmrt-test-nohuge-%d", (int)getpid());
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(hd, sizeof(hd), "--huge-dir=%s", dir);
	mmrt_test_prefix(prefix, sizeof(prefix), "mmrt-test-nohuge");
	ret = mmrt_init(ARGC(argv), argv);
	rmdir(dir);
	cr_assert(ret == -EACCES || ret == -ENOMEM, "ret %d", ret);
	cr_assert_not(mmrt_is_up());
	cr_assert_eq(log_count(log, "hugepages", "--no-huge"), 1,
		"want one line saying what to do");
	rte_openlog_stream(NULL);
	fclose(log);
}

/*
 * Log levels: the EAL's --log-level wins for the types it names.
 */

/* Stands for a driver's type (pmd.dma.mmrt.<name>), registered early. */
static int test_logtype;

RTE_INIT(test_cmdline_logtype)
{
	test_logtype = rte_log_register_type_and_pick_level(
		"pmd.dma.mmrt.test_cmdline", RTE_LOG_NOTICE);
}

Test(cmdline, eal_log_level_reaches_mmrt_types)
{
	char *argv[] = { (char *)"prog",
		(char *)"--log-level=pmd.dma.mmrt.*:debug", (char *)"--",
		(char *)"--log-level", (char *)"4", NULL };

	cr_assert_geq(test_logtype, 0);
	cr_assert_eq(mmrt_init(ARGC(argv), argv), 4);
	cr_assert_eq(rte_log_get_level(test_logtype), RTE_LOG_DEBUG,
		"the EAL's --log-level was overridden: %d",
		rte_log_get_level(test_logtype));
	/* mmrt's own level still applies to the types the EAL left. */
	cr_assert_eq(rte_log_get_level(mmrt_logtype_core), 4);
	mmrt_test_down();
}

/*
 * The embedded default's runtime directory goes with mmrt_fini().
 */

Test(cmdline, embedded_runtime_dir_removed)
{
	char *argv[] = { (char *)"prog", (char *)"--", (char *)"--pool-mb",
		(char *)"16", NULL };
	char dir[PATH_MAX];
	struct stat sb;

	cr_assert_geq(mmrt_init(ARGC(argv), argv), 0);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	cr_assert_not_null(strstr(dir, "/mmrt-"), "runtime dir %s", dir);
	cr_assert_eq(stat(dir, &sb), 0, "%s: %s", dir, strerror(errno));
	cr_assert_eq(mmrt_fini(), 0);
	cr_assert_neq(stat(dir, &sb), 0, "%s left behind", dir);
	cr_assert_eq(errno, ENOENT);
}

/*
 * ... and with the process when it exits without mmrt_fini(), as DPDK
 * applications often do; a child forked from it exits first and must
 * leave the directory to its parent.
 */
Test(cmdline, embedded_runtime_dir_removed_at_exit, .timeout = 60)
{
	char *argv[] = { (char *)"prog", (char *)"--", (char *)"--pool-mb",
		(char *)"16", NULL };
	char dir[PATH_MAX] = "";
	struct stat sb;
	int fd[2], st;
	pid_t pid;

	cr_assert_eq(pipe(fd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		pid_t kid;
		int ok;

		close(fd[0]);
		if (mmrt_init(ARGC(argv), argv) < 0)
			_exit(2);
		snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
		kid = fork();
		if (kid == 0)
			exit(0);	/* runs the atexit handlers */
		if (kid < 0 || waitpid(kid, &st, 0) != kid)
			_exit(3);
		ok = stat(dir, &sb) == 0;
		if (write(fd[1], dir, sizeof(dir)) != (ssize_t)sizeof(dir))
			_exit(4);
		exit(ok ? 0 : 5);	/* no mmrt_fini() */
	}
	close(fd[1]);
	cr_assert_eq(read(fd[0], dir, sizeof(dir)), (ssize_t)sizeof(dir));
	close(fd[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "child status %#x", st);
	cr_assert_neq(WEXITSTATUS(st), 5,
		"a forked child's exit removed %s", dir);
	cr_assert_eq(WEXITSTATUS(st), 0, "child exit %d", WEXITSTATUS(st));
	cr_assert_not_null(strstr(dir, "/mmrt-"), "runtime dir %s", dir);
	cr_assert_neq(stat(dir, &sb), 0, "%s left behind", dir);
	cr_assert_eq(errno, ENOENT);
}

/*
 * A DPDK secondary process: mmrt_init() and mmrt_attach() join the
 * primary's runtime (with the primary's configuration) and mmrt_fini()
 * leaves it without tearing it down. DPDK's secondaries need a primary on
 * hugepages (a --no-huge primary shares no memory), so these skip
 * without them. tests/check-secondary.sh does the work in the spaces.
 */

#define SEC_WAIT_MS 30000
/* The primary takes -m 64: 32 pages of 2 MiB, and some to spare. */
#define SEC_HUGEPAGES 48
/*
 * A DPDK secondary maps the primary's memory at the primary's addresses;
 * under ASan those ranges may hold the sanitizer's shadow ("Cannot init
 * memzone"), so the secondary cannot start at all.
 */
#if defined(__SANITIZE_ADDRESS__)
#define ASAN_NO_SECONDARY 1
#else
#define ASAN_NO_SECONDARY 0
#endif
#define SEC_ASAN_SKIP "a DPDK secondary cannot map the primary's memory " \
	"at its addresses under ASan (the shadow holds them)"
#define SEC_SKIP "needs 48 free 2 MiB hugepages on a hugetlbfs mount: " \
	"./mmrt.sh hugepages reserve 128M"

static bool
hugepages_for_secondary(void)
{
	return mmrt_test_free_hugepages() >= SEC_HUGEPAGES &&
		mmrt_test_hugetlbfs_mounted() && getuid() == 0;
}

/* An mmrt primary: bring mmrt up, say so on @p ready, wait for @p stop. */
struct primary {
	char name[64];
	pid_t pid;
	int ready;  /* read end: one byte once the primary is up */
	int stop;   /* write end: closing it lets the primary go */
};

static void
primary_main(const char *name, int ready, int stop)
{
	char prefix[96];
	char *argv[] = { (char *)"primary", (char *)"-m", (char *)"64",
		(char *)"--no-pci", (char *)"--no-telemetry", prefix,
		(char *)"-l", (char *)"0", (char *)"--log-level=lib.eal:error",
		(char *)"--", (char *)"--pool-mb", (char *)"16", NULL };
	char c = 1;

	snprintf(prefix, sizeof(prefix), "--file-prefix=%s", name);
	if (mmrt_init(ARGC(argv), argv) < 0)
		_exit(2);
	if (write(ready, &c, 1) != 1)
		_exit(3);
	/* Until the test closes its end (or dies). */
	while (read(stop, &c, 1) > 0)
		;
	_exit(mmrt_fini() == 0 ? 0 : 4);
}

/* Wait at most @p ms for one byte on @p fd; @return true if it came. */
static bool
wait_byte(int fd, unsigned int ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	unsigned int waited;
	char c;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (waited = 0; waited < ms; waited += 10) {
		if (read(fd, &c, 1) == 1)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Reap @p pid within @p ms, killing it if it does not go. */
static int
reap(pid_t pid, unsigned int ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	unsigned int waited;
	int st = -1;

	for (waited = 0; waited < ms; waited += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return st;
}

/* Remove what DPDK left of the primary (its runtime directory, and its
 * hugepage map files if it was killed). */
static void
remove_primary_files(const char *name)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '/var/run/dpdk/%s'; for m in $(awk"
		" '$3 == \"hugetlbfs\" { print $2 }' /proc/mounts); do"
		" rm -f \"$m\"/%smap_*; done", name, name);
	if (system(cmd) != 0)
		cr_log_warn("could not remove the files of %s", name);
}

static void
primary_start(struct primary *p)
{
	int ready[2], stop[2];

	snprintf(p->name, sizeof(p->name), "mmrt-test-sec-%d", (int)getpid());
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(stop), 0);
	fflush(NULL);
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0) {
		close(ready[0]);
		close(stop[1]);
		primary_main(p->name, ready[1], stop[0]);
	}
	close(ready[1]);
	close(stop[0]);
	p->ready = ready[0];
	p->stop = stop[1];
	if (!wait_byte(p->ready, SEC_WAIT_MS)) {
		close(p->stop);
		close(p->ready);
		remove_primary_files(p->name);
		cr_assert_fail("primary did not come up (status %#x)",
			reap(p->pid, SEC_WAIT_MS));
	}
}

/* @return the primary's wait status. */
static int
primary_stop(struct primary *p)
{
	int st;

	close(p->stop);
	st = reap(p->pid, SEC_WAIT_MS);
	close(p->ready);
	remove_primary_files(p->name);
	return st;
}

/* The EAL arguments of the secondary of a secondary_begin() primary. */
#define SECONDARY_EAL(prefix) \
	(char *)"prog", (char *)"--proc-type=secondary", (prefix), \
	(char *)"--no-pci", (char *)"--no-telemetry", (char *)"-l", \
	(char *)"1", (char *)"--log-level=lib.eal:crit"

/*
 * Start an mmrt primary for a secondary test, and set @prefix to the
 * secondary's --file-prefix; skip where no secondary can start.
 */
static void
secondary_begin(struct primary *p, char *prefix, size_t size)
{
	if (ASAN_NO_SECONDARY)
		cr_skip_test(SEC_ASAN_SKIP);
	if (!hugepages_for_secondary())
		cr_skip_test(SEC_SKIP);
	primary_start(p);
	snprintf(prefix, size, "--file-prefix=%s", p->name);
}

Test(cmdline, secondary_init_joins_the_runtime, .timeout = 120)
{
	struct primary p;
	char prefix[96];
	char *argv[] = { SECONDARY_EAL(prefix), (char *)"--",
		(char *)"--pool-mb", (char *)"32", NULL };
	const struct mmrt_config *cfg;
	uint32_t pool_mb = 0;
	int ret, fini, st;
	bool up;

	secondary_begin(&p, prefix, sizeof(prefix));
	ret = mmrt_init(ARGC(argv), argv);
	up = mmrt_is_up();
	cfg = mmrt_config_get();
	if (cfg != NULL)
		pool_mb = cfg->pool_mb;
	fini = ret >= 0 ? mmrt_fini() : -1;
	st = primary_stop(&p);

	cr_assert_geq(ret, 0, "mmrt_init in a secondary: %d", ret);
	cr_assert(up);
	/* the primary's configuration, not the secondary's --pool-mb */
	cr_assert_eq(pool_mb, 16, "pool_mb %u", pool_mb);
	cr_assert_eq(fini, 0, "mmrt_fini in a secondary: %d", fini);
	cr_assert_not(mmrt_is_up());
	/* mmrt ran the EAL and cleaned it up: it cannot come back. */
	cr_assert_eq(mmrt_init(ARGC(argv), argv), -EALREADY);
	/* the secondary left: the primary's fini was not refused */
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"primary status %#x", st);
}

Test(cmdline, secondary_attach_joins_the_runtime, .timeout = 120)
{
	struct primary p;
	char prefix[96];
	char *argv[] = { SECONDARY_EAL(prefix), NULL };
	int ret, fini, st;

	secondary_begin(&p, prefix, sizeof(prefix));
	if (rte_eal_init(ARGC(argv), argv) < 0) {
		primary_stop(&p);
		cr_assert_fail("secondary EAL: %s", rte_strerror(rte_errno));
	}
	ret = mmrt_attach(NULL);
	cr_assert_eq(ret, 0, "mmrt_attach in a secondary: %d", ret);
	cr_assert(mmrt_is_up());
	cr_assert_eq(mmrt_attach(NULL), -EALREADY);
	fini = mmrt_fini();
	cr_assert_not(mmrt_is_up());
	/* The EAL is the application's: still there, its to clean up. */
	cr_assert_geq(rte_lcore_count(), 1);
	rte_eal_cleanup();
	st = primary_stop(&p);

	cr_assert_eq(fini, 0, "mmrt_fini in a secondary: %d", fini);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"primary status %#x", st);
}
