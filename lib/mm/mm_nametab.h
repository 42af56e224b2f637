/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_NAMETAB_H
#define MM_NAMETAB_H

/*
 * A fixed table of named entries under a spinlock: the registry of
 * spaces (as.c, in shared memory) and that of objects (object.c, per
 * process). An entry is a pointer to a structure that holds its name, a
 * NUL-terminated char[MMRT_NAME_SIZE], at byte @name_off; a free slot is
 * NULL. Names are unique in a table. "In the table" is what tells a live
 * handle from a destroyed one (until a create reuses the address). The
 * unbounded registries (consumers, engines) are lib/core's
 * core_namelist.h.
 *
 * The lock is a leaf (mm_locking.h names the two). Every function here
 * takes it, except mm_nametab_del_locked(), whose caller holds it so
 * that it can decide under the lock whether the entry may go.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_spinlock.h>

#include "core_testhooks.h"
#include "mm_locking.h"
#include "mmrt_mm.h"

struct mm_nametab {
	void **slot;          /* @max entries, NULL = free */
	uint32_t max;
	size_t name_off;      /* offsetof() the name in an entry */
	rte_spinlock_t *lock; /* guards slot[] */
	unsigned int lock_class; /* mm_locking.h: MM_LC_AS_TABLE, _OBJ_TABLE */
};

/* The table's lock, through the lock-order check of test builds. */
static inline void
mm_nametab_lock(const struct mm_nametab *t)
{
	CORE_LOCK_ACQUIRE(t->lock_class, "mm_nametab lock", false);
	core_spin_lock(t->lock, t->lock_class);
}

static inline void
mm_nametab_unlock(const struct mm_nametab *t)
{
	CORE_LOCK_RELEASE(t->lock_class);
	core_spin_unlock(t->lock);
}

static inline const char *
mm_nametab_name(const struct mm_nametab *t, const void *e)
{
	return (const char *)e + t->name_off;
}

/* Is @e in @t? */
static inline bool
mm_nametab_has(const struct mm_nametab *t, const void *e)
{
	bool found = false;
	uint32_t i;

	mm_nametab_lock(t);
	for (i = 0; i < t->max && !found; i++)
		found = t->slot[i] == e;
	mm_nametab_unlock(t);
	return found;
}

/* Does @t hold any entry? */
static inline bool
mm_nametab_any(const struct mm_nametab *t)
{
	bool any = false;
	uint32_t i;

	mm_nametab_lock(t);
	for (i = 0; i < t->max && !any; i++)
		any = t->slot[i] != NULL;
	mm_nametab_unlock(t);
	return any;
}

/*
 * Enter @e in the first free slot under its name.
 * @return 0, -EEXIST (an entry has that name), -ENOSPC (no free slot).
 */
static inline int
mm_nametab_add(const struct mm_nametab *t, void *e)
{
	const char *name = mm_nametab_name(t, e);
	uint32_t i, slot = t->max;
	int ret = 0;

	mm_nametab_lock(t);
	for (i = 0; i < t->max; i++) {
		if (t->slot[i] == NULL) {
			if (slot == t->max)
				slot = i;
		} else if (strncmp(mm_nametab_name(t, t->slot[i]), name,
				MMRT_NAME_SIZE) == 0) {
			ret = -EEXIST;
			break;
		}
	}
	if (ret == 0 && slot == t->max)
		ret = -ENOSPC;
	if (ret == 0)
		t->slot[slot] = e;
	mm_nametab_unlock(t);
	return ret;
}

/* Take @e out of @t (t->lock held). */
static inline void
mm_nametab_del_locked(const struct mm_nametab *t, const void *e)
{
	uint32_t i;

	for (i = 0; i < t->max; i++)
		if (t->slot[i] == e)
			t->slot[i] = NULL;
}

/* The entry named @name, or NULL. */
static inline void *
mm_nametab_find(const struct mm_nametab *t, const char *name)
{
	void *found = NULL;
	uint32_t i;

	mm_nametab_lock(t);
	for (i = 0; i < t->max && found == NULL; i++)
		if (t->slot[i] != NULL && strncmp(mm_nametab_name(t,
				t->slot[i]), name, MMRT_NAME_SIZE) == 0)
			found = t->slot[i];
	mm_nametab_unlock(t);
	return found;
}

#endif /* MM_NAMETAB_H */
