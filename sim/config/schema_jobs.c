/* schema_jobs: the `distribution:` list of a scenario (model versions pushed from a site to other sites)
 * and the `training:` list (data-parallel jobs across sites), read into cpn_distribution_spec_t and
 * cpn_training_spec_t and printed back.
 *
 * Owns the distribution table. Invariants: `from` and every entry of `to` are sites, `to` is not empty,
 * has no repeat and does not hold `from`; bytes > 0. Read after sites. */
#include "config/schema.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cpn_reader_field_t dist_fields[] = {
    {CPN_FLD_STR("name", cpn_distribution_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("from", cpn_distribution_spec_t, from), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_CUSTOM("to", CPN_T_STRLIST), .req = 1},
    {CPN_FLD("bytes", CPN_T_NUM, cpn_distribution_spec_t, bytes), .req = 1, CPN_GT(0)},
    {CPN_FLD("at_s", CPN_T_NUM, cpn_distribution_spec_t, at_s), CPN_GE(0)},
    {CPN_FLD("every_s", CPN_T_NUM, cpn_distribution_spec_t, every_s), CPN_GE(0)},
};
const cpn_reader_section_t cpn_schema_distribution_section = CPN_SECTION(dist_fields);

static const cpn_reader_field_t training_fields[] = {
    {CPN_FLD_STR("name", cpn_training_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_CUSTOM("sites", CPN_T_LIST), .req = 1},
    {CPN_FLD("grad_bytes", CPN_T_NUM, cpn_training_spec_t, grad_bytes), .req = 1, CPN_GT(0)},
    {CPN_FLD("compute_s", CPN_T_NUM, cpn_training_spec_t, compute_s), .req = 1, CPN_GE(0)},
    {CPN_FLD("at_s", CPN_T_NUM, cpn_training_spec_t, at_s), CPN_GE(0)},
    {CPN_FLD("steps", CPN_T_INT, cpn_training_spec_t, steps), CPN_IN(0, 100000000)},
};
const cpn_reader_section_t cpn_schema_training_section = CPN_SECTION(training_fields);

static int site_index(const cpn_scenario_t *sc, const char *name)
{
  for (int i = 0; i < sc->n_sites; i++)
    if (strcmp(sc->sites[i].name, name) == 0)
      return i;
  return -1;
}

/* A list of distinct site names into out[] (at most max); `except` (-1: none) is refused with message
 * `why`. Returns the count read. */
static int read_sites(cpn_reader_t *c, const cpn_reader_node_t *tv, const char *kp, const cpn_scenario_t *sc,
                      int except, int *out, int max, const char *why)
{
  char buf[80];
  int n = 0;
  if (!tv)
    return 0;
  if (tv->kind != CPN_READER_SEQ || tv->n == 0 || tv->n > max) {
    cpn_reader_report(c, tv, kp, "expected a list of 1 to %d site names like [singapore, uae], got %s", max,
                      cpn_reader_show(tv, buf, sizeof buf));
    return 0;
  }
  for (int j = 0; j < tv->n; j++) {
    char ep[CPN_PATH_LEN], name[CPN_NAME_MAX];
    cpn_reader_join_index(ep, kp, j);
    if (!cpn_reader_get_str(c, tv->vals[j], ep, name, sizeof name, CPN_STR_NAME))
      continue;
    int s = site_index(sc, name), dup = 0;
    for (int k = 0; k < n; k++)
      dup |= out[k] == s;
    if (s < 0)
      cpn_reader_report(c, tv->vals[j], ep, "no site named '%s'", name);
    else if (s == except)
      cpn_reader_report(c, tv->vals[j], ep, why, name);
    else if (dup)
      cpn_reader_report(c, tv->vals[j], ep, "'%s' is listed twice", name);
    else
      out[n++] = s;
  }
  return n;
}

static void training_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_scenario_t *sc)
{
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, root, "training", "training", &cpn_schema_training_section, sizeof(cpn_training_spec_t),
                          &l))
    return;
  sc->trainings = l.arr;
  sc->n_trainings = l.n;
  for (int i = 0; i < l.n; i++) {
    cpn_training_spec_t *t = &sc->trainings[i];
    const cpn_reader_node_t *it = l.items[i];
    if (!it)
      continue;
    t->line = it->line;
    char ip[CPN_PATH_LEN], kp[CPN_PATH_LEN];
    cpn_reader_join_index(ip, "training", i);
    cpn_reader_join(kp, ip, "sites");
    const cpn_reader_node_t *sv = cpn_reader_map_get(it, "sites");
    t->n_sites = read_sites(c, sv, kp, sc, -1, t->sites, CPN_TRAIN_MAX_SITES, "%s");
    if (sv && sv->kind == CPN_READER_SEQ && sv->n == 1)
      cpn_reader_report(c, sv, kp, "a training job needs at least 2 sites to exchange gradients, got 1");
  }
  cpn_reader_check_unique_names(c, &l, sizeof(cpn_training_spec_t), offsetof(cpn_training_spec_t, name), "training",
                                "training");
  cpn_reader_list_destroy(&l);
}

