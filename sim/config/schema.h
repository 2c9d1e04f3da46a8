/* schema: the sections of a scenario file, one schema_<section>.c each, and what scenario.c needs of
 * them to load and print a whole scenario. Internal to sim/config/.
 *
 * Each section file owns its schema table(s), maps its part of the tree into the plain structs of
 * config/spec.h with the reader (reporting every problem with its input location), and prints its part
 * back as YAML that loads again. scenario.c calls them in a fixed order, because some checks need an
 * earlier section: models before sites (replicas name models), sites before models' stores, sites and
 * nodes before links, all of them before origins. The topology section runs first of all: it adds
 * nodes, links, sites and origins to the tree, which the later sections then read like written ones.
 *
 * The section tables are exported so that the root table (scenario.c) can list them: --set paths, the
 * known keys and the printer are all driven by the same tables. */
#ifndef CPN_CONFIG_SCHEMA_H
#define CPN_CONFIG_SCHEMA_H

#include <stdio.h>

#include "config/reader.h"
#include "config/scenario.h"
#include "config/spec.h"
#include "core/name_index.h"

/* What mapping one section leaves for the next. */
typedef struct {
  cpn_scenario_t *sc;
  unsigned char *site_geo, *node_geo; /* 1 where both lat and lon were given (malloc'd, the caller frees) */
  /* Site and node names -> site i, or n_sites + node j: made by the first endpoint lookup, once sites and
   * nodes are read (the caller frees it); NULL until then, or when out of memory (lookups then scan). */
  cpn_name_index_t *endpoints;
} cpn_schema_mapping_t;

/* A site or node found by name: its index in sites[] or nodes[], -1 for the other (both -1: absent). */
typedef struct {
  int site, node;
} cpn_schema_endpoint_t;

/* schema_run.c: run (mapped with its defaults when absent). */
extern const cpn_reader_section_t cpn_schema_run_section;
void cpn_schema_run_map(cpn_reader_t *r, const cpn_reader_node_t *root, cpn_run_spec_t *run);
void cpn_schema_run_print(FILE *f, const cpn_run_spec_t *run);

/* schema_demand.c: demand, demand.diurnal, demand.trace. */
extern const cpn_reader_section_t cpn_schema_demand_section;
void cpn_schema_demand_map(cpn_reader_t *r, const cpn_reader_node_t *root, cpn_demand_spec_t *demand);
void cpn_schema_demand_print(FILE *f, const cpn_demand_spec_t *demand);

/* schema_models.c: models; their stores are checked once sites are read. */
extern const cpn_reader_section_t cpn_schema_model_section;
void cpn_schema_models_map(cpn_reader_t *r, const cpn_reader_node_t *root, cpn_scenario_t *sc);
void cpn_schema_models_check_stores(cpn_reader_t *r, const cpn_reader_node_t *root, const cpn_scenario_t *sc);
void cpn_schema_models_print(FILE *f, const cpn_scenario_t *sc);

/* schema_classes.c: classes and their token-length distributions. */
extern const cpn_reader_section_t cpn_schema_class_section;
void cpn_schema_classes_map(cpn_reader_t *r, const cpn_reader_node_t *root, cpn_scenario_t *sc);
void cpn_schema_classes_print(FILE *f, const cpn_scenario_t *sc);

/* schema_tenants.c: tenants. */
extern const cpn_reader_section_t cpn_schema_tenant_section;
void cpn_schema_tenants_map(cpn_reader_t *r, const cpn_reader_node_t *root, cpn_scenario_t *sc);
void cpn_schema_tenants_print(FILE *f, const cpn_scenario_t *sc);

/* schema_sites.c: sites with their pools and replicas (needs models); site_template is a site without
 * name, lat and lon. */
extern const cpn_reader_section_t cpn_schema_site_section, cpn_schema_pool_section, cpn_schema_replica_section;
extern const cpn_reader_section_t cpn_schema_site_template_section;
void cpn_schema_sites_map(cpn_reader_t *r, const cpn_reader_node_t *root, cpn_schema_mapping_t *mp);
void cpn_schema_sites_print(FILE *f, const cpn_scenario_t *sc);

/* schema_network.c: nodes (needs sites), links (needs sites and nodes), and place lookups. */
extern const cpn_reader_section_t cpn_schema_node_section, cpn_schema_link_section;
void cpn_schema_nodes_map(cpn_reader_t *r, const cpn_reader_node_t *root, cpn_schema_mapping_t *mp);
void cpn_schema_links_map(cpn_reader_t *r, const cpn_reader_node_t *root, cpn_schema_mapping_t *mp);
void cpn_schema_network_print(FILE *f, const cpn_scenario_t *sc);
cpn_schema_endpoint_t cpn_schema_find_endpoint(cpn_schema_mapping_t *mp, const char *name);
/* As cpn_schema_find_endpoint, reporting a name that is no site or node (with a suggestion) at `v`.
 * Returns 1 when found. */
int cpn_schema_resolve_endpoint(cpn_reader_t *r, cpn_schema_mapping_t *mp, const cpn_reader_node_t *v,
                                const char *path, const char *name, cpn_schema_endpoint_t *e);

/* schema_origins.c: origins (needs sites, nodes and links). */
extern const cpn_reader_section_t cpn_schema_origin_section;
void cpn_schema_origins_map(cpn_reader_t *r, const cpn_reader_node_t *root, cpn_schema_mapping_t *mp);
void cpn_schema_origins_print(FILE *f, const cpn_scenario_t *sc);
/* A rate schedule (origins[].schedule, classes[].schedule) at mapping m, key path sp, of `owner` ("an
 * origin", "a class") for messages; *out is left alone when it is refused. Printed in flow style. */
extern const cpn_reader_section_t cpn_schema_schedule_section;
void cpn_schema_schedule_map(cpn_reader_t *r, const cpn_reader_node_t *m, const char *sp, const cpn_scenario_t *sc,
                             const char *owner, cpn_schedule_spec_t *out);
void cpn_schema_schedule_print(FILE *f, const cpn_schedule_spec_t *s);

/* schema_faults.c: faults (needs sites and links). */
extern const cpn_reader_section_t cpn_schema_faults_section, cpn_schema_fault_section;
void cpn_schema_faults_map(cpn_reader_t *r, const cpn_reader_node_t *root, cpn_scenario_t *sc);
void cpn_schema_faults_print(FILE *f, const cpn_scenario_t *sc);

/* schema_jobs.c: distribution (needs sites). */
extern const cpn_reader_section_t cpn_schema_distribution_section;
void cpn_schema_jobs_map(cpn_reader_t *r, const cpn_reader_node_t *root, cpn_scenario_t *sc);
void cpn_schema_jobs_print(FILE *f, const cpn_scenario_t *sc);
extern const cpn_reader_section_t cpn_schema_training_section;

/* schema_topology.c: expands the topology section into nodes, links, sites and origins of the tree. */
extern const cpn_reader_section_t cpn_schema_topology_section;
void cpn_schema_topology_expand(cpn_reader_t *r, cpn_reader_node_t *root);

#endif
