/* hugemem: see hugemem.h. */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#include "core/hugemem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { HUGE_PAGE = 2 << 20 };

void *cpn_huge_calloc(size_t bytes)
{
  if (bytes < HUGE_PAGE) {
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (p)
      memset(p, 0, bytes);
    return p;
  }
  size_t n = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  void *p = aligned_alloc(HUGE_PAGE, n);
  if (!p)
    return NULL;
#ifdef MADV_HUGEPAGE
  (void)madvise(p, n, MADV_HUGEPAGE); /* a hint: without huge pages the memory works the same */
#endif
  memset(p, 0, bytes);
  return p;
}
