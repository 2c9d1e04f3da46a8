/* scenario: the in-memory scenario every other module reads, and its YAML loader.
 *
 * The loader (scenario.c, with the generic reader of reader.c and one schema_<section>.c per section)
 * reads YAML with libyaml, resolves `extends:` and command-line `--set` overrides, validates strictly
 * (unknown keys, types, ranges, dangling references) and reports every problem with file:line:column
 * and key path. The structures (config/spec.h) are plain data owned by
 * cpn_scenario_t: arrays allocated by the loader, freed by cpn_scenario_destroy(). Indices (site, model,
 * class...) are positions in these arrays and are what the engine and the output use. */
#ifndef CPN_CONFIG_SCENARIO_H
#define CPN_CONFIG_SCENARIO_H

#include <stddef.h>
#include <stdio.h>

#include "config/spec.h"
#include "core/error.h"

/* Loads and validates `path`, applying `n_sets` overrides "key.path=value" in order. On failure,
 * every problem found is in cpn_error_message(), one per line, and *sc is left zeroed. */
cpn_err_t cpn_scenario_load(cpn_scenario_t *sc, const char *path, const char *const *sets, int n_sets);
void cpn_scenario_destroy(cpn_scenario_t *sc);

/* Index lookups by name; -1 if absent. */
int cpn_scenario_site_index(const cpn_scenario_t *sc, const char *name);
int cpn_scenario_model_index(const cpn_scenario_t *sc, const char *name);

/* Prints the fully resolved scenario (defaults filled in, extends and --set applied) as YAML that
 * cpn_scenario_load() reads back to an equal scenario. The top-level `description` is not kept.
 * Returns CPN_EIO when writing fails. */
cpn_err_t cpn_scenario_print(const cpn_scenario_t *sc, FILE *f);

/* Every key path the loader reads, leaves only, in schema order: "run.duration_s",
 * "sites[].pools[].count", "classes[].prompt_tokens.dist", ... NULL-terminated static storage; *n (if
 * not NULL) receives the count. scenarios/README.md documents each of them. */
const char *const *cpn_scenario_known_keys(size_t *n);

/* Great-circle (haversine) distance in metres on a sphere of the mean Earth radius, 6371 km (as
 * cpn_topology_great_circle_m). A link without latency_s between two places with lat/lon gets this
 * distance / 2e8 m/s. */
double cpn_scenario_great_circle_m(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg);

#endif
