/* fuzz_report_h5: libFuzzer target for the HDF5 result reader of cpnsim-report (analysis/cpnsim_report.c,
 * run_load: attributes, /names, /requests in blocks, /summary).
 *
 * The report's source is compiled into this target with its main() renamed, so the reader under test is
 * the one the tool runs, not a copy. Input: an HDF5 file (seeds: result files written by cpnsim). The
 * reader must load it or fail with a message, never crash, hang or leak.
 *
 * libhdf5 1.10 itself crashes on some corrupt files; the tool reads each file in a forked child
 * (run_load_isolated), where such a crash becomes an error naming the file. This target does the same
 * first: when the child died of a signal inside libhdf5, the tool would have printed that error and exited
 * 2, which is its designed behaviour, not a finding; so is libhdf5 running out of the child's memory
 * budget (an allocation in libhdf5 that failed; one over the budget in cpnsim's code is read again here,
 * where libFuzzer's memory limits judge it). Otherwise the input is read again in this process, so
 * that libFuzzer sees the coverage and ASan/UBSan check cpnsim's code (a crash outside libhdf5 in the child
 * crashes here too, with the sanitizers' report). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define main cpn_report_main
#include "../../analysis/cpnsim_report.c"
#undef main

#define CPN_FUZZ_NO_XBT /* the report does not link SimGrid */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int quiet;
  if (!quiet) {
    /* The child's CPU limit (a libhdf5 loop): well under libFuzzer's -timeout (scripts/fuzz.sh: 30 s for
     * this target, wall time on a busy machine). */
    report_child_cpu_s = 3;
    /* The child's memory budget (libhdf5 allocating what a corrupt file claims): far above what a 64 KiB
     * input needs, small enough that reaching it is quick under ASan. */
    report_child_mem_mib = 256;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* the reader reports its own errors */
    quiet = 1;
  }
  const char *path = fuzz_write("result.h5", data, size);
  if (!path)
    return 0;
  run_t r;
  int how = 0;
  if (run_load_isolated(&r, path, &how) == 0)
    run_destroy(&r);
  if (how == LOAD_CRASH_IN_HDF5 || how == LOAD_NO_MEMORY_IN_HDF5) {
    err_msg[0] = 0;
    return 0;
  }
  if (run_load(&r, path) == 0)
    run_destroy(&r);
  /* Every HDF5 id the reader opened must be closed, on every error path: an id left open keeps the file
   * and its metadata in memory (a leak per file read). */
  ssize_t n_open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (n_open > 0) {
    hid_t ids[64];
    ssize_t n = H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_ALL, 64, ids);
    for (ssize_t i = 0; i < n; i++) {
      char name[256] = "";
      H5Iget_name(ids[i], name, sizeof name);
      fprintf(stderr, "fuzz_report_h5: HDF5 id left open: type %d, name '%s'\n", (int)H5Iget_type(ids[i]), name);
    }
    fprintf(stderr, "fuzz_report_h5: after: %s\n", err_msg);
    abort();
  }
  err_msg[0] = 0;
  return 0;
}
