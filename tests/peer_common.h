/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_TESTS_PEER_COMMON_H
#define MMRT_TESTS_PEER_COMMON_H

/*
 * What the multi-process peers (sec-peer, kill-peer) share: the data
 * patterns one process writes and another checks (the same binary plays
 * both sides, so both sides compute the same bytes), the HOLD argument,
 * and finding the one uffd of a space.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <rte_common.h>

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

/* mmrt_uffd_foreach() callback: keep the first uffd in *(uffd **)@arg. */
static inline int
uffd_pick(struct mmrt_uffd *u, unsigned int pos, void *arg)
{
	RTE_SET_USED(pos);
	*(struct mmrt_uffd **)arg = u;
	return 1;
}

#endif /* MMRT_TESTS_PEER_COMMON_H */
