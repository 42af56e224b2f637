/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_STEPPROF_H
#define MM_STEPPROF_H

/*
 * Where the time of a fill, an unmap or a downgrading protect goes, in TSC
 * cycles per step: a measuring aid for perf work, compiled only with
 * -DMM_STEP_PROF (never in a production or test build; without it every
 * macro below is empty).
 *
 *   meson setup build-prof -Dperf=true -Dtest_hooks=false \
 *       -Dtests=disabled -Dc_args=-DMM_STEP_PROF
 *   ninja -C build-prof && ./build-prof/perf/perf-fill
 *   (./build-prof/perf/perf-inval: "stepprof protect", the round trip's
 *   steps as the invalidator sees them)
 *
 * At exit each file that uses it prints, per step, the cycles summed
 * over the run (each step's time runs from the previous step boundary
 * of any file, one clock) and divided by the items (pages) counted with
 * MM_SP_ITEMS() (and MM_SP_DUMP() prints and zeroes them on the way,
 * e.g. when a run moves to another case). Single-threaded use only: the clock and the sums are
 * plain globals, the harnesses call from one thread. Each step boundary
 * is one lfence + rdtsc (tens of cycles on a VM), charged to the step it
 * ends.
 */

#ifdef MM_STEP_PROF
#include <stdio.h>
#include <string.h>
#include <rte_cycles.h>

#define MM_SP_DEFINE(tag, ...) \
	static const char *const mm_sp_names_[] = { __VA_ARGS__ }; \
	static uint64_t mm_sp_cyc_[RTE_DIM(mm_sp_names_)]; \
	static uint64_t mm_sp_items_; \
	static void \
	mm_sp_dump_(const char *tg_) \
	{ \
		uint64_t tot_ = 0; \
		unsigned int i_; \
		if (mm_sp_items_ == 0) \
			return; \
		for (i_ = 0; i_ < RTE_DIM(mm_sp_names_); i_++) \
			tot_ += mm_sp_cyc_[i_]; \
		fprintf(stderr, "stepprof %s: %lu items, %.1f cycles/item " \
			"(%lu preempted steps left out, whole library)\n", \
			tg_, (unsigned long)mm_sp_items_, \
			(double)tot_ / (double)mm_sp_items_, \
			(unsigned long)mm_sp_dropped_); \
		for (i_ = 0; i_ < RTE_DIM(mm_sp_names_); i_++) \
			if (mm_sp_cyc_[i_] != 0) /* another call's */ \
				fprintf(stderr, "stepprof %s:   %-12s %8.1f " \
					"cycles/item\n", tg_, \
					mm_sp_names_[i_], \
					(double)mm_sp_cyc_[i_] / \
					(double)mm_sp_items_); \
		memset(mm_sp_cyc_, 0, sizeof(mm_sp_cyc_)); \
		mm_sp_items_ = 0; \
	} \
	static void __attribute__((destructor)) \
	mm_sp_dump_exit_(void) \
	{ \
		mm_sp_dump_(tag); \
	}
/* print and zero the sums so far, under the name @tag */
#define MM_SP_DUMP(tag) mm_sp_dump_(tag)
/*
 * One clock for the library, so steps in different files add up. lfence
 * then rdtsc: the clock is read once every earlier instruction has
 * completed locally (loads done), but stores may still be draining, so a
 * store-heavy step (a copy) is partly charged to the next step that must
 * wait for them (a locked instruction): that is where the wait happens.
 */
__attribute__((weak)) uint64_t mm_sp_t_;
static inline uint64_t
mm_sp_now_(void)
{
	__builtin_ia32_lfence();
	return rte_rdtsc();
}
/*
 * MM_SP_START() starts the clock for the steps of every file;
 * MM_SP_START_ONLY() for the steps of the calling file only (a call
 * whose steps are all in one file, e.g. mmrt_protect(): the gather and
 * the notifier it calls keep their boundaries out of its sums); MM_SP_OFF()
 * records nothing until the next start (a call the profile is not about).
 * A step that records nothing is not a boundary either.
 */
__attribute__((weak)) const void *mm_sp_only_;
#define MM_SP_START() (mm_sp_only_ = NULL, mm_sp_t_ = mm_sp_now_())
#define MM_SP_START_ONLY() (mm_sp_only_ = mm_sp_cyc_, mm_sp_t_ = mm_sp_now_())
#define MM_SP_OFF() (mm_sp_t_ = 0)
#define MM_SP_ON_() (mm_sp_t_ != 0 && \
	(mm_sp_only_ == NULL || mm_sp_only_ == (const void *)mm_sp_cyc_))
/*
 * A step longer than MM_SP_DROP cycles (about 0.5 ms: longer than any
 * step, a 2 MiB copy included) was preempted: it is left out of the sums
 * (and counted), so a loaded machine does not swamp them.
 */
#define MM_SP_DROP UINT64_C(1000000)
__attribute__((weak)) uint64_t mm_sp_dropped_;
#define MM_SP(i) do { \
	uint64_t t_; \
	if (!MM_SP_ON_()) \
		break; \
	t_ = mm_sp_now_(); \
	if (t_ - mm_sp_t_ < MM_SP_DROP) \
		mm_sp_cyc_[i] += t_ - mm_sp_t_; \
	else \
		mm_sp_dropped_++; \
	mm_sp_t_ = t_; \
} while (0)
#define MM_SP_ITEMS(n) do { \
	if (MM_SP_ON_()) \
		mm_sp_items_ += (n); \
} while (0)
#else
#define MM_SP_DEFINE(tag, ...)
#define MM_SP_START() do { } while (0)
#define MM_SP_START_ONLY() do { } while (0)
#define MM_SP_OFF() do { } while (0)
#define MM_SP(i) do { } while (0)
#define MM_SP_ITEMS(n) do { } while (0)
#define MM_SP_DUMP(tag) do { } while (0)
#endif

#endif /* MM_STEPPROF_H */
