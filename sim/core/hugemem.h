/* hugemem: the simulation's large arrays that are read at random (request slabs, replicas, scheduler
 * states, per-(source, node) route tables), on transparent huge pages where the kernel offers them.
 * With millions of requests in flight, or route tables of hundreds of MB at 10,000 sites, nearly every
 * read of a 4 KiB page also missed the TLB, and the page tables of a GB do not stay in cache; a 2 MiB
 * page covers 512 of them. Linux's default THP mode (madvise) gives huge pages only to ranges that ask
 * (MADV_HUGEPAGE: a no-op when THP is off). Owns nothing beyond the blocks it returns. */
#ifndef CPN_CORE_HUGEMEM_H
#define CPN_CORE_HUGEMEM_H

#include <stddef.h>

/* A block of `bytes` (at least 1), 64-byte aligned, and 2 MiB aligned and advised as huge pages when at
 * least 2 MiB; NULL when out of memory. Released with free(). cpn_huge_alloc leaves the contents as
 * malloc does; cpn_huge_calloc zeroes them. */
void *cpn_huge_alloc(size_t bytes);
void *cpn_huge_calloc(size_t bytes);

#endif
