/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The miss path of a consumer's translate and its page requests. A miss
 * walks the bound space without locks (mmrt_walk(), the owner is an
 * online poller) and fills the device TLB. A walk that fails is handed to
 * lib/mm's fault probe, which never waits (consumer_fault()); what the
 * probe cannot resolve becomes a page request for the fault path.
 *
 * Page requests: pr_ring (MP/MC) holds {page, access}; pr_pending is a
 * hash of ring_size slots that keeps one request per page pending. A
 * slot is 0 (free) or page | PR_PENDING | access bits; the translate sets
 * it (CAS) before it enqueues and clears it if the ring is full; the
 * drainer clears it (CAS) when it dequeues the page's request. A page
 * whose slot holds another page's request is queued without the dedup.
 */

#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_spinlock.h>

#include "mm_locking.h"
#include "dev_priv.h"
#include "mmrt_uffd.h"

#define PR_PENDING (UINT64_C(1) << 11)
#define PR_ACCESS (MMRT_ACCESS_READ | MMRT_ACCESS_WRITE) /* in a slot */

/* The pending slot of @page (4 KiB aligned). */
static inline uint64_t *
pr_slot(struct mmrt_consumer *c, uint64_t page)
{
	return &c->pr_pending[mmrt_page_hash(page) >> 32 &
		(c->ring_size - 1)];
}

