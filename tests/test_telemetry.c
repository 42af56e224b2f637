/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The /mmrt/ telemetry endpoints, read by Debian's stock
 * /usr/bin/dpdk-telemetry.py (package dpdk-dev) against this process:
 * every endpoint answers JSON that parses and whose values are those of
 * the mmrt_*_stats() calls; bad parameters answer null and the process
 * keeps serving (a later command and a second client still work). A C
 * client on the socket queries the lists while spaces and consumers come
 * and go. The embedded default's telemetry socket and runtime directory
 * go with mmrt_fini().
 *
 * Each test brings up its own EAL (Criterion forks one process per test;
 * the embedded default's --file-prefix is mmrt-<pid>-0). dpdk-telemetry.py
 * runs under timeout(1); the JSON is flattened by python3 into lines
 * "<reply no>\t<command>\t<key>\t<JSON value>" that the test reads.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_dev.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_service.h>

#include <mmrt_dev.h>
#include <mmrt_dma_mmrt.h>
#include <mmrt_uffd.h>

#include "common.h"

#define TEL_PY "/usr/bin/dpdk-telemetry.py"
#define TEL_SOCK "dpdk_telemetry.v2"
#define TEL_TIMEOUT_S 60
#define VA_A 0x10000000ull
#define VA_U 0x20000000ull

/* Flatten each reply line: "<n>\t<cmd>\t<key>\t<json>"; key "=" for a
 * whole non-dict value; "BADJSON" for a line that does not parse. */
static const char flatten_py[] =
	"import json, sys\n"
	"for n, line in enumerate(sys.stdin):\n"
	"    try:\n"
	"        o = json.loads(line)\n"
	"    except ValueError:\n"
	"        print('%d\\tBADJSON\\t\\t' % n)\n"
	"        continue\n"
	"    for c, v in o.items():\n"
	"        if isinstance(v, dict):\n"
	"            for k, x in v.items():\n"
	"                print('%d\\t%s\\t%s\\t%s' % (n, c, k, json.dumps(x)))\n"
	"        else:\n"
	"            print('%d\\t%s\\t=\\t%s' % (n, c, json.dumps(v)))\n";

struct tel_line {
	int n;
	char cmd[128];
	char key[64];
	char val[512];
};

static struct tel_line tel_lines[1024];
static int tel_nlines;
static char tel_dir[64];

static void
tel_skip_unless_tool(void)
{
	if (access(TEL_PY, X_OK) != 0 || system("python3 -c '' 2>/dev/null"))
		cr_skip_test(TEL_PY " or python3 missing (package dpdk-dev)");
}

/* The file prefix of our EAL: the runtime directory's last component. */
static const char *
tel_prefix(void)
{
	const char *dir = rte_eal_get_runtime_dir();
	const char *base = strrchr(dir, '/');

	cr_assert_not_null(base, "runtime dir %s", dir);
	return base + 1;
}

static void
tel_write_file(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tel_dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/*
 * Run dpdk-telemetry.py with @cmds on stdin (one command a line), bounded
 * by timeout(1), and load its flattened replies into tel_lines.
 * @return the number of reply lines.
 */
static int
tel_run(const char *cmds)
{
	char cmd[PATH_MAX * 2], path[PATH_MAX];
	FILE *f;
	int rc, nreply = 0;

	tel_write_file("cmds", cmds);
	tel_write_file("flatten.py", flatten_py);
	snprintf(cmd, sizeof(cmd),
		"timeout %d " TEL_PY " -f '%s' < '%s/cmds' > '%s/raw' 2>&1 && "
		"python3 '%s/flatten.py' < '%s/raw' > '%s/out'",
		TEL_TIMEOUT_S, tel_prefix(), tel_dir, tel_dir, tel_dir, tel_dir,
		tel_dir);
	rc = system(cmd);
	cr_assert_eq(rc, 0, "%s: status %#x", cmd, rc);
	snprintf(path, sizeof(path), "%s/out", tel_dir);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	tel_nlines = 0;
	while (tel_nlines < (int)RTE_DIM(tel_lines)) {
		struct tel_line *l = &tel_lines[tel_nlines];
		char buf[1024], *t1, *t2, *t3;

		if (fgets(buf, sizeof(buf), f) == NULL)
			break;
		buf[strcspn(buf, "\n")] = '\0';
		t1 = strchr(buf, '\t');
		t2 = t1 != NULL ? strchr(t1 + 1, '\t') : NULL;
		t3 = t2 != NULL ? strchr(t2 + 1, '\t') : NULL;
		cr_assert_not_null(t3, "bad line %s", buf);
		*t1 = *t2 = *t3 = '\0';
		l->n = atoi(buf);
		snprintf(l->cmd, sizeof(l->cmd), "%s", t1 + 1);
		snprintf(l->key, sizeof(l->key), "%s", t2 + 1);
		snprintf(l->val, sizeof(l->val), "%s", t3 + 1);
		cr_assert_str_neq(l->cmd, "BADJSON", "reply %d is not JSON",
			l->n);
		if (l->n + 1 > nreply)
			nreply = l->n + 1;
		tel_nlines++;
	}
	fclose(f);
	return nreply;
}

/* The value of @key in reply @n, which must be the reply to @cmd. */
static const char *
tel_get(int n, const char *cmd, const char *key)
{
	int i;

	for (i = 0; i < tel_nlines; i++) {
		if (tel_lines[i].n != n)
			continue;
		/* the reply is keyed by the command without its parameters */
		cr_assert(strlen(tel_lines[i].cmd) == strcspn(cmd, ",") &&
			strncmp(tel_lines[i].cmd, cmd, strcspn(cmd, ",")) == 0,
			"reply %d: %s for %s", n, tel_lines[i].cmd, cmd);
		if (strcmp(tel_lines[i].key, key) == 0)
			return tel_lines[i].val;
	}
	cr_assert_fail("reply %d (%s): no %s", n, cmd, key);
	return NULL;
}

/* Keys of reply @n. */
static int
tel_nkeys(int n)
{
	int i, k = 0;

	for (i = 0; i < tel_nlines; i++)
		k += tel_lines[i].n == n;
	return k;
}

static void
tel_expect_u64(int n, const char *cmd, const char *key, uint64_t want)
{
	const char *v = tel_get(n, cmd, key);
	char *end;
	uint64_t got;

	errno = 0;
	got = strtoull(v, &end, 10);
	cr_assert(errno == 0 && *end == '\0', "%s %s: %s", cmd, key, v);
	cr_expect_eq(got, want, "%s %s: %" PRIu64 ", stats %" PRIu64, cmd,
		key, got, want);
}

static void
tel_expect_str(int n, const char *cmd, const char *key, const char *want)
{
	cr_expect_str_eq(tel_get(n, cmd, key), want, "%s %s", cmd, key);
}

/* Reply @n is the error answer (null) to @cmd. */
static void
tel_expect_null(int n, const char *cmd)
{
	tel_expect_str(n, cmd, "=", "null");
}

#define EXP(n, cmd, st, f) tel_expect_u64(n, cmd, #f, (st)->f)

static void
tel_setup(void)
{
	snprintf(tel_dir, sizeof(tel_dir), "/tmp/mmrt-tel-XXXXXX");
	cr_assert_not_null(mkdtemp(tel_dir), "mkdtemp: %s", strerror(errno));
}

static void
tel_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tel_dir);
	(void)system(cmd);
}

