/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * mmrt-topo: where the EAL lcores sit (core, caches, NUMA node), how mmrt
 * would place fault servers and consumers on them, and whether the machine
 * is set up for deployment (hugepages, isolated cpus, nohz_full, SMT).
 *
 * Usage: mmrt-topo [--json] [EAL args] [-- mmrt args]
 * Without EAL arguments the embedded default is used (see mmrt_init()).
 * Exit status: 0 when the report was printed (whatever the verdict),
 * 1 on error.
 */

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <numa.h>

#include <rte_eal.h>
#include <rte_lcore.h>

#include <mmrt_core.h>

#define TOPO_MAX_PAIRS 8
#define TOPO_MAX_CHECKS 16
#define TOPO_MAX_NODES 64
#define TOPO_TEXT 512

struct topo_check {
	const char *name;
	int ok;
	char detail[TOPO_TEXT];
};

static struct topo_check checks[TOPO_MAX_CHECKS];
static unsigned int nchecks;
static int json;

static struct topo_check *
check_add(const char *name, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static struct topo_check *
check_add(const char *name, int ok, const char *fmt, ...)
{
	struct topo_check *c;
	va_list ap;

	if (nchecks == TOPO_MAX_CHECKS)
		return NULL;
	c = &checks[nchecks++];
	c->name = name;
	c->ok = ok;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	return c;
}

/* Append to a fixed buffer. */
static void
text_add(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
text_add(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* Read a small sysfs file into buf (trailing newline removed); 0 or -errno. */
static int
read_text(const char *path, char *buf, size_t len)
{
	FILE *f;
	size_t n;

	f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static long
read_long(const char *path)
{
	char buf[64];

	if (read_text(path, buf, sizeof(buf)) < 0 || buf[0] == '\0')
		return -1;
	return strtol(buf, NULL, 10);
}

/* Parse a kernel cpu list ("0-3,8,10-11"); -EINVAL if malformed. */
static int
parse_cpulist(const char *s, cpu_set_t *set)
{
	unsigned long a, b, c;
	char *end;

	CPU_ZERO(set);
	while (*s != '\0') {
		a = strtoul(s, &end, 10);
		if (end == s)
			return -EINVAL;
		b = a;
		s = end;
		if (*s == '-') {
			b = strtoul(s + 1, &end, 10);
			if (end == s + 1 || b < a)
				return -EINVAL;
			s = end;
		}
		for (c = a; c <= b && c < CPU_SETSIZE; c++)
			CPU_SET(c, set);
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -EINVAL;
	}
	return 0;
}

static void
print_str_json(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* Hugepages per NUMA node. */
static void
check_hugepages(const struct mmrt_lcore_topo *t, int nt)
{
	static const struct {
		const char *dir;
		const char *name;
	} sizes[] = {
		{ "hugepages-2048kB", "2M" },
		{ "hugepages-1048576kB", "1G" },
	};
	char path[256], detail[TOPO_TEXT] = "", missing[128] = "";
	long total[TOPO_MAX_NODES] = { 0 };
	int maxnode = 0, node, i, j, used;
	long nr, fr;

	if (numa_available() >= 0)
		maxnode = numa_max_node();
	if (maxnode >= TOPO_MAX_NODES)
		maxnode = TOPO_MAX_NODES - 1;
	for (node = 0; node <= maxnode; node++) {
		text_add(detail, sizeof(detail), "%snode%d", node ? "; " : "",
			node);
		for (i = 0; i < 2; i++) {
			snprintf(path, sizeof(path),
				"/sys/devices/system/node/node%d/hugepages/%s/nr_hugepages",
				node, sizes[i].dir);
			nr = read_long(path);
			snprintf(path, sizeof(path),
				"/sys/devices/system/node/node%d/hugepages/%s/free_hugepages",
				node, sizes[i].dir);
			fr = read_long(path);
			if (nr < 0 && node == 0 && maxnode == 0) {
				/* No per-node sysfs: use the global counters. */
				snprintf(path, sizeof(path),
					"/sys/kernel/mm/hugepages/%s/nr_hugepages",
					sizes[i].dir);
				nr = read_long(path);
				snprintf(path, sizeof(path),
					"/sys/kernel/mm/hugepages/%s/free_hugepages",
					sizes[i].dir);
				fr = read_long(path);
			}
			if (nr < 0)
				continue;
			total[node] += nr;
			text_add(detail, sizeof(detail), " %s %ld/%ld free",
				sizes[i].name, fr < 0 ? 0 : fr, nr);
		}
	}
	/* Every node an lcore sits on needs hugepages reserved. */
	for (i = 0; i < nt; i++) {
		node = (int)rte_lcore_to_socket_id(t[i].lcore_id);
		if (node < 0 || node > maxnode || total[node] > 0)
			continue;
		used = 0;
		for (j = 0; j < i; j++)
			if ((int)rte_lcore_to_socket_id(t[j].lcore_id) == node)
				used = 1;
		if (!used)
			text_add(missing, sizeof(missing), "%s%d",
				missing[0] ? "," : "", node);
	}
	if (missing[0] != '\0')
		check_add("hugepages", 0,
			"none reserved on NUMA node(s) %s of the lcores "
			"(usertools/mmrt-hugepages.sh reserve 1G): %s",
			missing, detail);
	else
		check_add("hugepages", 1, "%s", detail);

	if (rte_eal_has_hugepages())
		check_add("eal-memory", 1, "EAL runs on hugepages");
	else
		check_add("eal-memory", 0,
			"EAL runs without hugepages (--no-huge): 4 KiB pages, "
			"no memory events");
}

/* The worker lcores (all lcores if there is only the main one). */
static bool
is_poller(const struct mmrt_lcore_topo *e, int nt)
{
	return nt == 1 || e->lcore_id != rte_get_main_lcore();
}

/* isolcpus / nohz_full must cover the cpus of the polling lcores. */
static void
check_cpulist(const char *name, const char *path,
	const struct mmrt_lcore_topo *t, int nt)
{
	char buf[TOPO_TEXT], missing[TOPO_TEXT] = "";
	cpu_set_t set;
	int i, ret;

	ret = read_text(path, buf, sizeof(buf));
	if (ret == -ENOENT) {
		check_add(name, 0, "not supported by this kernel (%s missing)",
			path);
		return;
	}
	if (ret < 0 || parse_cpulist(buf, &set) < 0) {
		check_add(name, 0, "cannot read %s", path);
		return;
	}
	for (i = 0; i < nt; i++) {
		if (!is_poller(&t[i], nt) || t[i].cpu < 0)
			continue;
		if (!CPU_ISSET(t[i].cpu, &set))
			text_add(missing, sizeof(missing), "%s%d",
				missing[0] ? "," : "", t[i].cpu);
	}
	if (missing[0] != '\0')
		check_add(name, 0, "cpu(s) %s of the polling lcores not in "
			"%s (\"%s\")", missing, name, buf);
	else
		check_add(name, 1, "polling lcores covered (\"%s\")", buf);
}

/* Two busy pollers must not share one core (or one cpu). */
static void
check_smt(const struct mmrt_lcore_topo *t, int nt)
{
	char clash[TOPO_TEXT] = "";
	int i, j;

	for (i = 0; i < nt; i++) {
		if (!is_poller(&t[i], nt))
			continue;
		for (j = i + 1; j < nt; j++) {
			if (!is_poller(&t[j], nt))
				continue;
			if (t[i].cpu >= 0 && t[i].cpu == t[j].cpu)
				text_add(clash, sizeof(clash),
					"%slcores %u,%u on cpu %d",
					clash[0] ? "; " : "", t[i].lcore_id,
					t[j].lcore_id, t[i].cpu);
			else if (t[i].core >= 0 && t[i].core == t[j].core)
				text_add(clash, sizeof(clash),
					"%slcores %u,%u are SMT siblings of core %d",
					clash[0] ? "; " : "", t[i].lcore_id,
					t[j].lcore_id, t[i].core);
		}
	}
	if (clash[0] != '\0')
		check_add("smt", 0, "busy pollers share a core: %s", clash);
	else
		check_add("smt", 1, "no two polling lcores share a core");
}

static void
usage(const char *prog)
{
	printf("usage: %s [--json] [EAL args] [-- mmrt args]\n"
		"Prints the EAL lcore topology, mmrt's server/consumer placement\n"
		"and deployment checks. Without EAL args mmrt's embedded default\n"
		"is used (--no-huge, 2 lcores).\n", prog);
}

static int
run(void)
{
	struct mmrt_lcore_topo t[RTE_MAX_LCORE];
	struct mmrt_placement plan[TOPO_MAX_PAIRS];
	int nt, np, maxpairs, pairs, i, j, ready = 1;
	char reasons[TOPO_TEXT * 2] = "";

	nt = mmrt_topo_lcores(t, RTE_MAX_LCORE);
	if (nt < 0) {
		fprintf(stderr, "mmrt-topo: mmrt_topo_lcores: %s\n",
			strerror(-nt));
		return -1;
	}
	maxpairs = nt / 2;
	if (maxpairs < 1)
		maxpairs = 1;
	if (maxpairs > TOPO_MAX_PAIRS)
		maxpairs = TOPO_MAX_PAIRS;

	if (nt < 2)
		check_add("lcores", 0,
			"only %d lcore: no separate server and consumer", nt);
	else
		check_add("lcores", 1, "%d lcores", nt);
	check_hugepages(t, nt);
	check_cpulist("isolcpus", "/sys/devices/system/cpu/isolated", t, nt);
	check_cpulist("nohz_full", "/sys/devices/system/cpu/nohz_full", t,
		nt);
	check_smt(t, nt);
	for (i = 0; i < (int)nchecks; i++) {
		if (checks[i].ok)
			continue;
		ready = 0;
		text_add(reasons, sizeof(reasons), "%s%s",
			reasons[0] ? ", " : "", checks[i].name);
	}

	if (json) {
		printf("{\n  \"main_lcore\": %u,\n  \"lcores\": [",
			rte_get_main_lcore());
		for (i = 0; i < nt; i++)
			printf("%s\n    {\"lcore\": %u, \"cpu\": %d, "
				"\"core\": %d, \"l2\": %d, \"l3\": %d, "
				"\"numa\": %d, \"smt\": %u}", i ? "," : "",
				t[i].lcore_id, t[i].cpu, t[i].core, t[i].l2,
				t[i].l3, t[i].numa, t[i].smt);
		printf("\n  ],\n  \"placement\": [");
		for (pairs = 1; pairs <= maxpairs; pairs++) {
			np = mmrt_placement_plan(plan, pairs);
			printf("%s\n    [", pairs > 1 ? "," : "");
			for (j = 0; j < np; j++)
				printf("%s{\"server\": %u, \"consumer\": %u, "
					"\"share\": \"%s\"}", j ? ", " : "",
					plan[j].server_lcore,
					plan[j].consumer_lcore,
					mmrt_share_name(plan[j].share));
			printf("]");
		}
		printf("\n  ],\n  \"checks\": [");
		for (i = 0; i < (int)nchecks; i++) {
			printf("%s\n    {\"name\": \"%s\", \"ok\": %s, "
				"\"detail\": ", i ? "," : "", checks[i].name,
				checks[i].ok ? "true" : "false");
			print_str_json(checks[i].detail);
			printf("}");
		}
		printf("\n  ],\n  \"ready\": %s,\n  \"verdict\": ",
			ready ? "true" : "false");
		print_str_json(ready ? "ready for deployment" :
			"development only");
		printf("\n}\n");
		return 0;
	}

	printf("lcore topology (main lcore %u; ids are hwloc logical "
		"indexes, -1 = unknown)\n", rte_get_main_lcore());
	printf("%6s %5s %5s %4s %4s %5s %4s\n", "lcore", "cpu", "core", "L2",
		"L3", "NUMA", "SMT");
	for (i = 0; i < nt; i++)
		printf("%6u %5d %5d %4d %4d %5d %4u\n", t[i].lcore_id,
			t[i].cpu, t[i].core, t[i].l2, t[i].l3, t[i].numa,
			t[i].smt);

	printf("\nplacement (server -> consumer, shared level)\n");
	for (pairs = 1; pairs <= maxpairs; pairs++) {
		np = mmrt_placement_plan(plan, pairs);
		if (np < 0) {
			printf("  %d pair%s: none (%s)\n", pairs,
				pairs > 1 ? "s" : "", strerror(-np));
			continue;
		}
		printf("  %d pair%s:", pairs, pairs > 1 ? "s" : "");
		for (j = 0; j < np; j++)
			printf("%s lcore %u -> lcore %u (%s)", j ? "," : "",
				plan[j].server_lcore, plan[j].consumer_lcore,
				mmrt_share_name(plan[j].share));
		printf("\n");
	}

	printf("\ndeployment checks\n");
	for (i = 0; i < (int)nchecks; i++)
		printf("  [%s] %-10s %s\n", checks[i].ok ? " ok " : "warn",
			checks[i].name, checks[i].detail);
	if (ready)
		printf("\nverdict: ready for deployment\n");
	else
		printf("\nverdict: development only (%s)\n", reasons);
	return 0;
}

int
main(int argc, char **argv)
{
	char **args;
	int i, n = 0, ret;

	/* Take our own flags out before mmrt_init() sees the arguments. */
	args = calloc(argc + 1, sizeof(*args));
	if (args == NULL)
		return 1;
	for (i = 0; i < argc; i++) {
		if (i > 0 && strcmp(argv[i], "--json") == 0) {
			json = 1;
			continue;
		}
		if (i > 0 && (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)) {
			usage(argv[0]);
			free(args);
			return 0;
		}
		args[n++] = argv[i];
	}
	args[n] = NULL;

	ret = mmrt_init(n, args);
	if (ret < 0) {
		fprintf(stderr, "mmrt-topo: mmrt_init: %s\n", strerror(-ret));
		free(args);
		return 1;
	}
	ret = run();
	mmrt_fini();
	free(args);
	return ret < 0 ? 1 : 0;
}
