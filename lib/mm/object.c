/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Shared objects: a named, sized array of frames, allocated on first use
 * and held by the object (one reference each); every PTE that maps one
 * holds one more. The object's spinlock guards its pfn array; contents are
 * shared memory with no lock, as with a shared file mapping.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "mm_locking.h"
#include "mm_testhooks.h"
#include "mm_nametab.h"
#include "mm_object.h"

#define OBJ_MAX 256

static void *obj_table[OBJ_MAX];
static rte_spinlock_t obj_lock = RTE_SPINLOCK_INITIALIZER;
static const struct mm_nametab obj_names = {
	.slot = obj_table,
	.max = OBJ_MAX,
	.name_off = offsetof(struct mmrt_object, name),
	.lock = &obj_lock,
	.lock_class = MM_LC_OBJ_TABLE,
};

bool
mm_object_live(const struct mmrt_object *obj)
{
	return obj != NULL && obj->magic == MM_OBJ_MAGIC;
}

static bool
obj_registered(const struct mmrt_object *obj)
{
	return obj != NULL && mm_nametab_has(&obj_names, obj);
}

bool
mm_objects_live(void)
{
	return mm_nametab_any(&obj_names);
}

void
mm_object_map_count(struct mmrt_object *obj, int delta)
{
	__atomic_fetch_add(&obj->map_count, delta, __ATOMIC_RELAXED);
}

/*
 * Read page @idx of a file-backed object into a new frame: 0 and *pfn, or
 * -ENOMEM, -EIO. A short read is the end of the file: the rest of the
 * page is zeros, and a page wholly past it is all zeros (as a sparse
 * file's hole reads).
 */
