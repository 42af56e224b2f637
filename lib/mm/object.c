/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Shared objects: a named, sized array of frames, allocated on first use
 * and held by the object (one reference each); every PTE that maps one
 * holds one more. The object's spinlock guards its pfn array; contents are
 * shared memory with no lock, as with a shared file mapping.
 *
 * Processes. The object table and its lock (obj_lock) live in the memzone
 * OBJ_MZ, which the primary makes and a secondary looks up, so every
 * process finds every object by name; objects are rte_malloc memory. A
 * pool object may be created and destroyed by any process, and outlives
 * its creator as a POSIX shared memory object does. A file-backed
 * object's fd is its creator's (the primary's only: a secondary's would
 * die with it): another process reads its missing pages through
 * /proc/<creator>/fd/<fd>, and only the creator destroys it (closing the
 * fd is its business).
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <stdio.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_memzone.h>

#include <mmrt_core.h>

#include "mm_locking.h"
#include "mm_testhooks.h"
#include "mm_nametab.h"
#include "mm_object.h"
#include "mm_as.h"

#define OBJ_MAX 256
#define OBJ_MZ "mmrt_objects"

struct obj_registry {
	rte_spinlock_t lock;   /* obj_lock: the table */
	void *table[OBJ_MAX];  /* of struct mmrt_object, mm_nametab slots */
};
static struct obj_registry *obj_reg;
static const struct rte_memzone *obj_reg_mz; /* the primary's, to free */
#define obj_lock (obj_reg->lock)

/* The table as an mm_nametab (only while obj_reg is set). */
static struct mm_nametab
obj_names(void)
{
	return (struct mm_nametab){
		.slot = obj_reg->table,
		.max = OBJ_MAX,
		.name_off = offsetof(struct mmrt_object, name),
		.lock = &obj_reg->lock,
		.lock_class = MM_LC_OBJ_TABLE,
	};
}

bool
mm_object_live(const struct mmrt_object *obj)
{
	return obj != NULL && obj->magic == MM_OBJ_MAGIC;
}

static bool
obj_registered(const struct mmrt_object *obj)
{
	struct mm_nametab t;

	if (obj == NULL || obj_reg == NULL)
		return false;
	t = obj_names();
	return mm_nametab_has(&t, obj);
}

bool
mm_objects_live(void)
{
	struct mm_nametab t;

	if (obj_reg == NULL)
		return false;
	t = obj_names();
	return mm_nametab_any(&t);
}

/*
 * The object's file, readable in this process: its own fd in the
 * creator, else a new descriptor of the same file, opened through the
 * creator's /proc/<pid>/fd (closed by obj_file_put()). -1 with errno.
 */
static int
obj_file_get(const struct mmrt_object *obj)
{
	char path[64];

	if (obj->fd_pid == (int32_t)getpid())
		return obj->fd;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)obj->fd_pid,
		obj->fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static void
obj_file_put(const struct mmrt_object *obj, int fd)
{
	if (fd != obj->fd || obj->fd_pid != (int32_t)getpid())
		close(fd);
}

void
mm_object_map_count(struct mmrt_object *obj, int delta)
{
	/* the count's bits only: a count never goes below 0 */
	__atomic_fetch_add(&obj->map_count, (uint64_t)(int64_t)delta,
		__ATOMIC_RELAXED);
}

