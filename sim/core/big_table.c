/* big_table: large tables on huge pages where offered (see big_table.h). */
#define _DEFAULT_SOURCE /* madvise and MADV_HUGEPAGE are not ISO C */
#include "core/big_table.h"

#include <stdlib.h>
#include <sys/mman.h>

enum { HUGE_PAGE_BYTES = 2 << 20 };

void *cpn_big_table_alloc(size_t bytes)
{
  if (bytes < HUGE_PAGE_BYTES)
    return malloc(bytes ? bytes : 1);
  size_t rounded = (bytes + HUGE_PAGE_BYTES - 1) / HUGE_PAGE_BYTES * HUGE_PAGE_BYTES;
  void *p = aligned_alloc(HUGE_PAGE_BYTES, rounded);
#ifdef MADV_HUGEPAGE
  if (p)
    (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: a refusal leaves 4 kB pages */
#endif
  return p;
}
