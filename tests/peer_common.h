/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_TESTS_PEER_COMMON_H
#define MMRT_TESTS_PEER_COMMON_H

/*
 * What the multi-process peers (sec-peer, kill-peer) share: the data
 * patterns one process writes and another checks (the same binary plays
 * both sides, so both sides compute the same bytes), the HOLD argument,
 * bringing the runtime up on a role's arguments, and finding the one
 * uffd of a space.
 */

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>

#include <mmrt_core.h>
#include <mmrt_uffd.h>

/* Bound of a primary's command loop, in seconds (not a measurement). */
#define PEER_HOLD_MAX 3600

/* Byte @off of pattern @which; pages differ as well as patterns. */
static inline uint8_t
pat(unsigned int which, uint64_t off)
{
	return (uint8_t)(off * 13 + which * 37 + (off >> 12) * 5);
}

static inline void
fill(uint8_t *buf, size_t len, unsigned int which)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pat(which, i);
}

/* -1 if @buf holds pattern @which, else the first bad offset. */
static inline long
differs(const uint8_t *buf, size_t len, unsigned int which)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != pat(which, i))
			return (long)i;
	return -1;
}

/* HOLD in seconds, 1..PEER_HOLD_MAX; -1 if @s is not one. */
static inline int
parse_hold(const char *s)
{
	char *end;
	long h = strtol(s, &end, 10);

	if (*end != '\0' || h <= 0 || h > PEER_HOLD_MAX)
		return -1;
	return (int)h;
}

/* A line from stdin within the time left until @deadline; 0 on EOF/timeout. */
static inline int
peer_read_cmd(char *buf, size_t size, time_t deadline)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	time_t now = time(NULL);
	size_t n = 0;
	char c;

	while (now < deadline && n + 1 < size) {
		if (poll(&p, 1, (int)(deadline - now) * 1000) <= 0)
			return 0;
		if (read(STDIN_FILENO, &c, 1) != 1)
			return 0;
		if (c == '\n')
			break;
		buf[n++] = c;
		now = time(NULL);
	}
	buf[n] = '\0';
	return n > 0 || now < deadline ? 1 : 0;
}

/*
 * "peer ROLE [ARG...] [EAL] [-- mmrt]": mmrt_init() on what follows the
 * role's @nargs arguments (argv[0] moved up as the program name).
 * @return 0, or 1 (the exit status) after saying "@who: mmrt_init: ...".
 */
static inline int
peer_init(const char *who, int argc, char **argv, int nargs)
{
	int ret;

	argv[nargs] = argv[0];
	ret = mmrt_init(argc - nargs, argv + nargs);
	if (ret < 0) {
		fprintf(stderr, "%s: mmrt_init: %s\n", who, strerror(-ret));
		return 1;
	}
	return 0;
}

/*
 * A primary's "ROLE HOLD [EAL] [-- mmrt]" of @prog: *@deadline is HOLD
 * seconds from now, then peer_init(). @return 0, or the exit status (2:
 * bad usage, 1: mmrt_init() failed).
 */
static inline int
peer_primary_init(const char *prog, int argc, char **argv,
	time_t *deadline)
{
	char who[64];
	int hold;

	if (argc < 3 || (hold = parse_hold(argv[2])) < 0) {
		fprintf(stderr, "usage: %s primary HOLD [EAL] [-- mmrt]\n",
			prog);
		return 2;
	}
	*deadline = time(NULL) + hold;
	snprintf(who, sizeof(who), "%s primary", prog);
	return peer_init(who, argc, argv, 2);
}

/*
 * mmrt_fini() of a primary, retried while it is -EBUSY (a secondary
 * still detaching holds its lcores a moment longer). @return 0, or 1
 * after saying "@who: mmrt_fini: ...".
 */
static inline int
peer_fini(const char *who)
{
	int ret, tries;

	for (tries = 0; (ret = mmrt_fini()) == -EBUSY && tries < 100; tries++)
		usleep(100 * 1000);
	if (ret < 0) {
		fprintf(stderr, "%s: mmrt_fini: %s\n", who, strerror(-ret));
		return 1;
	}
	return 0;
}

/* A role of a peer program: "prog NAME ..." runs @run(argc, argv). */
struct peer_role {
	const char *name;
	int (*run)(int argc, char **argv);
};

/*
 * The main() of a peer program: stdout line-buffered (the test reads
 * it line by line), then the role named by argv[1] among the @n
 * @roles. @return its exit status, 2 (usage) for an unknown role.
 */
static inline int
peer_main(int argc, char **argv, const struct peer_role *roles,
	unsigned int n)
{
	unsigned int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; argc >= 2 && i < n; i++)
		if (strcmp(argv[1], roles[i].name) == 0)
			return roles[i].run(argc, argv);
	fprintf(stderr, "usage: %s", argv[0]);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s%s", i == 0 ? " " : "|", roles[i].name);
	fprintf(stderr, " ...\n");
	return 2;
}

/* mmrt_uffd_foreach() callback: keep the first uffd in *(uffd **)@arg. */
static inline int
uffd_pick(struct mmrt_uffd *u, unsigned int pos, void *arg)
{
	RTE_SET_USED(pos);
	*(struct mmrt_uffd **)arg = u;
	return 1;
}

#endif /* MMRT_TESTS_PEER_COMMON_H */
