/* hourly_csv: a site's electricity price and grid carbon intensity by local hour, from a CSV file
 * (sites[].hourly_csv). Internal to sim/config/.
 *
 * The file has a header line naming its columns: `hour` (0..23, the site's local hour), at least one of
 * `price_usd_per_kwh` and `co2_g_per_kwh`, optionally `site` (rows whose `site` is the site's name are its
 * own, so one file serves many sites) and `source` (free text for attribution, ignored). Any other column
 * is refused (a misspelt column would otherwise have no effect). Fields are not quoted: no commas inside
 * a field. Blank lines and lines starting with '#' are skipped. The rows of a site give each hour 0..23
 * exactly once, with finite values >= 0.
 *
 * Owns nothing after it returns. Problems are reported through the reader as FILE:LINE:COL with the
 * scenario key path, and reading goes on. */
#ifndef CPN_CONFIG_HOURLY_CSV_H
#define CPN_CONFIG_HOURLY_CSV_H

#include "config/reader.h"

/* Reads `file_abs` for site `site`. On success returns 1 and fills price[24] (when *has_price) and co2[24]
 * (when *has_co2) with the columns the file has. Returns 0 after reporting. */
int cpn_hourly_csv_read(cpn_reader_t *r, const char *file_abs, const char *path, const char *site, double *price,
                        int *has_price, double *co2, int *has_co2);

#endif
