/* scenario: loads a scenario YAML file into cpn_scenario_t, with `extends:` inheritance and `--set`
 * overrides, and prints a resolved scenario back as YAML that loads again.
 *
 * Pipeline: the reader (reader.c) parses the files, merges the `extends:` chain and applies the `--set`
 * overrides; the topology section (schema_topology.c, with the importers of sim/topology/) is expanded
 * into written-looking nodes, links, sites and origins; then each section file (schema_*.c) maps its
 * part of the tree into the plain structs of config/spec.h, in the order schema.h gives. The mapping is
 * driven by one schema table per section (key, type, struct offset, default, range); the root table
 * here lists them, and the same tables check --set paths, list the known keys and print the scenario,
 * so those cannot drift apart from what the loader accepts.
 *
 * What it owns: nothing beyond one load (the reader, the scenario being filled) and the list of known
 * keys, built once.
 * Invariants: validation never stops at the first problem; every problem is recorded with its input
 * location and key path, and the load fails if there was any. On failure *sc is zeroed and everything
 * allocated is freed; on success every array in *sc is owned by it and freed by cpn_scenario_destroy. */
#include "config/scenario.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "config/reader.h"
#include "config/schema.h"

static const cpn_reader_field_t root_fields[] = {
    {CPN_FLD_STR("name", cpn_scenario_t, name), .check = CPN_STR_NAME},
    {CPN_FLD_CUSTOM("extends", CPN_T_STR)},
    {CPN_FLD_CUSTOM("description", CPN_T_STR)},
    {CPN_FLD_CUSTOM("run", CPN_T_MAP), .sub = &cpn_schema_run_section},
    {CPN_FLD_CUSTOM("demand", CPN_T_MAP), .sub = &cpn_schema_demand_section},
    {CPN_FLD_CUSTOM("models", CPN_T_LIST), .req = 1, .sub = &cpn_schema_model_section},
    {CPN_FLD_CUSTOM("classes", CPN_T_LIST), .sub = &cpn_schema_class_section},
    {CPN_FLD_CUSTOM("tenants", CPN_T_LIST), .sub = &cpn_schema_tenant_section},
    {CPN_FLD_CUSTOM("sites", CPN_T_LIST), .req = 1, .sub = &cpn_schema_site_section},
    {CPN_FLD_CUSTOM("nodes", CPN_T_LIST), .sub = &cpn_schema_node_section},
    {CPN_FLD_CUSTOM("links", CPN_T_LIST), .sub = &cpn_schema_link_section},
    {CPN_FLD_CUSTOM("origins", CPN_T_LIST), .req = 1, .sub = &cpn_schema_origin_section},
    {CPN_FLD_CUSTOM("topology", CPN_T_MAP), .sub = &cpn_schema_topology_section},
    {CPN_FLD_CUSTOM("faults", CPN_T_MAP), .sub = &cpn_schema_faults_section},
    {CPN_FLD_CUSTOM("distribution", CPN_T_LIST), .sub = &cpn_schema_distribution_section},
    {CPN_FLD_CUSTOM("training", CPN_T_LIST), .sub = &cpn_schema_training_section},
};
static const cpn_reader_section_t root_section = CPN_SECTION(root_fields);

static void default_name(const char *path, char *out, size_t size)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  if (len >= size)
    len = size - 1;
  memcpy(out, base, len);
  out[len] = '\0';
}

static void map_scenario(cpn_reader_t *c, cpn_reader_node_t *root, const char *path, cpn_scenario_t *sc)
{
  char buf[80];
  if (root->kind != CPN_READER_MAP) {
    cpn_reader_report(c, root, "",
                      "the top level must be a mapping of sections (name, run, demand, models, ...), got %s",
                      cpn_reader_show(root, buf, sizeof buf));
    return;
  }
  cpn_schema_topology_expand(c, root);
  cpn_schema_mapping_t mp = {sc, NULL, NULL, NULL};
  uint64_t p = cpn_reader_map_fields(c, root, "", &root_section, sc);
  if (!(p & cpn_reader_bit(&root_section, "name")))
    default_name(path, sc->name, sizeof sc->name);
  const cpn_reader_node_t *dv = cpn_reader_map_get(root, "description");
  if (dv && !cpn_reader_is_null(dv))
    cpn_reader_get_str(c, dv, "description", NULL, 0, CPN_STR_ANY);

  cpn_schema_run_map(c, root, &sc->run);
  cpn_schema_demand_map(c, root, &sc->demand);
  cpn_schema_models_map(c, root, sc);
  cpn_schema_classes_map(c, root, sc);
  cpn_schema_tenants_map(c, root, sc);
  cpn_schema_sites_map(c, root, &mp);
  cpn_schema_models_check_stores(c, root, sc);
  cpn_schema_nodes_map(c, root, &mp);
  cpn_schema_links_map(c, root, &mp);
  cpn_schema_origins_map(c, root, &mp);
  cpn_schema_faults_map(c, root, sc);
  cpn_schema_jobs_map(c, root, sc);
  free(mp.site_geo);
  free(mp.node_geo);
  cpn_name_index_free(mp.endpoints);
}

