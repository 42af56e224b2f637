/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef CORE_NAMELIST_H
#define CORE_NAMELIST_H

/*
 * A named list: an unbounded registry of named entries under a spinlock,
 * with membership told by a magic number. Used by the consumers
 * (lib/dev/consumer.c, a list in shared memory), the software DMA engines
 * (pmd/swdma) and the dmadev bridges (pmd/dmadev). The fixed tables of
 * spaces and objects are mm_nametab.h's.
 *
 * An entry embeds a struct core_namelist_node, a NUL-terminated name of
 * a fixed size and a uint32_t magic; a struct core_namelist_kind (one per
 * process, constant) says where they are. The list itself (head, lock,
 * the counter of generated names) holds no pointer into a process's
 * image, so it may live in shared memory when the entries do.
 *
 * Membership: an entry is live while its magic is the kind's. The magic
 * is set when the entry enters the list (core_namelist_add()), or later
 * (core_namelist_reserve() then core_namelist_publish(), for an entry
 * whose name must be taken before the rest of it is built), and cleared
 * when it leaves (core_namelist_del()), both under the lock.
 * core_namelist_live() checks the magic only: it tells a removed entry
 * from a live one until the memory is reused.
 *
 * Names are unique in a list. An entry given no name gets "<anon><N>",
 * N from the list's counter, the first such name not taken.
 *
 * Links: a robust list (core_rlist.h). A list in shared memory
 * (CORE_NAMELIST_KIND_SHARED: the consumers) journals its edits in a
 * process that records, so the reaper of a secondary killed in the middle
 * of one finishes it (an entry removed has its magic cleared too). Lists
 * of one process (the engines, the bridges) journal nothing: no other
 * process could reach them.
 *
 * Locking: every function takes the lock except the iteration, whose
 * caller holds it (core_namelist_lock()) across the walk. The lock is a
 * leaf unless the caller's iteration says otherwise; kind->lock_class
 * names it to the lock-order check of test builds (core_testhooks.h; 0:
 * unchecked).
 *
 * Static inline only: lib/ and pmd/ use it without an exported symbol.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_spinlock.h>

#include "core_rlist.h"
#include "core_robust.h"
#include "core_testhooks.h"

struct core_namelist_node {
	struct core_rlist_node link;
};

struct core_namelist {
	struct core_rlist head;
	rte_spinlock_t lock;
	uint32_t anon_next;   /* N of the next generated name */
};

#define CORE_NAMELIST_INITIALIZER(l) \
	{ CORE_RLIST_INITIALIZER, RTE_SPINLOCK_INITIALIZER, 0 }

/* Where an entry keeps its link, name and magic (offsetof()s). */
struct core_namelist_kind {
	size_t node_off;
	size_t name_off;
	size_t name_size;     /* bytes of the name field, NUL included */
	size_t magic_off;     /* a uint32_t */
	uint32_t magic;       /* != 0 */
	const char *anon;     /* prefix of generated names */
	unsigned int lock_class; /* lock-order check; 0: unchecked */
	const char *lock_name;
	bool shared;          /* in shared memory: edits are journalled */
};

/*
 * The kind of entries of struct @type whose link, name (a char array) and
 * magic are the members @node, @name and @magicf; unnamed entries are
 * "<@anon><N>"; @cls, @cls_name: the lock's class for the lock-order
 * check (0, NULL: unchecked).
 */
#define CORE_NAMELIST_KIND_(type, node, name, magicf, magicv, pfx, cls, \
		cls_name, shr) { \
	.node_off = offsetof(type, node), \
	.name_off = offsetof(type, name), \
	.name_size = sizeof(((type *)0)->name), \
	.magic_off = offsetof(type, magicf), \
	.magic = (magicv), \
	.anon = (pfx), \
	.lock_class = (cls), \
	.lock_name = (cls_name), \
	.shared = (shr), \
}
#define CORE_NAMELIST_KIND(type, node, name, magicf, magicv, pfx, cls, \
		cls_name) CORE_NAMELIST_KIND_(type, node, name, magicf, \
		magicv, pfx, cls, cls_name, false)

/* The same, of a list in shared memory (its edits journalled). */
#define CORE_NAMELIST_KIND_SHARED(type, node, name, magicf, magicv, pfx, \
		cls, cls_name) CORE_NAMELIST_KIND_(type, node, name, magicf, \
		magicv, pfx, cls, cls_name, true)

static inline void
core_namelist_init(struct core_namelist *l)
{
	core_rlist_init(&l->head);
	rte_spinlock_init(&l->lock);
	l->anon_next = 0;
}

/* Is @name a valid name: not empty, and fits with its NUL? */
static inline bool
core_namelist_name_ok(const struct core_namelist_kind *k, const char *name)
{
	size_t n;

	if (name == NULL)
		return false;
	n = strnlen(name, k->name_size);
	return n > 0 && n < k->name_size;
}

static inline uint32_t *
core_namelist_magic_(const struct core_namelist_kind *k, const void *e)
{
	return (uint32_t *)(uintptr_t)((const char *)e + k->magic_off);
}

static inline char *
core_namelist_name_(const struct core_namelist_kind *k, const void *e)
{
	return (char *)(uintptr_t)((const char *)e + k->name_off);
}

static inline struct core_namelist_node *
core_namelist_node_(const struct core_namelist_kind *k, const void *e)
{
	return (struct core_namelist_node *)(uintptr_t)((const char *)e +
		k->node_off);
}

