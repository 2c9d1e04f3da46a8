/* fuzz_graphml: libFuzzer target for the GraphML import (topology/import_graphml.h).
 *
 * Input: a GraphML file. The import must return nodes and links with unique, NUL-terminated names, or an
 * error with a message; never crash, hang or leak. */
#include "fuzz_common.h"

#include "topology/import_graphml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = fuzz_write("net.graphml", data, size);
  if (!path)
    return 0;
  cpn_node_spec_t *nodes = NULL;
  cpn_link_spec_t *links = NULL;
  int n_nodes = 0, n_links = 0;
  if (cpn_topology_graphml_read(path, &nodes, &n_nodes, &links, &n_links, 1.25e9, 1.0) == CPN_OK) {
    for (int i = 0; i < n_nodes; i++)
      if (!memchr(nodes[i].name, 0, sizeof nodes[i].name))
        abort();
    for (int i = 0; i < n_links; i++)
      if (!memchr(links[i].a, 0, sizeof links[i].a) || !memchr(links[i].b, 0, sizeof links[i].b))
        abort();
    free(nodes);
    free(links);
  }
  cpn_error_clear();
  return 0;
}