static int
obj_read_page(struct mmrt_object *obj, uint64_t idx, uint32_t *pfn)
{
	uint64_t got = 0;
	uint8_t *a;
	ssize_t n;
	int64_t p;

	p = mmrt_frame_alloc(0);
	if (p < 0)
		return (int)p;
	a = mmrt_frame_addr((uint32_t)p);
	while (got < MMRT_PAGE_SIZE) {
		n = pread(obj->fd, a + got, MMRT_PAGE_SIZE - got,
			(off_t)(obj->file_off + (idx << MMRT_PAGE_SHIFT) +
			got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mmrt_frame_put((uint32_t)p);
			return -EIO;
		}
		if (n == 0)
			break; /* end of file */
		got += (uint64_t)n;
	}
	memset(a + got, 0, MMRT_PAGE_SIZE - got);
	*pfn = (uint32_t)p;
	return 0;
}

bool
mm_object_has_page(struct mmrt_object *obj, uint64_t idx)
{
	if (idx >= obj->npages)
		return false;
	return obj->fd >= 0 || mm_object_peek(obj, idx) != MMRT_PFN_NONE;
}

int
mm_object_page_nowait(struct mmrt_object *obj, uint64_t idx, uint32_t *pfn)
{
	if (obj->fd >= 0 && mm_object_peek(obj, idx) == MMRT_PFN_NONE)
		return idx >= obj->npages ? -EFAULT : -EWOULDBLOCK;
	return mm_object_page(obj, idx, pfn);
}

int
mm_object_page(struct mmrt_object *obj, uint64_t idx, uint32_t *pfn)
{
	uint32_t rd = MMRT_PFN_NONE;
	int64_t p;
	int ret;

	if (idx >= obj->npages)
		return -EFAULT;
	if (obj->fd >= 0 && mm_object_peek(obj, idx) == MMRT_PFN_NONE) {
		/* read outside the lock; the first to install wins */
		ret = obj_read_page(obj, idx, &rd);
		if (ret != 0)
			return ret;
		mmrt_frame_meta(rd)->flags |= MMRT_FRAME_OBJECT;
	}
	mm_spin_lock(&obj->lock, MM_LC_OBJ);
	if (obj->pfns[idx] == MMRT_PFN_NONE && rd != MMRT_PFN_NONE) {
		obj->pfns[idx] = rd;
		rd = MMRT_PFN_NONE;
	}
	if (obj->pfns[idx] == MMRT_PFN_NONE) {
		p = mmrt_frame_alloc(MMRT_ALLOC_ZERO);
		if (p < 0) {
			mm_spin_unlock(&obj->lock, MM_LC_OBJ);
			return (int)p;
		}
		mmrt_frame_meta((uint32_t)p)->flags |= MMRT_FRAME_OBJECT;
		obj->pfns[idx] = (uint32_t)p;
	}
	*pfn = obj->pfns[idx];
	mm_spin_unlock(&obj->lock, MM_LC_OBJ);
	if (rd != MMRT_PFN_NONE)
		mmrt_frame_put(rd); /* lost the race: the other is the same */
	return 0;
}

uint32_t
mm_object_peek(struct mmrt_object *obj, uint64_t idx)
{
	uint32_t pfn;

	if (idx >= obj->npages)
		return MMRT_PFN_NONE;
	mm_spin_lock(&obj->lock, MM_LC_OBJ);
	pfn = obj->pfns[idx];
	mm_spin_unlock(&obj->lock, MM_LC_OBJ);
	return pfn;
}

static struct mmrt_object *obj_create(const char *name, uint64_t size,
	int fd, uint64_t file_off);

struct mmrt_object *
mmrt_object_create(const char *name, uint64_t size)
{
	return obj_create(name, size, -1, 0);
}

struct mmrt_object *
mmrt_object_create_fd(const char *name, int fd, uint64_t offset,
	uint64_t size, uint32_t flags)
{
	struct mmrt_object *obj;
	int own;

	if (fd < 0 || flags != 0 || (offset & (MMRT_PAGE_SIZE - 1)) != 0 ||
			offset > (uint64_t)INT64_MAX - size) {
		rte_errno = EINVAL;
		return NULL;
	}
	/* a file we can read: pread() of nothing checks it (EBADF, EISDIR) */
	if (pread(fd, &own, 0, (off_t)offset) < 0) {
		rte_errno = errno == ESPIPE ? EINVAL : errno;
		return NULL;
	}
	own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0) {
		rte_errno = errno;
		return NULL;
	}
	obj = obj_create(name, size, own, offset);
	if (obj == NULL)
		close(own);
	return obj;
}

static struct mmrt_object *
obj_create(const char *name, uint64_t size, int fd, uint64_t file_off)
{
	struct mmrt_object *obj;
	size_t n;
	int ret;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		rte_errno = E_RTE_SECONDARY; /* the table is per process */
		return NULL;
	}
	if (name == NULL || (n = strnlen(name, MMRT_NAME_SIZE)) == 0 ||
			n >= MMRT_NAME_SIZE || size == 0 ||
			(size & (MMRT_PAGE_SIZE - 1)) != 0 ||
			size >= MMRT_VA_LIMIT) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (mmrt_zero_pfn() == MMRT_PFN_NONE) {
		rte_errno = ENODEV;
		return NULL;
	}
	obj = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc("mmrt_object", sizeof(*obj), 0);
	if (obj == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	obj->npages = size >> MMRT_PAGE_SHIFT;
	obj->pfns = TEST_ALLOC_FAIL() ? NULL : rte_malloc("mmrt_object_pfns",
		obj->npages * sizeof(uint32_t), 0);
	if (obj->pfns == NULL) {
		rte_free(obj);
		rte_errno = ENOMEM;
		return NULL;
	}
	memset(obj->pfns, 0xff, obj->npages * sizeof(uint32_t));
	strcpy(obj->name, name);
	obj->size = size;
	obj->fd = fd;
	obj->file_off = file_off;
	rte_spinlock_init(&obj->lock);
	obj->magic = MM_OBJ_MAGIC;
	ret = mm_nametab_add(&obj_names, obj);
	if (ret != 0) {
		rte_free(obj->pfns);
		rte_free(obj);
		rte_errno = -ret;
		return NULL;
	}
	return obj;
}