TestSuite(telemetry, .init = tel_setup, .fini = tel_teardown);

/* A fault on @as at @va posted to @u (NOWAIT), read, and resolved. */
static void
tel_uffd_fault(struct mmrt_as *as, struct mmrt_uffd *u, uint64_t va)
{
	static uint8_t page[PG];
	struct mmrt_uffd_copy cp = { .dst = va, .src = page, .len = PG };
	struct mmrt_uffd_msg m;
	uint64_t x;

	cr_assert_eq(mmrt_read_flags(as, va, &x, sizeof(x),
		MMRT_ACCESS_NOWAIT), -EAGAIN);
	cr_assert_eq(mmrt_uffd_read(u, &m, 1), 1);
	cr_assert_eq(m.event, MMRT_UFFD_EVENT_PAGEFAULT);
	memset(page, 0x5a, sizeof(page));
	cr_assert_eq(mmrt_uffd_copy(u, &cp), 0);
	cr_assert_eq(mmrt_read(as, va, &x, sizeof(x)), 0);
	cr_assert_eq(x, 0x5a5a5a5a5a5a5a5aull);
}

Test(telemetry, endpoints_match_stats)
{
	struct mmrt_consumer_conf cc = { .name = "tel_c" };
	struct mmrt_consumer_conf cc2 = { .name = "tel_idle" };
	struct mmrt_consumer *c, *c2;
	struct mmrt_uffd *u0, *u1;
	struct mmrt_as *as, *as2;
	struct mmrt_mem_stats ms;
	struct mmrt_as_stats a1, a2;
	struct mmrt_consumer_stats cs;
	struct mmrt_uffd_stats us0, us1;
	struct mmrt_xlate xl;
	char cmds[4096], buf[256], sock[PATH_MAX + 32], dir[PATH_MAX];
	char big[MMRT_NAME_SIZE + 8];
	struct stat sb;
	uint64_t f = 0, i, ops;
	int id, n, nr;

	tel_skip_unless_tool();
	mmrt_test_up(64);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	snprintf(sock, sizeof(sock), "%s/" TEL_SOCK, dir);
	cr_assert_eq(stat(sock, &sb), 0, "%s: %s", sock, strerror(errno));
	cr_assert(S_ISSOCK(sb.st_mode));
	cr_assert_geq(mmrt_thread_register(), 0);

	/* A space with a region and faults, and an empty one. */
	as = mmrt_as_create("tel_as");
	as2 = mmrt_as_create("tel_as2");
	cr_assert(as != NULL && as2 != NULL);
	cr_assert_eq(mmrt_map(as, VA_A, 16 * PG, MMRT_PROT_WRITE, 0), 0);
	memset(buf, 0xa5, sizeof(buf));
	for (i = 0; i < 4; i++)
		cr_assert_eq(mmrt_write(as, VA_A + i * PG, buf, sizeof(buf)), 0);

	/* A bound consumer with hits, misses and an invalidation. */
	c = mmrt_consumer_create(&cc);
	c2 = mmrt_consumer_create(&cc2);
	cr_assert(c != NULL && c2 != NULL);
	id = mmrt_consumer_bind(c, as);
	cr_assert_gt(id, 0);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(mmrt_consumer_translate(c, VA_A, 0, &xl), 0);
		cr_assert_eq(mmrt_consumer_translate(c, VA_A + PG, 0, &xl), 0);
	}
	cr_assert_eq(mmrt_advise(as, VA_A, PG, MMRT_ADV_DONTNEED), 0);
	cr_assert_geq(mmrt_consumer_poll(c), 0);

	/* Two uffds: the older one serves a region and took a fault. */
	u0 = mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(u0, "uffd: %d", rte_errno);
	f = 0;
	u1 = mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(u1);
	cr_assert_eq(mmrt_map(as, VA_U, 8 * PG, MMRT_PROT_WRITE, 0), 0);
	cr_assert_eq(mmrt_uffd_register(u0, VA_U, 8 * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, &ops), 0);
	tel_uffd_fault(as, u0, VA_U);
	tel_uffd_fault(as, u0, VA_U + 3 * PG);

	/* Nothing runs from here on: the stats stand still. */
	cr_assert_eq(mmrt_mem_stats(&ms), 0);
	cr_assert_eq(mmrt_as_stats(as, &a1), 0);
	cr_assert_eq(mmrt_as_stats(as2, &a2), 0);
	cr_assert_eq(mmrt_consumer_stats(c, &cs), 0);
	cr_assert_eq(mmrt_uffd_stats(u0, &us0), 0);
	cr_assert_eq(mmrt_uffd_stats(u1, &us1), 0);
	cr_assert_gt(a1.faults, 0);
	cr_assert_gt(cs.tlb_hits, 0);
	cr_assert_gt(cs.tlb_misses, 0);
	cr_assert_gt(cs.inval_descs, 0);
	cr_assert_eq(us0.faults, 2);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(cmds, sizeof(cmds),
		"/mmrt/pool\n"                    /* 0 */
		"/mmrt/as/list\n"                 /* 1 */
		"/mmrt/as/info,tel_as\n"          /* 2 */
		"/mmrt/as/info,tel_as2\n"         /* 3 */
		"/mmrt/consumer/list\n"           /* 4 */
		"/mmrt/consumer/info,%d\n"        /* 5 */
		"/mmrt/uffd/list\n"               /* 6 */
		"/mmrt/uffd/info,tel_as,0\n"      /* 7 */
		"/mmrt/uffd/info,tel_as,1\n"      /* 8 */
		/* bad parameters: 9.. */
		"/mmrt/as/info\n"
		"/mmrt/as/info,nope\n"
		"/mmrt/as/info,%s\n"
		"/mmrt/consumer/info\n"
		"/mmrt/consumer/info,abc\n"
		"/mmrt/consumer/info,0\n"
		"/mmrt/consumer/info,-1\n"
		"/mmrt/consumer/info,99999999999\n"
		"/mmrt/consumer/info,%d\n"
		"/mmrt/consumer/info, %d\n"
		"/mmrt/uffd/info\n"
		"/mmrt/uffd/info,tel_as\n"
		"/mmrt/uffd/info,tel_as,2\n"
		"/mmrt/uffd/info,nope,0\n"
		"/mmrt/uffd/info,tel_as,x\n"
		"/mmrt/uffd/info,tel_as2,0\n"
		"/mmrt/pool,1\n"
		"/mmrt/as/list,1\n"               /* 26 */
		/* still serving */
		"/mmrt/as/info,tel_as\n",         /* 27 */
		id, big, id + 1, id);
	nr = tel_run(cmds);
	cr_assert_eq(nr, 28, "%d replies", nr);

	n = 0;
	EXP(n, "/mmrt/pool", &ms, frames_total);
	EXP(n, "/mmrt/pool", &ms, frames_free);
	EXP(n, "/mmrt/pool", &ms, huge_total);
	EXP(n, "/mmrt/pool", &ms, huge_free);
	EXP(n, "/mmrt/pool", &ms, pt_pages);
	EXP(n, "/mmrt/pool", &ms, allocs);
	EXP(n, "/mmrt/pool", &ms, frees);
	EXP(n, "/mmrt/pool", &ms, huge_allocs);
	EXP(n, "/mmrt/pool", &ms, huge_frees);
	EXP(n, "/mmrt/pool", &ms, alloc_fail);
	EXP(n, "/mmrt/pool", &ms, splits);
	EXP(n, "/mmrt/pool", &ms, bytes_meta);
	EXP(n, "/mmrt/pool", &ms, frames_clean);
	EXP(n, "/mmrt/pool", &ms, zeroed);
	EXP(n, "/mmrt/pool", &ms, zero_hits);
	tel_expect_u64(n, "/mmrt/pool", "hugepages", ms.hugepages);
	tel_expect_u64(n, "/mmrt/pool", "iova_as_va", ms.iova_as_va);
	tel_expect_u64(n, "/mmrt/pool", "used", mmrt_mem_used());

	tel_expect_str(1, "/mmrt/as/list", "=", "[\"tel_as\", \"tel_as2\"]");

	for (n = 2; n <= 3; n++) {
		const char *cmd = n == 2 ? "/mmrt/as/info,tel_as" :
			"/mmrt/as/info,tel_as2";
		struct mmrt_as_stats *s = n == 2 ? &a1 : &a2;

		tel_expect_str(n, cmd, "name", n == 2 ? "\"tel_as\"" :
			"\"tel_as2\"");
		EXP(n, cmd, s, regions);
		EXP(n, cmd, s, mapped_bytes);
		EXP(n, cmd, s, rss_pages);
		EXP(n, cmd, s, pt_pages);
		EXP(n, cmd, s, faults);
		EXP(n, cmd, s, cow);
		EXP(n, cmd, s, cow_reuse);
		EXP(n, cmd, s, cow_huge);
		EXP(n, cmd, s, cow_reuse_huge);
		EXP(n, cmd, s, splits);
		EXP(n, cmd, s, flushes);
		EXP(n, cmd, s, nested_flushes);
		tel_expect_u64(n, cmd, "uffds", n == 2 ? 2 : 0);
		cr_expect_eq(tel_nkeys(n), 14);
	}
	cr_expect_eq(a1.regions, 2);
	cr_expect_eq(a1.mapped_bytes, 24 * PG);

	/* tel_idle is not bound: it has no id, and is not listed */
	snprintf(buf, sizeof(buf), "[%d]", id);
	tel_expect_str(4, "/mmrt/consumer/list", "=", buf);
	snprintf(buf, sizeof(buf), "/mmrt/consumer/info,%d", id);
	n = 5;
	tel_expect_str(n, buf, "name", "\"tel_c\"");
	tel_expect_u64(n, buf, "id", (uint64_t)id);
	tel_expect_u64(n, buf, "fenced", 0);
	EXP(n, buf, &cs, tlb_hits);
	EXP(n, buf, &cs, tlb_misses);
	EXP(n, buf, &cs, tlb_fills);
	EXP(n, buf, &cs, tlb_evictions);
	EXP(n, buf, &cs, inval_descs);
	EXP(n, buf, &cs, inval_flush_all);
	EXP(n, buf, &cs, inval_mailbox);
	EXP(n, buf, &cs, entries_dropped);
	EXP(n, buf, &cs, acks);
	EXP(n, buf, &cs, fences);
	EXP(n, buf, &cs, page_requests);
	EXP(n, buf, &cs, page_requests_dedup);
	EXP(n, buf, &cs, userfaults);
	EXP(n, buf, &cs, faults_resolved);
	EXP(n, buf, &cs, quarantined);
	EXP(n, buf, &cs, quarantine_held);
	cr_expect_eq(tel_nkeys(n), 19);

	tel_expect_str(6, "/mmrt/uffd/list", "=",
		"[\"tel_as,1\", \"tel_as,0\"]");
	for (n = 7; n <= 8; n++) {
		const char *cmd = n == 7 ? "/mmrt/uffd/info,tel_as,0" :
			"/mmrt/uffd/info,tel_as,1";
		struct mmrt_uffd_stats *s = n == 7 ? &us0 : &us1;

		tel_expect_str(n, cmd, "as", "\"tel_as\"");
		tel_expect_u64(n, cmd, "pos", (uint64_t)(n - 7));
		tel_expect_u64(n, cmd, "features",
			mmrt_uffd_features(n == 7 ? u0 : u1));
		EXP(n, cmd, s, faults);
		EXP(n, cmd, s, faults_dedup);
		EXP(n, cmd, s, faults_missing);
		EXP(n, cmd, s, faults_wp);
		EXP(n, cmd, s, faults_minor);
		EXP(n, cmd, s, faults_sigbus);
		EXP(n, cmd, s, faults_full);
		EXP(n, cmd, s, events);
		EXP(n, cmd, s, events_lost);
		EXP(n, cmd, s, wp_async);
		EXP(n, cmd, s, wakes);
		EXP(n, cmd, s, filled_pages);
		EXP(n, cmd, s, pending);
		cr_expect_eq(tel_nkeys(n), 16);
	}
	cr_expect_eq(us0.filled_pages, 2);

	/* Every bad parameter: null, and nothing else in the reply. */
	for (n = 9; n <= 26; n++) {
		cr_expect_eq(tel_nkeys(n), 1, "reply %d", n);
	}
	tel_expect_null(9, "/mmrt/as/info");
	tel_expect_null(10, "/mmrt/as/info");
	tel_expect_null(11, "/mmrt/as/info");
	for (n = 12; n <= 18; n++)
		tel_expect_null(n, "/mmrt/consumer/info");
	for (n = 19; n <= 24; n++)
		tel_expect_null(n, "/mmrt/uffd/info");
	tel_expect_null(25, "/mmrt/pool");
	tel_expect_null(26, "/mmrt/as/list");
	EXP(27, "/mmrt/as/info,tel_as", &a1, faults);

	/* A second client, after the errors: the process still serves. */
	nr = tel_run("/mmrt/as/list\n/mmrt/consumer/list\n");
	cr_assert_eq(nr, 2);
	tel_expect_str(0, "/mmrt/as/list", "=", "[\"tel_as\", \"tel_as2\"]");

	/* Destroyed objects leave the lists. */
	cr_assert_eq(mmrt_uffd_destroy(u1), 0);
	cr_assert_eq(mmrt_consumer_destroy(c), 0);
	cr_assert_eq(mmrt_as_destroy(as2), 0);
	nr = tel_run("/mmrt/as/list\n/mmrt/consumer/list\n/mmrt/uffd/list\n"
		"/mmrt/as/info,tel_as2\n");
	cr_assert_eq(nr, 4);
	tel_expect_str(0, "/mmrt/as/list", "=", "[\"tel_as\"]");
	tel_expect_str(1, "/mmrt/consumer/list", "=", "[]");
	tel_expect_str(2, "/mmrt/uffd/list", "=", "[\"tel_as,0\"]");
	tel_expect_null(3, "/mmrt/as/info");

	cr_assert_eq(mmrt_uffd_destroy(u0), 0);
	cr_assert_eq(mmrt_consumer_destroy(c2), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_thread_unregister(), 0);
	/* The socket and the runtime directory go with mmrt_fini(). */
	cr_assert_eq(mmrt_fini(), 0);
	cr_assert_neq(stat(sock, &sb), 0, "%s left behind", sock);
	cr_assert_neq(stat(dir, &sb), 0, "%s left behind", dir);
	cr_assert_eq(errno, ENOENT);
}

