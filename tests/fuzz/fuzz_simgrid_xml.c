/* fuzz_simgrid_xml: libFuzzer target for the SimGrid platform XML import
 * (topology/import_simgrid_xml.h).
 *
 * Input: a platform file. Every problem must reach the sink with a place inside the file; the import
 * returns nodes and links or an error, never crashes, hangs or leaks. */
#include "fuzz_common.h"

#include "topology/import_simgrid_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void problem(void *arg, const char *file, int line, int col, const char *message)
{
  if (line < 0 || col < 0 || !message)
    abort();
  (*(int *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = fuzz_write("platform.xml", data, size);
  if (!path)
    return 0;
  cpn_node_spec_t *nodes = NULL;
  cpn_link_spec_t *links = NULL;
  int n_nodes = 0, n_links = 0, n_problems = 0;
  cpn_err_t rc = cpn_topology_simgrid_xml_read(path, &nodes, &n_nodes, &links, &n_links, problem, &n_problems);
  if (rc == CPN_OK) {
    free(nodes);
    free(links);
  } else if (n_problems == 0 && rc == CPN_EINVAL) {
    fprintf(stderr, "fuzz_simgrid_xml: refused with no problem reported\n");
    abort();
  }
  cpn_error_clear();
  return 0;
}