cpn_err_t cpn_scenario_load(cpn_scenario_t *sc, const char *path, const char *const *sets, int n_sets)
{
  /* The scenario name is not inherited: a child without one is named after its own file. */
  static const char *const own_keys[] = {"name", NULL};
  cpn_reader_t c;
  cpn_scenario_t tmp = {0};
  assert(sc && path && n_sets >= 0 && (n_sets == 0 || sets));
  memset(sc, 0, sizeof *sc);
  cpn_reader_init(&c);
  cpn_reader_node_t *root = cpn_reader_load(&c, path, own_keys, &tmp.text);
  if (root) {
    if (root->kind == CPN_READER_MAP)
      for (int i = 0; i < n_sets; i++)
        cpn_reader_apply_set(&c, root, &root_section, sets[i], i);
    if (!cpn_reader_exhausted(&c))
      map_scenario(&c, root, path, &tmp);
  }
  snprintf(tmp.file, sizeof tmp.file, "%s", path);
  if (cpn_reader_failed(&c) || !root) {
    cpn_err_t code = cpn_reader_fail(&c);
    cpn_reader_destroy(&c);
    cpn_scenario_destroy(&tmp);
    return code;
  }
  cpn_reader_destroy(&c);
  *sc = tmp;
  return CPN_OK;
}

void cpn_scenario_destroy(cpn_scenario_t *sc)
{
  if (!sc)
    return;
  for (int i = 0; sc->sites && i < sc->n_sites; i++) {
    free(sc->sites[i].pools);
    free(sc->sites[i].replicas);
  }
  for (int i = 0; sc->origins && i < sc->n_origins; i++) {
    free(sc->origins[i].allowed);
    free(sc->origins[i].sched.t_s);
    free(sc->origins[i].sched.cv);
  }
  for (int i = 0; sc->classes && i < sc->n_classes; i++) {
    free((void *)sc->classes[i].prompt_tokens.values);
    free((void *)sc->classes[i].output_tokens.values);
    for (int w = 0; w < sc->classes[i].n_token_windows; w++) {
      free((void *)sc->classes[i].token_windows[w].prompt_tokens.values);
      free((void *)sc->classes[i].token_windows[w].output_tokens.values);
    }
    free(sc->classes[i].token_windows);
    free(sc->classes[i].sched.t_s);
    free(sc->classes[i].sched.cv);
  }
  free(sc->sites);
  free(sc->nodes);
  free(sc->links);
  free(sc->faults.events);
  free(sc->distributions);
  free(sc->trainings);
  free(sc->models);
  free(sc->classes);
  free(sc->tenants);
  free(sc->origins);
  free(sc->text);
  free(sc->run.policy_param_keys);
  free(sc->run.policy_param_values);
  free(sc->run.autoscaler_param_keys);
  free(sc->run.autoscaler_param_values);
  memset(sc, 0, sizeof *sc);
}

int cpn_scenario_site_index(const cpn_scenario_t *sc, const char *name)
{
  for (int i = 0; i < sc->n_sites; i++)
    if (strcmp(sc->sites[i].name, name) == 0)
      return i;
  return -1;
}

int cpn_scenario_model_index(const cpn_scenario_t *sc, const char *name)
{
  for (int i = 0; i < sc->n_models; i++)
    if (strcmp(sc->models[i].name, name) == 0)
      return i;
  return -1;
}

/* ------------------------------------------------------------------------------------------------
 * Known keys. */

#define KNOWN_MAX 1024
static const char *known_ptr[KNOWN_MAX + 1];
static char known_text[KNOWN_MAX * 56];
static size_t n_known;
static once_flag known_once = ONCE_FLAG_INIT;

static size_t known_used;

static void add_known_key(void *arg, const char *path)
{
  (void)arg;
  size_t len = strlen(path);
  if (n_known >= KNOWN_MAX || known_used + len + 1 > sizeof known_text)
    abort(); /* the tables outgrew the buffers: a programming error */
  memcpy(known_text + known_used, path, len + 1);
  known_ptr[n_known++] = known_text + known_used;
  known_used += len + 1;
}

static void init_known_keys(void)
{
  cpn_reader_walk_keys(&root_section, add_known_key, NULL);
  known_ptr[n_known] = NULL;
}

const char *const *cpn_scenario_known_keys(size_t *n)
{
  call_once(&known_once, init_known_keys);
  if (n)
    *n = n_known;
  return known_ptr;
}

cpn_err_t cpn_scenario_print(const cpn_scenario_t *sc, FILE *f)
{
  fputs("# cpnsim scenario, fully resolved: defaults filled in, extends and --set applied.\n# from: ", f);
  for (const char *p = sc->file; *p; p++)
    fputc((unsigned char)*p < 0x20 ? '?' : *p, f);
  fputs("\nname: ", f);
  cpn_reader_print_str(f, sc->name);
  fputc('\n', f);
  cpn_schema_run_print(f, &sc->run);
  cpn_schema_demand_print(f, &sc->demand);
  cpn_schema_models_print(f, sc);
  cpn_schema_classes_print(f, sc);
  cpn_schema_tenants_print(f, sc);
  cpn_schema_sites_print(f, sc);
  cpn_schema_network_print(f, sc);
  cpn_schema_origins_print(f, sc);
  cpn_schema_faults_print(f, sc);
  cpn_schema_jobs_print(f, sc);
  if (fflush(f) != 0 || ferror(f))
    return cpn_error_set(CPN_EIO, "cannot write the scenario: %s", strerror(errno));
  return CPN_OK;
}