/*
 * A plain client on the v2 socket: SOCK_SEQPACKET, one command a message,
 * one reply a message (the first message is the welcome).
 */
static int
tel_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = TEL_TIMEOUT_S };
	char buf[1024];
	int fd;

	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0)
		return -errno;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    recv(fd, buf, sizeof(buf), 0) <= 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send @cmd, receive the reply into @out. @return its length, or -1. */
static ssize_t
tel_query(int fd, const char *cmd, char *out, size_t size)
{
	ssize_t n;

	if (send(fd, cmd, strlen(cmd), 0) < 0)
		return -1;
	n = recv(fd, out, size - 1, 0);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	return n;
}

struct tel_race {
	char path[PATH_MAX + 32];
	volatile int stop;
	unsigned long queries;
	unsigned long bad;       /* replies that are not a JSON object */
	char bad_reply[256];
};

static void *
tel_race_client(void *arg)
{
	static const char *const cmds[] = {
		"/mmrt/as/list", "/mmrt/as/info,race0", "/mmrt/as/info,race1",
		"/mmrt/consumer/list", "/mmrt/consumer/info,1",
		"/mmrt/consumer/info,2", "/mmrt/uffd/list",
		"/mmrt/uffd/info,race0,0", "/mmrt/uffd/info,race1,1",
		"/mmrt/pool",
	};
	struct tel_race *r = arg;
	char out[16384];
	unsigned int i = 0;
	ssize_t n;
	int fd;

	fd = tel_connect(r->path);
	if (fd < 0) {
		r->bad++;
		return NULL;
	}
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		n = tel_query(fd, cmds[i++ % RTE_DIM(cmds)], out, sizeof(out));
		if (n < 2 || strncmp(out, "{\"/mmrt/", 8) != 0 ||
		    out[n - 1] != '}') {
			if (r->bad++ == 0)
				snprintf(r->bad_reply, sizeof(r->bad_reply),
					"%.200s", n < 0 ? "(no reply)" : out);
			break;
		}
		__atomic_fetch_add(&r->queries, 1, __ATOMIC_RELAXED);
	}
	close(fd);
	return NULL;
}