int
mmrt_object_destroy(struct mmrt_object *obj)
{
	uint64_t p;

	if (!obj_registered(obj))
		return -EINVAL;
	mm_spin_lock(&obj_lock, MM_LC_OBJ_TABLE);
	if (__atomic_load_n(&obj->map_count, __ATOMIC_ACQUIRE) != 0) {
		mm_spin_unlock(&obj_lock, MM_LC_OBJ_TABLE);
		return -EBUSY;
	}
	mm_nametab_del_locked(&obj_names, obj);
	mm_spin_unlock(&obj_lock, MM_LC_OBJ_TABLE);
	obj->magic = 0;
	for (p = 0; p < obj->npages; p++)
		if (obj->pfns[p] != MMRT_PFN_NONE)
			mmrt_frame_put(obj->pfns[p]);
	if (obj->fd >= 0)
		close(obj->fd);
	rte_free(obj->pfns);
	rte_free(obj);
	return 0;
}

struct mmrt_object *
mmrt_object_lookup(const char *name)
{
	struct mmrt_object *found;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		rte_errno = E_RTE_SECONDARY; /* the table is per process */
		return NULL;
	}
	if (name == NULL || strnlen(name, MMRT_NAME_SIZE) == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	found = mm_nametab_find(&obj_names, name);
	if (found == NULL)
		rte_errno = ENOENT;
	return found;
}

uint64_t
mmrt_object_size(const struct mmrt_object *obj)
{
	return mm_object_live(obj) ? obj->size : 0;
}

static int
obj_rw(struct mmrt_object *obj, uint64_t off, void *buf, size_t len,
	bool write)
{
	uint8_t *b = buf;

	if (!mm_object_live(obj) || buf == NULL || off > obj->size ||
			len > obj->size - off)
		return -EINVAL;
	/* a write allocates every page first: failing, it writes nothing */
	if (write && len > 0) {
		uint64_t idx, last = (off + len - 1) >> MMRT_PAGE_SHIFT;
		uint32_t pfn;
		int ret;

		for (idx = off >> MMRT_PAGE_SHIFT; idx <= last; idx++) {
			ret = mm_object_page(obj, idx, &pfn);
			if (ret != 0)
				return ret;
		}
	}
	while (len > 0) {
		uint64_t idx = off >> MMRT_PAGE_SHIFT;
		uint64_t po = off & (MMRT_PAGE_SIZE - 1);
		size_t n = RTE_MIN(len, (size_t)(MMRT_PAGE_SIZE - po));
		uint32_t pfn;
		int ret;

		if (write) {
			ret = mm_object_page(obj, idx, &pfn);
			if (ret != 0)
				return ret;
			memcpy((uint8_t *)mmrt_frame_addr(pfn) + po, b, n);
		} else {
			/* a file-backed page reads its file's bytes */
			if (obj->fd >= 0) {
				ret = mm_object_page(obj, idx, &pfn);
				if (ret != 0)
					return ret;
			}
			mm_spin_lock(&obj->lock, MM_LC_OBJ);
			pfn = obj->pfns[idx];
			if (pfn == MMRT_PFN_NONE)
				memset(b, 0, n);
			else
				memcpy(b, (uint8_t *)mmrt_frame_addr(pfn) + po,
					n);
			mm_spin_unlock(&obj->lock, MM_LC_OBJ);
		}
		b += n;
		off += n;
		len -= n;
	}
	return 0;
}

int
mmrt_object_read(struct mmrt_object *obj, uint64_t off, void *buf,
	size_t len)
{
	return obj_rw(obj, off, buf, len, false);
}

int
mmrt_object_write(struct mmrt_object *obj, uint64_t off, const void *buf,
	size_t len)
{
	return obj_rw(obj, off, (void *)(uintptr_t)buf, len, true);
}
