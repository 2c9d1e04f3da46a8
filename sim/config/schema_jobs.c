/* schema_jobs: the `distribution:` list of a scenario (model versions pushed from a site to other sites),
 * read into cpn_distribution_spec_t and printed back.
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

static int site_index(const cpn_scenario_t *sc, const char *name)
{
  for (int i = 0; i < sc->n_sites; i++)
    if (strcmp(sc->sites[i].name, name) == 0)
      return i;
  return -1;
}

void cpn_schema_jobs_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_scenario_t *sc)
{
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
    char ip[CPN_PATH_LEN], kp[CPN_PATH_LEN], buf[80];
    cpn_reader_join_index(ip, "distribution", i);
    cpn_reader_join(kp, ip, "from");
    d->from_site = d->from[0] ? site_index(sc, d->from) : -1;
    if (d->from[0] && d->from_site < 0)
      cpn_reader_report(c, cpn_reader_map_get(it, "from"), kp, "no site named '%s'", d->from);
    const cpn_reader_node_t *tv = cpn_reader_map_get(it, "to");
    cpn_reader_join(kp, ip, "to");
    if (!tv)
      continue;
    if (tv->kind != CPN_READER_SEQ || tv->n == 0 || tv->n > CPN_DIST_MAX_SITES) {
      cpn_reader_report(c, tv, kp, "expected a list of 1 to %d site names like [singapore, uae], got %s",
                        CPN_DIST_MAX_SITES, cpn_reader_show(tv, buf, sizeof buf));
      continue;
    }
    for (int j = 0; j < tv->n; j++) {
      char ep[CPN_PATH_LEN], name[CPN_NAME_MAX];
      cpn_reader_join_index(ep, kp, j);
      if (!cpn_reader_get_str(c, tv->vals[j], ep, name, sizeof name, CPN_STR_NAME))
        continue;
      int s = site_index(sc, name), dup = 0;
      for (int k = 0; k < d->n_to; k++)
        dup |= d->to[k] == s;
      if (s < 0)
        cpn_reader_report(c, tv->vals[j], ep, "no site named '%s'", name);
      else if (s == d->from_site)
        cpn_reader_report(c, tv->vals[j], ep, "'%s' is the source (from) of the distribution", name);
      else if (dup)
        cpn_reader_report(c, tv->vals[j], ep, "'%s' is listed twice", name);
      else
        d->to[d->n_to++] = s;
    }
  }
  cpn_reader_check_unique_names(c, &l, sizeof(cpn_distribution_spec_t), offsetof(cpn_distribution_spec_t, name),
                                "distribution", "distribution");
  cpn_reader_list_destroy(&l);
}

void cpn_schema_jobs_print(FILE *f, const cpn_scenario_t *sc)
{
  if (sc->n_distributions == 0) {
    fputs("distribution: []\n", f);
    return;
  }
  fputs("distribution:\n", f);
  for (int i = 0; i < sc->n_distributions; i++) {
    const cpn_distribution_spec_t *d = &sc->distributions[i];
    fputs("  - {", f);
    cpn_reader_print_flow(f, &cpn_schema_distribution_section, d, 0);
    fputs(", to: [", f);
    for (int k = 0; k < d->n_to; k++) {
      if (k)
        fputs(", ", f);
      cpn_reader_print_str(f, sc->sites[d->to[k]].name);
    }
    fputs("]}\n", f);
  }
}