void
mm_object_map_count_tagged(struct mmrt_object *obj, int delta, uint32_t tag)
{
	uint64_t w = __atomic_load_n(&obj->map_count, __ATOMIC_RELAXED), nw;

	for (;;) {
		if ((w >> MM_OBJ_TAG_SHIFT) != 0) {
			/* another secondary's change: a few instructions (or
			 * a dead one's, until its reaper clears it) */
			rte_pause();
			w = __atomic_load_n(&obj->map_count, __ATOMIC_RELAXED);
			continue;
		}
		nw = ((w + (uint64_t)(int64_t)delta) & MM_OBJ_MAPS_MASK) |
			(uint64_t)tag << MM_OBJ_TAG_SHIFT;
		if (__atomic_compare_exchange_n(&obj->map_count, &w, nw, false,
				__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return;
	}
}

void
mm_object_map_untag(struct mmrt_object *obj, uint32_t tag)
{
	if (mm_object_map_tagged(obj, tag))
		__atomic_fetch_and(&obj->map_count, MM_OBJ_MAPS_MASK,
			__ATOMIC_RELAXED);
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
	int fd;

	fd = obj_file_get(obj);
	if (fd < 0)
		return -EIO;
	p = mmrt_frame_alloc(0);
	if (p < 0) {
		obj_file_put(obj, fd);
		return (int)p;
	}
	a = mmrt_frame_addr((uint32_t)p);
	while (got < MMRT_PAGE_SIZE) {
		n = pread(fd, a + got, MMRT_PAGE_SIZE - got,
			(off_t)(obj->file_off + (idx << MMRT_PAGE_SHIFT) +
			got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			obj_file_put(obj, fd);
			mmrt_frame_put((uint32_t)p);
			return -EIO;
		}
		if (n == 0)
			break; /* end of file */
		got += (uint64_t)n;
	}
	obj_file_put(obj, fd);
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

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		/* the fd would die with this process */
		rte_errno = E_RTE_SECONDARY;
		return NULL;
	}
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
	struct mm_nametab t;
	size_t n;
	int ret;

	if (obj_reg == NULL) {
		rte_errno = ENODEV;
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
	obj->fd_pid = (int32_t)getpid();
	obj->file_off = file_off;
	rte_spinlock_init(&obj->lock);
	obj->magic = MM_OBJ_MAGIC;
	t = obj_names();
	ret = mm_nametab_add(&t, obj);
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
	struct mm_nametab t;
	uint64_t p;

	if (!obj_registered(obj))
		return -EINVAL;
	/* the creator's fd: the creator closes it */
	if (obj->fd >= 0 && obj->fd_pid != (int32_t)getpid())
		return -E_RTE_SECONDARY;
	t = obj_names();
	mm_spin_lock(&obj_lock, MM_LC_OBJ_TABLE);
	if (mm_object_maps(obj) != 0) {
		mm_spin_unlock(&obj_lock, MM_LC_OBJ_TABLE);
		return -EBUSY;
	}
	mm_nametab_del_locked(&t, obj);
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
	struct mm_nametab t;
	size_t n;

	if (name == NULL || (n = strnlen(name, MMRT_NAME_SIZE)) == 0 ||
			n >= MMRT_NAME_SIZE) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (obj_reg == NULL) {
		rte_errno = ENODEV;
		return NULL;
	}
	t = obj_names();
	found = mm_nametab_find(&t, name);
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

/* ---- the shared table ---------------------------------------------------- */

static int
obj_init(const struct mmrt_config *cfg)
{
	const struct rte_memzone *mz;

	RTE_SET_USED(cfg);
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		mz = rte_memzone_lookup(OBJ_MZ);
		if (mz == NULL) {
			MMRT_LOG(ERR, mm, "secondary: no object table (%s) in"
				" the primary", OBJ_MZ);
			return -ENOENT;
		}
		obj_reg = mz->addr;
		return 0;
	}
	obj_reg_mz = TEST_ALLOC_FAIL() ? NULL :
		rte_memzone_reserve(OBJ_MZ, sizeof(*obj_reg), SOCKET_ID_ANY, 0);
	if (obj_reg_mz == NULL)
		return -ENOMEM;
	obj_reg = obj_reg_mz->addr;
	memset(obj_reg, 0, sizeof(*obj_reg));
	rte_spinlock_init(&obj_reg->lock);
	return 0;
}

/* The objects are the runtime's: a secondary leaves them; the primary
 * leaves once none is left. */
static int
obj_fini(void)
{
	if (obj_reg == NULL)
		return 0;
	if (obj_reg_mz != NULL) {
		if (mm_objects_live())
			return -EBUSY;
		rte_memzone_free(obj_reg_mz);
		obj_reg_mz = NULL;
	}
	obj_reg = NULL;
	return 0;
}

/* Up after mm (20), down before it. */
MMRT_SUBSYS_REGISTER(obj_subsys, "mm.obj", 22, obj_init, obj_fini);
