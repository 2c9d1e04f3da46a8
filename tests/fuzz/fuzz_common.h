/* fuzz_common: what the libFuzzer targets of tests/fuzz/ share.
 *
 * The readers under test take a path, so each target writes its input to one file of its own (a private
 * directory made once per process under $TMPDIR, removed at exit) and hands that path over. The file is
 * rewritten for every input; nothing else is kept between inputs. */
#ifndef CPN_FUZZ_COMMON_H
#define CPN_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CPN_FUZZ_NO_XBT
#include <xbt/log.h>
#endif

static char fuzz_dir[256];
static char fuzz_path[320];

static void fuzz_cleanup(void)
{
  if (fuzz_path[0])
    unlink(fuzz_path);
  if (fuzz_dir[0])
    rmdir(fuzz_dir);
}

/* Writes data[0 .. size) to this process's input file named `name` and returns its path (static
 * storage), or NULL when the file cannot be written (the input is then skipped). */
static const char *fuzz_write(const char *name, const uint8_t *data, size_t size)
{
  if (!fuzz_dir[0]) {
    const char *tmp = getenv("TMPDIR");
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/cpn-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fuzz_dir)) {
      fuzz_dir[0] = 0;
      return NULL;
    }
    /* Warnings of the readers (SimGrid's log) would dominate the run time; errors are returned. */
#ifndef CPN_FUZZ_NO_XBT
    xbt_log_control_set("root.thresh:critical");
#endif
    atexit(fuzz_cleanup);
  }
  snprintf(fuzz_path, sizeof fuzz_path, "%s/%s", fuzz_dir, name);
  FILE *f = fopen(fuzz_path, "wb");
  if (!f)
    return NULL;
  int bad = size && fwrite(data, 1, size, f) != size;
  bad |= fclose(f) != 0;
  return bad ? NULL : fuzz_path;
}

#endif