static inline void *
core_namelist_entry_(const struct core_namelist_kind *k,
	struct core_namelist_node *n)
{
	return n == NULL ? NULL : (char *)n - k->node_off;
}

/* Is @e (may be NULL) a live entry of kind @k? Reads the magic only. */
static inline bool
core_namelist_live(const struct core_namelist_kind *k, const void *e)
{
	return e != NULL && *core_namelist_magic_(k, e) == k->magic;
}

static inline void
core_namelist_lock(struct core_namelist *l, const struct core_namelist_kind *k)
{
	CORE_LOCK_ACQUIRE(k->lock_class, k->lock_name, false);
	core_spin_lock(&l->lock, k->lock_class);
}

static inline void
core_namelist_unlock(struct core_namelist *l,
	const struct core_namelist_kind *k)
{
	CORE_LOCK_RELEASE(k->lock_class);
	core_spin_unlock(&l->lock);
}

/*
 * Iteration, lock held: the first entry, the one after @e, NULL at the
 * end. CORE_NAMELIST_FOREACH leaves @e NULL when it runs to the end.
 */
static inline void *
core_namelist_first(struct core_namelist *l,
	const struct core_namelist_kind *k)
{
	return core_namelist_entry_(k,
		(struct core_namelist_node *)l->head.first);
}

static inline void *
core_namelist_next(const struct core_namelist_kind *k, const void *e)
{
	return core_namelist_entry_(k, (struct core_namelist_node *)
		core_namelist_node_(k, e)->link.next);
}

#define CORE_NAMELIST_FOREACH(e, l, k) \
	for ((e) = core_namelist_first((l), (k)); (e) != NULL; \
		(e) = core_namelist_next((k), (e)))

/* The entry named @name, or NULL (lock held). */
static inline void *
core_namelist_find_locked(struct core_namelist *l,
	const struct core_namelist_kind *k, const char *name)
{
	void *e;

	CORE_NAMELIST_FOREACH(e, l, k)
		if (strncmp(core_namelist_name_(k, e), name,
				k->name_size) == 0)
			break;
	return e;
}

/* The entry named @name, or NULL. */
static inline void *
core_namelist_find(struct core_namelist *l,
	const struct core_namelist_kind *k, const char *name)
{
	void *e;

	core_namelist_lock(l, k);
	e = core_namelist_find_locked(l, k, name);
	core_namelist_unlock(l, k);
	return e;
}

/* The journal of an edit of @e on @l (a shared list), or NULL. */
static inline struct mmrt_robust_edit *
core_namelist_journal_(struct core_namelist *l,
	const struct core_namelist_kind *k, void *e, bool del)
{
	if (!k->shared)
		return NULL;
	return core_rlist_journal(&l->head, &core_namelist_node_(k, e)->link,
		del, del ? k->magic_off - k->node_off + 1 : 0);
}

/*
 * Name @e (@want, or a generated name if NULL) and append it to @l;
 * with @live, set its magic too. @want must pass
 * core_namelist_name_ok(). @return 0, -EEXIST (the name is taken).
 */
static inline int
core_namelist_insert_(struct core_namelist *l,
	const struct core_namelist_kind *k, void *e, const char *want,
	bool live)
{
	char *name = core_namelist_name_(k, e);
	struct mmrt_robust_edit *j;

	core_namelist_lock(l, k);
	if (want == NULL) {
		do {
			snprintf(name, k->name_size, "%s%u", k->anon,
				l->anon_next++);
		} while (core_namelist_find_locked(l, k, name) != NULL);
	} else {
		if (core_namelist_find_locked(l, k, want) != NULL) {
			core_namelist_unlock(l, k);
			return -EEXIST;
		}
		snprintf(name, k->name_size, "%s", want);
	}
	if (live)
		*core_namelist_magic_(k, e) = k->magic;
	j = core_namelist_journal_(l, k, e, false);
	core_rlist_append(&l->head, &core_namelist_node_(k, e)->link, j);
	if (j != NULL)
		core_edit_end(j);
	core_namelist_unlock(l, k);
	return 0;
}

/* Enter @e, live at once (see core_namelist_insert_()). */
static inline int
core_namelist_add(struct core_namelist *l, const struct core_namelist_kind *k,
	void *e, const char *want)
{
	return core_namelist_insert_(l, k, e, want, true);
}

/*
 * Enter @e under its name, not live yet: lookups and walks find it,
 * core_namelist_live() does not until core_namelist_publish().
 */
static inline int
core_namelist_reserve(struct core_namelist *l,
	const struct core_namelist_kind *k, void *e, const char *want)
{
	return core_namelist_insert_(l, k, e, want, false);
}

/* Make a reserved @e live (its owner's thread, once @e is built). */
static inline void
core_namelist_publish(const struct core_namelist_kind *k, void *e)
{
	*core_namelist_magic_(k, e) = k->magic;
}

/* Take @e out of @l: it is no longer live. */
static inline void
core_namelist_del(struct core_namelist *l, const struct core_namelist_kind *k,
	void *e)
{
	struct mmrt_robust_edit *j;

	core_namelist_lock(l, k);
	j = core_namelist_journal_(l, k, e, true);
	core_rlist_unlink(&l->head, &core_namelist_node_(k, e)->link, j);
	if (j != NULL)
		core_edit_step(j, 3);
	*core_namelist_magic_(k, e) = 0;
	if (j != NULL)
		core_edit_end(j);
	core_namelist_unlock(l, k);
}

#endif /* CORE_NAMELIST_H */