void cpn_schema_jobs_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_scenario_t *sc)
{
  training_map(c, root, sc);
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, root, "distribution", "distribution", &cpn_schema_distribution_section,
                          sizeof(cpn_distribution_spec_t), &l))
    return;
  sc->distributions = l.arr;
  sc->n_distributions = l.n;
  for (int i = 0; i < l.n; i++) {
    cpn_distribution_spec_t *d = &sc->distributions[i];
    const cpn_reader_node_t *it = l.items[i];
    if (!it)
      continue;
    d->line = it->line;
    char ip[CPN_PATH_LEN], kp[CPN_PATH_LEN];
    cpn_reader_join_index(ip, "distribution", i);
    cpn_reader_join(kp, ip, "from");
    d->from_site = d->from[0] ? site_index(sc, d->from) : -1;
    if (d->from[0] && d->from_site < 0)
      cpn_reader_report(c, cpn_reader_map_get(it, "from"), kp, "no site named '%s'", d->from);
    cpn_reader_join(kp, ip, "to");
    d->n_to = read_sites(c, cpn_reader_map_get(it, "to"), kp, sc, d->from_site, d->to, CPN_DIST_MAX_SITES,
                         "'%s' is the source (from) of the distribution");
  }
  cpn_reader_check_unique_names(c, &l, sizeof(cpn_distribution_spec_t), offsetof(cpn_distribution_spec_t, name),
                                "distribution", "distribution");
  cpn_reader_list_destroy(&l);
}

static void print_sites(FILE *f, const cpn_scenario_t *sc, const char *key, const int *sites, int n)
{
  fprintf(f, ", %s: [", key);
  for (int k = 0; k < n; k++) {
    if (k)
      fputs(", ", f);
    cpn_reader_print_str(f, sc->sites[sites[k]].name);
  }
  fputs("]}\n", f);
}

void cpn_schema_jobs_print(FILE *f, const cpn_scenario_t *sc)
{
  fputs(sc->n_distributions ? "distribution:\n" : "distribution: []\n", f);
  for (int i = 0; i < sc->n_distributions; i++) {
    const cpn_distribution_spec_t *d = &sc->distributions[i];
    fputs("  - {", f);
    cpn_reader_print_flow(f, &cpn_schema_distribution_section, d, 0);
    print_sites(f, sc, "to", d->to, d->n_to);
  }
  fputs(sc->n_trainings ? "training:\n" : "training: []\n", f);
  for (int i = 0; i < sc->n_trainings; i++) {
    const cpn_training_spec_t *t = &sc->trainings[i];
    fputs("  - {", f);
    cpn_reader_print_flow(f, &cpn_schema_training_section, t, 0);
    print_sites(f, sc, "sites", t->sites, t->n_sites);
  }
}
