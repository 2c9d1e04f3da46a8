/* hugemem: zeroed allocations for the simulation's large arrays that are read at random (request slabs,
 * replicas, scheduler states), on transparent huge pages where the kernel offers them. With millions
 * of requests in flight every event touched a new 4 KiB page and missed the TLB; a 2 MiB page covers
 * 512 of them. Linux's default THP mode (madvise) gives huge pages only to ranges that ask. */
#ifndef CPN_CORE_HUGEMEM_H
#define CPN_CORE_HUGEMEM_H

#include <stddef.h>

/* `bytes` of zeroed memory, 64-byte aligned (2 MiB aligned and marked MADV_HUGEPAGE when at least
 * 2 MiB); NULL when out of memory. Released with free(). */
void *cpn_huge_calloc(size_t bytes);

#endif
