/* fuzz_scenario: libFuzzer target for the scenario loader (config/scenario.h), with --set overrides.
 *
 * Input: a scenario document, optionally followed by NUL-separated `--set` strings ("key=value"), at
 * most 8 of them. The loader must return CPN_OK or an error with a message, never crash, hang or leak;
 * a scenario it accepts must print (cpn_scenario_print) and load back. */
#include "fuzz_common.h"

#include "config/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  enum { MAX_SETS = 8 };
  size_t doc = 0;
  while (doc < size && data[doc])
    doc++;
  const char *path = fuzz_write("scenario.yaml", data, doc);
  if (!path)
    return 0;
  /* The --set strings follow the document, each ended by a NUL (the last may end at the input's end). */
  char *copy = malloc(size - doc + 1);
  if (!copy)
    return 0;
  memcpy(copy, data + doc, size - doc);
  copy[size - doc] = 0;
  const char *sets[MAX_SETS];
  int n_sets = 0;
  for (size_t i = 0; i < size - doc && n_sets < MAX_SETS; i++)
    if (copy[i] == 0 && i + 1 < size - doc)
      sets[n_sets++] = copy + i + 1;
  cpn_scenario_t sc;
  if (cpn_scenario_load(&sc, path, sets, n_sets) == CPN_OK) {
    /* What the loader accepts must print and read back (the --print-config contract). */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f) {
      cpn_err_t rc = cpn_scenario_print(&sc, f);
      fclose(f);
      if (rc == CPN_OK) {
        const char *again = fuzz_write("scenario.yaml", (const uint8_t *)buf, len);
        cpn_scenario_t sc2;
        if (again && cpn_scenario_load(&sc2, again, NULL, 0) != CPN_OK) {
          fprintf(stderr, "fuzz_scenario: printed scenario does not load back:\n%s\n--- printed:\n%s\n",
                  cpn_error_message(), buf);
          abort();
        }
        if (again)
          cpn_scenario_destroy(&sc2);
      }
      free(buf);
    }
    cpn_scenario_destroy(&sc);
  }
  cpn_error_clear();
  free(copy);
  return 0;
}
