/* record: the names of the request status and reason codes.
 *
 * These strings are part of the result-file format: output.c builds the HDF5 enum types of the
 * /requests `status` and `reason` columns from them, so h5dump, h5py and pandas show these names.
 * Changing one changes the format (bump the root attribute format_version). */
#include "output/record.h"

#include <stddef.h>

static const char *const status_names[CPN_STATUS_COUNT] = {
  [CPN_STATUS_COMPLETED] = "completed",
  [CPN_STATUS_REJECTED] = "rejected",
  [CPN_STATUS_FAILED] = "failed",
  [CPN_STATUS_TIMED_OUT] = "timed_out",
};

static const char *const reason_names[CPN_REASON_COUNT] = {
  [CPN_REASON_NONE] = "none",
  [CPN_REASON_NO_ELIGIBLE_SITE] = "no_eligible_site",
  [CPN_REASON_POLICY_REJECT] = "policy_reject",
  [CPN_REASON_POLICY_VIOLATION] = "policy_violation",
  [CPN_REASON_ADMISSION] = "admission",
  [CPN_REASON_QUEUE_TIMEOUT] = "queue_timeout",
  [CPN_REASON_SITE_FAILURE] = "site_failure",
  [CPN_REASON_LINK_FAILURE] = "link_failure",
  [CPN_REASON_TOO_LARGE] = "too_large",
  [CPN_REASON_END_OF_RUN] = "end_of_run",
};

/* Out-of-range codes get a fixed name rather than NULL so that a log line never crashes. */
const char *cpn_status_name(cpn_status_t s)
{
  if ((unsigned)s >= CPN_STATUS_COUNT)
    return "unknown";
  return status_names[s];
}

const char *cpn_reason_name(cpn_reason_t r)
{
  if ((unsigned)r >= CPN_REASON_COUNT)
    return "unknown";
  return reason_names[r];
}
