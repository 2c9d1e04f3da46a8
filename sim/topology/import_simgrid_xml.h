/* import_simgrid_xml: reads a flat SimGrid platform XML file into the plain nodes and links of a
 * scenario's topology section.
 *
 * It produces plain arrays (config/spec.h) and knows nothing of the scenario file or its reader: every
 * problem goes to a sink the caller passes, with its place in the XML file. */
#ifndef CPN_TOPOLOGY_IMPORT_SIMGRID_XML_H
#define CPN_TOPOLOGY_IMPORT_SIMGRID_XML_H

#include "config/spec.h"
#include "core/error.h"

/* Receives one problem found in `file`: `line` and `col` are 1-based, both 0 when the problem is about
 * the whole file (it cannot be read). `message` names no file or place and is valid during the call. */
typedef void cpn_topology_problem_fn(void *arg, const char *file, int line, int col, const char *message);

/* Reads the SimGrid platform at `path`: one zone of hosts and routers (nodes, no coordinates: NAN
 * lat/lon), links (bandwidth and latency in SimGrid units; SHARED, the default, or SPLITDUPLEX) and
 * routes of exactly one link_ctn, which place their link between the route's two ends. Every problem
 * found is passed to `problem(arg, ...)`, in the order found; a syntax error ends the reading.
 * Returns CPN_OK with *nodes and *links malloc'd (the caller frees them with free()); CPN_EINVAL after
 * reporting at least one problem; CPN_EIO when the file cannot be read (reported, line 0); CPN_ENOMEM
 * (not reported as a problem). On failure nothing is written to the outputs. Cost: O(file size +
 * hosts^2 + links^2) (names are looked up by linear search). */
cpn_err_t cpn_topology_simgrid_xml_read(const char *path, cpn_node_spec_t **nodes, int *n_nodes,
                                        cpn_link_spec_t **links, int *n_links, cpn_topology_problem_fn *problem,
                                        void *arg);

#endif
