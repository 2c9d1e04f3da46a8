/* big_table: allocation of the large per-(source, node) tables of routes (hundreds of MB at 10,000
 * sites), on huge pages where the kernel offers them.
 *
 * A request reads a few scattered cells of such tables (its origin's route, latency and bandwidth rows):
 * with 4 kB pages nearly every one of those reads also missed the TLB, and the page tables of a 1 GB
 * table (2 MB of entries) do not stay in cache either. Tables of 2 MB or more are aligned to 2 MB and
 * advised as huge pages (MADV_HUGEPAGE: taken when transparent huge pages are "always" or "madvise", a
 * no-op otherwise); smaller ones are plain malloc. Owns nothing beyond the blocks it returns; the
 * contents are those of malloc (not zeroed). */
#ifndef CPN_CORE_BIG_TABLE_H
#define CPN_CORE_BIG_TABLE_H

#include <stddef.h>

/* A block of `bytes` (at least 1), NULL when out of memory. Free it with free(). */
void *cpn_big_table_alloc(size_t bytes);

#endif