/*
 * The walks under the endpoints against concurrent create and destroy of
 * spaces, uffds and consumers (with binds): every reply is well formed
 * and the process survives (an ASan build catches a use after free).
 */
Test(telemetry, walks_race_destroy)
{
	struct tel_race r = { .stop = 0 };
	struct mmrt_consumer *c[2];
	struct mmrt_uffd *u[2];
	struct mmrt_as *as[2];
	char name[16];
	unsigned long q0;
	time_t deadline;
	pthread_t t;
	uint64_t f;
	int round, k;

	mmrt_test_up(64);
	snprintf(r.path, sizeof(r.path), "%s/" TEL_SOCK,
		rte_eal_get_runtime_dir());
	cr_assert_eq(pthread_create(&t, NULL, tel_race_client, &r), 0);
	/*
	 * The client connected and answered once before the churn starts,
	 * and the churn lasts until it answered during it (300 rounds at
	 * least; bounded in time: on two shared cores the client may be
	 * scheduled late, which once left it no query at all).
	 */
	deadline = time(NULL) + 30;
	while (__atomic_load_n(&r.queries, __ATOMIC_RELAXED) == 0 &&
			r.bad == 0 && time(NULL) < deadline)
		usleep(1000);
	q0 = __atomic_load_n(&r.queries, __ATOMIC_RELAXED);
	cr_assert_gt(q0, 0, "the telemetry client never answered");
	for (round = 0; r.bad == 0 && (round < 300 ||
			(__atomic_load_n(&r.queries, __ATOMIC_RELAXED) == q0 &&
			time(NULL) < deadline)); round++) {
		for (k = 0; k < 2; k++) {
			snprintf(name, sizeof(name), "race%d", k);
			as[k] = mmrt_as_create(name);
			cr_assert_not_null(as[k]);
			cr_assert_eq(mmrt_map(as[k], VA_A, 4 * PG,
				MMRT_PROT_WRITE, 0), 0);
			f = 0;
			u[k] = mmrt_uffd_create(as[k], MMRT_UFFD_API, &f, NULL);
			cr_assert_not_null(u[k]);
			c[k] = mmrt_consumer_create(NULL);
			cr_assert_not_null(c[k]);
			cr_assert_gt(mmrt_consumer_bind(c[k], as[k]), 0);
		}
		for (k = 0; k < 2; k++) {
			cr_assert_eq(mmrt_consumer_destroy(c[k]), 0);
			cr_assert_eq(mmrt_uffd_destroy(u[k]), 0);
			cr_assert_eq(mmrt_as_destroy(as[k]), 0);
		}
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(r.bad, 0, "bad reply: %s", r.bad_reply);
	cr_assert_gt(r.queries, q0, "no query during the churn");
	cr_log_info("%lu queries in %d rounds", r.queries, round);
	mmrt_test_down();
}

/*
 * The foreach contracts: what a walk hands its callback is not destroyed
 * before the callback returns. The callback starts a destroy of that very
 * object on another thread and watches, for up to WALK_WATCH_S, whether
 * it completes: it must not (it completes once the walk has returned).
 */
#define WALK_WATCH_S 2

enum walk_kind { WALK_AS, WALK_UFFD, WALK_CONSUMER };

struct walk_ctx {
	enum walk_kind kind;
	void *obj;               /* what the destroyer destroys */
	volatile int done;       /* the destroy returned */
	int ret;                 /* ... with this */
	int seen;                /* callbacks on obj */
	int done_in_cb;          /* done seen set inside the callback */
	int live_in_cb;          /* obj still live at the callback's end */
	pthread_t t;
};

static void *
walk_destroyer(void *arg)
{
	struct walk_ctx *w = arg;

	switch (w->kind) {
	case WALK_AS:
		w->ret = mmrt_as_destroy(w->obj);
		break;
	case WALK_UFFD:
		w->ret = mmrt_uffd_destroy(w->obj);
		break;
	case WALK_CONSUMER:
		w->ret = mmrt_consumer_destroy(w->obj);
		break;
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Start the destroy of w->obj and watch it while holding the walk. */
static void
walk_watch(struct walk_ctx *w)
{
	uint64_t d = mmrt_test_deadline(WALK_WATCH_S);

	w->seen++;
	if (pthread_create(&w->t, NULL, walk_destroyer, w) != 0)
		return;
	while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE) &&
	       !mmrt_test_expired(d))
		usleep(1000);
	w->done_in_cb = __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

static int
walk_as_cb(struct mmrt_as *as, void *arg)
{
	struct walk_ctx *w = arg;
	struct mmrt_as_stats st;

	if (as != w->obj)
		return 0;
	walk_watch(w);
	w->live_in_cb = mmrt_as_name(as) != NULL &&
		mmrt_as_stats(as, &st) == 0;
	return 0;
}

static int
walk_uffd_cb(struct mmrt_uffd *u, unsigned int pos __rte_unused, void *arg)
{
	struct walk_ctx *w = arg;
	struct mmrt_uffd_stats st;

	if (u != w->obj)
		return 0;
	walk_watch(w);
	w->live_in_cb = mmrt_uffd_stats(u, &st) == 0;
	return 0;
}

static int
walk_consumer_cb(struct mmrt_consumer *c, void *arg)
{
	struct walk_ctx *w = arg;
	struct mmrt_consumer_stats st;

	if (c != w->obj)
		return 0;
	walk_watch(w);
	w->live_in_cb = mmrt_consumer_name(c) != NULL &&
		mmrt_consumer_stats(c, &st) == 0;
	return 0;
}

static void
walk_check(struct walk_ctx *w, int ret)
{
	cr_assert_eq(ret, 0);
	cr_assert_eq(w->seen, 1);
	cr_assert_eq(pthread_join(w->t, NULL), 0);
	cr_expect_eq(w->done_in_cb, 0, "destroyed under the walk");
	cr_expect_eq(w->live_in_cb, 1, "not live at the callback's end");
	cr_assert_eq(w->ret, 0);
}

Test(telemetry, foreach_holds_off_destroy)
{
	struct walk_ctx w;
	struct mmrt_as *as, *other;
	struct mmrt_uffd *u;
	uint64_t f = 0;

	mmrt_test_up(64);
	other = mmrt_as_create("walk_other");
	as = mmrt_as_create("walk_as");
	cr_assert(as != NULL && other != NULL);
	cr_assert_eq(mmrt_map(as, VA_A, 4 * PG, MMRT_PROT_WRITE, 0), 0);

	memset(&w, 0, sizeof(w));
	w.kind = WALK_UFFD;
	w.obj = u = mmrt_uffd_create(other, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(u);
	walk_check(&w, mmrt_uffd_foreach(other, walk_uffd_cb, &w));

	memset(&w, 0, sizeof(w));
	w.kind = WALK_CONSUMER;
	w.obj = mmrt_consumer_create(NULL);
	cr_assert_not_null(w.obj);
	cr_assert_gt(mmrt_consumer_bind(w.obj, as), 0);
	walk_check(&w, mmrt_consumer_foreach(walk_consumer_cb, &w));

	memset(&w, 0, sizeof(w));
	w.kind = WALK_AS;
	w.obj = as;
	walk_check(&w, mmrt_as_foreach(walk_as_cb, &w));
	cr_assert_null(mmrt_as_lookup("walk_as"));

	/* bad arguments */
	cr_assert_eq(mmrt_as_foreach(NULL, NULL), -EINVAL);
	cr_assert_eq(mmrt_consumer_foreach(NULL, NULL), -EINVAL);
	cr_assert_eq(mmrt_uffd_foreach(other, NULL, NULL), -EINVAL);
	cr_assert_eq(mmrt_uffd_foreach(NULL, walk_uffd_cb, &w), -EINVAL);
	cr_assert_null(mmrt_consumer_name(NULL));
	cr_assert_eq(mmrt_as_destroy(other), 0);
	mmrt_test_down();
}

/*
 * /mmrt/dma_mmrt/list and /mmrt/dma_mmrt/info,ID: a dma_mmrt device (as=,
 * its engine an rte_service on service lcore 1) that copied a page, its
 * values those of mmrt_dma_mmrt_stats() (the service is stopped first, so
 * the engine's counters hold still); a stopped device answers started 0
 * and no counters; a dmadev of another driver (dma_skeleton, when it can
 * be created) is not listed and its info is refused; bad parameters answer
 * null; a closed device is gone from the list. The device is on DPDK's
 * /dmadev/list too.
 */
Test(telemetry, dma_mmrt_endpoints)
{
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM, .nb_desc = 64,
	};
	struct rte_dma_conf dc = { .nb_vchans = 1 };
	struct mmrt_dma_mmrt_stats st;
	enum rte_dma_status_code s;
	char cmd[64], cmds[1024], want[512], all[64];
	const char *skel = "dma_skeleton0";
	uint64_t d;
	unsigned long it = 0;
	struct mmrt_as *as;
	uint32_t sid;
	uint16_t last;
	int id, sk = -1, nr, k;

	tel_skip_unless_tool();
	mmrt_test_up(64);
	as = mmrt_as_create("tel_dma_as");
	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA_A, 4 * PG, MMRT_PROT_WRITE,
		MMRT_MAP_POPULATE), 0);
	cr_assert(mmrt_dma_mmrt_registered());
	cr_assert_eq(rte_eal_hotplug_add("vdev", "dma_mmrt_tel",
		"as=tel_dma_as,service=1"), 0);
	id = rte_dma_get_dev_id_by_name("dma_mmrt_tel");
	cr_assert_geq(id, 0);
	/* another driver's dmadev, if this DPDK has dma_skeleton */
	if (rte_eal_hotplug_add("vdev", skel, "") == 0)
		sk = rte_dma_get_dev_id_by_name(skel);
	else
		cr_log_info("no %s: the other-driver checks are left out",
			skel);
	cr_assert_eq(rte_dma_configure((int16_t)id, &dc), 0);
	cr_assert_eq(rte_dma_vchan_setup((int16_t)id, 0, &vc), 0);

	/* stopped: listed, started 0, no counters */
	snprintf(cmd, sizeof(cmd), "/mmrt/dma_mmrt/info,%d", id);
	snprintf(cmds, sizeof(cmds), "/mmrt/dma_mmrt/list\n%s\n", cmd);
	nr = tel_run(cmds);
	cr_assert_eq(nr, 2);
	snprintf(want, sizeof(want), "[%d]", id);
	tel_expect_str(0, "/mmrt/dma_mmrt/list", "=", want);
	tel_expect_u64(1, cmd, "dev_id", (uint64_t)id);
	tel_expect_u64(1, cmd, "started", 0);
	cr_expect_eq(tel_nkeys(1), 2, "a stopped device has no counters");

	/* started, one page copied by the service, which then stops */
	cr_assert_eq(rte_dma_start((int16_t)id), 0);
	cr_assert_eq(rte_service_get_by_name("dma_mmrt_tel", &sid), 0);
	cr_assert_eq(rte_service_lcore_add(1), 0);
	cr_assert_eq(rte_service_map_lcore_set(sid, 1, 1), 0);
	cr_assert_eq(rte_service_runstate_set(sid, 1), 0);
	cr_assert_eq(rte_service_lcore_start(1), 0);
	cr_assert_geq(rte_dma_copy((int16_t)id, 0, VA_A, VA_A + PG, PG,
		RTE_DMA_OP_FLAG_SUBMIT), 0);
	d = mmrt_test_deadline(TEL_TIMEOUT_S);
	while (rte_dma_completed_status((int16_t)id, 0, 1, &last, &s) != 1) {
		cr_assert(!mmrt_test_expired(d), "the copy never completed");
		mmrt_test_relax(it++, 255);
	}
	cr_assert_eq(s, RTE_DMA_STATUS_SUCCESSFUL);
	cr_assert_eq(rte_service_runstate_set(sid, 0), 0);
	while (rte_service_may_be_active(sid) == 1) {
		cr_assert(!mmrt_test_expired(d), "the service never stopped");
		mmrt_test_relax(it++, 255);
	}
	cr_assert_eq(mmrt_dma_mmrt_stats((int16_t)id, &st), 0);

	snprintf(cmds, sizeof(cmds), "/mmrt/dma_mmrt/list\n%s\n"
		"/mmrt/dma_mmrt/info\n/mmrt/dma_mmrt/info,nope\n"
		"/mmrt/dma_mmrt/info,-1\n/mmrt/dma_mmrt/info,%dx\n"
		"/mmrt/dma_mmrt/info,99999\n/mmrt/dma_mmrt/info,200\n"
		"/mmrt/dma_mmrt/list,x\n/dmadev/list\n"
		"/mmrt/dma_mmrt/info,%d\n", cmd, id, sk >= 0 ? sk : 201);
	nr = tel_run(cmds);
	cr_assert_eq(nr, 11);
	tel_expect_str(0, "/mmrt/dma_mmrt/list", "=", want);
	tel_expect_u64(1, cmd, "dev_id", (uint64_t)id);
	tel_expect_u64(1, cmd, "started", 1);
	tel_expect_u64(1, cmd, "dev_mode", 0);
	EXP(1, cmd, &st, submitted);
	EXP(1, cmd, &st, completed);
	EXP(1, cmd, &st, errors);
	EXP(1, cmd, &st, page_faults);
	EXP(1, cmd, &st, bytes);
	EXP(1, cmd, &st, parks);
	EXP(1, cmd, &st, resumes);
	EXP(1, cmd, &st, pieces);
	EXP(1, cmd, &st, acks_held);
	EXP(1, cmd, &st, inflight);
	EXP(1, cmd, &st, steps);
	EXP(1, cmd, &st, idle_polls);
	snprintf(want, sizeof(want), "{\"tlb_hits\": %" PRIu64
		", \"tlb_misses\": %" PRIu64 ", \"inval_descs\": %" PRIu64
		", \"acks\": %" PRIu64 ", \"fences\": %" PRIu64
		", \"page_requests\": %" PRIu64 ", \"userfaults\": %" PRIu64
		"}", st.consumer.tlb_hits, st.consumer.tlb_misses,
		st.consumer.inval_descs, st.consumer.acks, st.consumer.fences,
		st.consumer.page_requests, st.consumer.userfaults);
	tel_expect_str(1, cmd, "consumer", want);
	cr_expect_eq(st.submitted, 1);
	cr_expect_eq(st.completed, 1);
	cr_expect_eq(st.bytes, PG);
	cr_expect_gt(st.steps, 0);
	cr_expect_gt(st.consumer.tlb_misses, 0);
	for (k = 2; k <= 7; k++)
		tel_expect_null(k, "/mmrt/dma_mmrt/info");
	tel_expect_null(8, "/mmrt/dma_mmrt/list");
	/* DPDK's own list has it (and the skeleton, if any) */
	if (sk >= 0)
		snprintf(all, sizeof(all), "[%d, %d]", RTE_MIN(id, sk),
			RTE_MAX(id, sk));
	else
		snprintf(all, sizeof(all), "[%d]", id);
	tel_expect_str(9, "/dmadev/list", "=", all);
	/* another driver's device, or no device: refused */
	tel_expect_null(10, "/mmrt/dma_mmrt/info");

	/* stop the service lcore, the device, close it: gone */
	cr_assert_eq(rte_service_lcore_stop(1), 0);
	cr_assert_eq(rte_dma_stop((int16_t)id), 0);
	cr_assert_eq(rte_service_lcore_del(1), 0);
	cr_assert_eq(mmrt_dma_mmrt_stats((int16_t)id, &st), -ENOTCONN);
	cr_assert_eq(rte_dma_close((int16_t)id), 0);
	cr_assert_eq(rte_eal_hotplug_remove("vdev", "dma_mmrt_tel"), 0);
	cr_assert_eq(mmrt_dma_mmrt_stats((int16_t)id, &st), -ENODEV);
	nr = tel_run(cmds);
	cr_assert_eq(nr, 11);
	tel_expect_str(0, "/mmrt/dma_mmrt/list", "=", "[]");
	tel_expect_null(1, "/mmrt/dma_mmrt/info");
	/* the skeleton's remove closes its dmadev */
	if (sk >= 0)
		cr_assert_eq(rte_eal_hotplug_remove("vdev", skel), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	mmrt_test_down();
}