/* Queue a page request for @va, deduplicated per page. */
static void
page_request(struct mmrt_consumer *c, uint64_t va, uint32_t access)
{
	uint64_t page = va & ~(MMRT_PAGE_SIZE - 1);
	uint64_t *slot = pr_slot(c, page);
	uint64_t cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	struct page_req r;
	bool same = (cur & PR_PENDING) &&
		(cur & ~(MMRT_PAGE_SIZE - 1)) == page;

	if (same && (cur & access) == access) {
		STAT_ADD(c, page_requests_dedup, 1);
		return;
	}
	if (same || cur == 0)
		__atomic_compare_exchange_n(slot, &cur,
			page | PR_PENDING | access |
			(same ? (cur & PR_ACCESS) : 0),
			false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	r.va = page;
	r.access = access;
	if (rte_ring_mp_enqueue_elem(c->pr_ring, &r, sizeof(r)) != 0) {
		/* full: nothing queued, the next translate tries again */
		cur = page | PR_PENDING | access |
			(same ? (cur & PR_ACCESS) : 0);
		__atomic_compare_exchange_n(slot, &cur, 0, false,
			__ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
		return;
	}
	STAT_ADD(c, page_requests, 1);
}

/*
 * A walk failed: let lib/mm resolve it without waiting (mmrt_fault_request:
 * demand-zero and object pages are filled in place, 0), post it to the uffd
 * that serves the page (the consumer retries after the fill), or refuse it
 * (copy-on-write waits for acks: a page request for the fault path). No
 * region, no permission and poison are final. The bind lock keeps the
 * space alive across the probe (release takes it before the space goes);
 * if it is taken, or the map lock is, the fault path gets a page request.
 */
static int
consumer_fault(struct mmrt_consumer *c, uint64_t va, uint32_t access)
{
	struct mmrt_fault_token tok = { .seq = NULL };
	int ret = -EBUSY;

	if (mm_spin_trylock(&c->bind_lock, MM_LC_BIND)) {
		if (c->as != NULL && __atomic_load_n(&c->core.state,
				__ATOMIC_ACQUIRE) == MMRT_CONSUMER_BOUND)
			ret = mmrt_fault_request_token(c->as, va, access,
				MMRT_UFFD_REQUESTER_CONSUMER | (uint32_t)c->id,
				&tok);
		else
			ret = -ENOTCONN;
		mm_spin_unlock(&c->bind_lock, MM_LC_BIND);
	}
	switch (ret) {
	case 0:
		/* resolved in place (or raced with a fill): walk again */
		return 0;
	case -ENOENT:
	case -EBUSY:
		page_request(c, va, access);
		return -EAGAIN;
	case -EAGAIN:
		STAT_ADD(c, userfaults, 1);
		c->uf_page = tok.seq == NULL ? 0 :
			(va & ~(uint64_t)(MMRT_PAGE_SIZE - 1)) | 1;
		c->uf_tok = tok;
		c->uf_access = access;
		c->uf_skips = 0;
		return -EAGAIN;
	default:
		return ret;
	}
}

/*
 * A retry of the page the last userfault was posted for, while its uffd's
 * wake token has not moved: answer -EAGAIN without the probe (the walk
 * that failed before this call already looked), at most UF_SKIPS_MAX
 * times in a row.
 *
 * The probe (mmrt_fault_request()) takes the space's map lock and reads
 * the uffd's pending slots, the lines the handler's fill writes: a
 * consumer that probed on every retry slowed the fill it waited for
 * (perf-fault: the copy call took about twice as long). What the memo
 * relies on, as the uffd's waiters do (uffd.c): the token was loaded
 * before the probe's page-table check, and a fill publishes its entry
 * before it moves the token, so a fill the probe missed either shows in
 * the walk or has moved the token. Unregister, destroy, the reclaim of a
 * dead handler's faults and unmap/remap/remove move it too, and so do
 * the changes that turn a fault's outcome without a wake (protect,
 * register, DONTWAKE fills and poison, write protection set:
 * mm_uffd_nudge()). What moves nothing is a fault dropped because the
 * uffd's ring was full: the bound posts it again. A processed invalidation clears the memo
 * (dev_inval_process_n()).
 */
/* model: models/uffd.pml [U.2]/[U.3] (a waiter that polls instead of
 * sleeping: the same load before the check, the same wait for a move) */
#define UF_SKIPS_MAX 64

static __rte_always_inline bool
uf_memo_hit(struct mmrt_consumer *c, uint64_t va, uint32_t access)
{
	if (c->uf_page != ((va & ~(uint64_t)(MMRT_PAGE_SIZE - 1)) | 1) ||
			(access & ~c->uf_access) != 0 ||
			c->uf_skips >= UF_SKIPS_MAX ||
			mmrt_fault_token_moved(&c->uf_tok))
		return false;
	c->uf_skips++;
	STAT_ADD(c, userfaults, 1);
	return true;
}

int
mmrt_consumer_translate_slow(struct mmrt_consumer *c, uint64_t va,
	uint32_t access, struct mmrt_xlate *out)
{
	uint64_t off, addr, *e;
	uint32_t pfn;
	int ret;

	if (!consumer_live(c) || out == NULL || va >= MMRT_VA_LIMIT ||
			(access & ~(MMRT_ACCESS_READ | MMRT_ACCESS_WRITE)))
		return -EINVAL;
	if (unlikely(!consumer_local(c)))
		return -EPERM;
	if (__atomic_load_n(&c->core.state, __ATOMIC_ACQUIRE) !=
			MMRT_CONSUMER_BOUND)
		return -ENOTCONN;
	if (access == 0)
		access = MMRT_ACCESS_READ;
	/* a 2 MiB entry? (the 4 KiB set was probed inline) */
	e = dev_tlb_find(c, va, true);
	if (e != NULL && (access & ~*e & MMRT_DEV_TLBE_DMASK) == 0) {
		addr = va + (*e & ~MMRT_DEV_TLBE_DMASK);
		off = va & (MMRT_PAGE_SIZE - 1);
		out->addr = (void *)(uintptr_t)addr;
		if (*e & MMRT_DEV_TLBE_HOST) {
			out->iova = mmrt_dev_tlbe_host_iova(*e, va, addr);
			out->pfn = MMRT_PFN_NONE;
		} else {
			pfn = (uint32_t)((addr - (uintptr_t)mmrt_mem_fp.base) >>
				MMRT_PAGE_SHIFT);
			out->iova = mmrt_frame_iova_unchecked(pfn) + off;
			out->pfn = pfn;
		}
		out->prot = (uint32_t)(*e &
			(MMRT_DEV_TLBE_R | MMRT_DEV_TLBE_W));
		out->size = MMRT_HUGE_SIZE - (va & (MMRT_HUGE_SIZE - 1));
		out->huge = true;
		mmrt_dev_count_hit(&c->core);
		return 0;
	}
	STAT_ADD(c, tlb_misses, 1);
	if (!mmrt_thread_is_online())
		return -EPERM;
	consumer_set_owner(c);
	ret = mmrt_walk(&c->asc, va, access, out);
	if (ret == 0) {
		dev_tlb_fill(c, va, out);
		/* the next pages of its table, same read section */
		if (!out->huge)
			dev_tlb_prefetch_miss(c, va);
		return 0;
	}
	if (ret == -EFAULT || ret == -EACCES) {
		if (uf_memo_hit(c, va, access))
			return -EAGAIN;
		ret = consumer_fault(c, va, access);
		if (ret != 0)
			return ret;
		ret = mmrt_walk(&c->asc, va, access, out);
		if (ret == 0) {
			STAT_ADD(c, faults_resolved, 1);
			dev_tlb_fill(c, va, out);
			if (!out->huge)
				dev_tlb_prefetch_miss(c, va);
			return 0;
		}
		/* changed again since: the next try starts over */
		return -EAGAIN;
	}
	return ret;
}

int
mmrt_consumer_page_requests(struct mmrt_consumer *c, uint64_t *va,
	uint32_t *access, unsigned int n)
{
	struct page_req r[POLL_BURST];
	unsigned int i, k, got = 0;
	uint64_t *slot, cur, page;

	if (!consumer_live(c) || va == NULL || access == NULL)
		return -EINVAL;
	while (got < n) {
		k = rte_ring_mc_dequeue_burst_elem(c->pr_ring, r, sizeof(r[0]),
			RTE_MIN(n - got, (unsigned int)POLL_BURST), NULL);
		if (k == 0)
			break;
		for (i = 0; i < k; i++) {
			page = r[i].va;
			slot = pr_slot(c, page);
			cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
			while ((cur & PR_PENDING) &&
					(cur & ~(MMRT_PAGE_SIZE - 1)) == page &&
					!__atomic_compare_exchange_n(slot, &cur,
						0, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
				;
			va[got] = page;
			access[got] = (uint32_t)r[i].access;
			got++;
		}
	}
	return (int)got;
}

int
mmrt_consumer_serve_faults(struct mmrt_consumer *c, unsigned int max)
{
	uint64_t va[POLL_BURST];
	uint32_t acc[POLL_BURST];
	unsigned int done = 0;
	struct mmrt_as *as;
	int n, i;

	if (!consumer_live(c))
		return -EINVAL;
	while (done < max) {
		mm_spin_lock(&c->bind_lock, MM_LC_BIND);
		as = c->as;
		mm_spin_unlock(&c->bind_lock, MM_LC_BIND);
		if (as == NULL)
			break;
		n = mmrt_consumer_page_requests(c, va, acc,
			RTE_MIN(max - done, (unsigned int)POLL_BURST));
		if (n <= 0)
			break;
		/*
		 * Errors are seen again by the consumer on its retry. NOWAIT:
		 * a request may be for a page a uffd serves (the probe found
		 * the map lock taken), and the caller may be its resolver.
		 */
		for (i = 0; i < n; i++)
			(void)mmrt_fault(as, va[i], (acc[i] == 0 ?
				MMRT_ACCESS_READ : acc[i]) |
				MMRT_ACCESS_NOWAIT);
		done += (unsigned int)n;
	}
	return (int)done;
}

void
dev_prq_reset(struct mmrt_consumer *c)
{
	struct page_req r[POLL_BURST];

	c->uf_page = 0;
	while (rte_ring_dequeue_burst_elem(c->pr_ring, r, sizeof(r[0]),
			POLL_BURST, NULL) > 0)
		;
	memset(c->pr_pending, 0, sizeof(uint64_t) * c->ring_size);
}
