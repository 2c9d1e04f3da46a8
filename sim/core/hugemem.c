/* hugemem: see hugemem.h. */
#define _DEFAULT_SOURCE /* madvise and MADV_HUGEPAGE are not ISO C */
#include "core/hugemem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { HUGE_PAGE = 2 << 20 };

void *cpn_huge_alloc(size_t bytes)
{
  if (bytes < HUGE_PAGE)
    return aligned_alloc(64, (bytes + 63) / 64 * 64 + (bytes == 0) * 64);
  size_t n = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  void *p = aligned_alloc(HUGE_PAGE, n);
#ifdef MADV_HUGEPAGE
  if (p)
    (void)madvise(p, n, MADV_HUGEPAGE); /* advice only: a refusal leaves 4 KiB pages */
#endif
  return p;
}

void *cpn_huge_calloc(size_t bytes)
{
  void *p = cpn_huge_alloc(bytes);
  if (p)
    memset(p, 0, bytes);
  return p;
}
