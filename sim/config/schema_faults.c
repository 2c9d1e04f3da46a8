/* schema_faults: the `faults:` section of a scenario (outages of links and sites, degraded links, planned
 * or random), read into cpn_faults_spec_t and printed back.
 *
 * Owns the fault table. Invariants: an event names either a site or a link (a, b) that the scenario
 * has; it is planned (at_s) or random (mtbf_s with mttr_s), not both; bw_fraction is for links only;
 * the section is read after sites and links. */
#include "config/schema.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cpn_reader_field_t fault_fields[] = {
    {CPN_FLD_STR("site", cpn_fault_spec_t, site), .check = CPN_STR_NAME},
    {CPN_FLD_STR("a", cpn_fault_spec_t, a), .check = CPN_STR_NAME},
    {CPN_FLD_STR("b", cpn_fault_spec_t, b), .check = CPN_STR_NAME},
    {CPN_FLD("at_s", CPN_T_NUM, cpn_fault_spec_t, at_s), .def = -1, CPN_GE(0)},
    {CPN_FLD("duration_s", CPN_T_NUM, cpn_fault_spec_t, duration_s), CPN_GE(0)},
    {CPN_FLD("bw_fraction", CPN_T_NUM, cpn_fault_spec_t, bw_fraction), CPN_IN(0, 1)},
    {CPN_FLD("mtbf_s", CPN_T_NUM, cpn_fault_spec_t, mtbf_s), CPN_GE(0)},
    {CPN_FLD("mttr_s", CPN_T_NUM, cpn_fault_spec_t, mttr_s), CPN_GE(0)},
};
const cpn_reader_section_t cpn_schema_fault_section = CPN_SECTION(fault_fields);

static const cpn_reader_field_t faults_fields[] = {
    {CPN_FLD("detection_s", CPN_T_NUM, cpn_faults_spec_t, detection_s), .def = 5, CPN_GE(0)},
    {CPN_FLD("max_retries", CPN_T_INT, cpn_faults_spec_t, max_retries), .def = 2, CPN_IN(0, 100)},
    {CPN_FLD_CUSTOM("events", CPN_T_LIST), .sub = &cpn_schema_fault_section},
};
const cpn_reader_section_t cpn_schema_faults_section = CPN_SECTION(faults_fields);

static int find_link(const cpn_scenario_t *sc, const char *a, const char *b)
{
  for (int i = 0; i < sc->n_links; i++) {
    const cpn_link_spec_t *l = &sc->links[i];
    if ((strcmp(l->a, a) == 0 && strcmp(l->b, b) == 0) || (strcmp(l->a, b) == 0 && strcmp(l->b, a) == 0))
      return i;
  }
  return -1;
}

static int find_site(const cpn_scenario_t *sc, const char *name)
{
  for (int i = 0; i < sc->n_sites; i++)
    if (strcmp(sc->sites[i].name, name) == 0)
      return i;
  return -1;
}

static void check_event(cpn_reader_t *c, const cpn_scenario_t *sc, const cpn_reader_node_t *it, const char *ip,
                        uint64_t present, cpn_fault_spec_t *f)
{
#define HAS(k) (present & cpn_reader_bit(&cpn_schema_fault_section, k))
  char kp[CPN_PATH_LEN];
  f->site_index = f->link_index = -1;
  int is_site = HAS("site") != 0, is_link = HAS("a") || HAS("b");
  if (is_site == is_link) {
    cpn_reader_report(c, it, ip, "a fault names either a site (site) or a link (a and b), %s",
                      is_site ? "not both" : "got neither");
    return;
  }
  if (is_site) {
    cpn_reader_join(kp, ip, "site");
    f->site_index = find_site(sc, f->site);
    if (f->site_index < 0)
      cpn_reader_report(c, cpn_reader_map_get(it, "site"), kp, "no site named '%s'", f->site);
    if (HAS("bw_fraction")) {
      cpn_reader_join(kp, ip, "bw_fraction");
      cpn_reader_report(c, cpn_reader_map_get(it, "bw_fraction"), kp,
                        "bw_fraction degrades a link; a site's outage has none");
    }
  } else {
    if (!HAS("a") || !HAS("b")) {
      cpn_reader_report(c, it, ip, "a link fault needs both ends, a and b");
      return;
    }
    f->link_index = find_link(sc, f->a, f->b);
    if (f->link_index < 0)
      cpn_reader_report(c, cpn_reader_map_get(it, "b"), ip, "no link joins '%s' and '%s'", f->a, f->b);
  }
  int planned = HAS("at_s") != 0, random = HAS("mtbf_s") != 0;
  if (planned == random) {
    cpn_reader_report(c, it, ip, "a fault is planned (at_s) or random (mtbf_s and mttr_s), %s",
                      planned ? "not both" : "got neither");
    return;
  }
  if (random) {
    cpn_reader_join(kp, ip, "mtbf_s");
    if (!(f->mtbf_s > 0))
      cpn_reader_report(c, cpn_reader_map_get(it, "mtbf_s"), kp, "must be > 0 (got %g)", f->mtbf_s);
    cpn_reader_join(kp, ip, "mttr_s");
    if (!HAS("mttr_s") || !(f->mttr_s > 0))
      cpn_reader_report(c, HAS("mttr_s") ? cpn_reader_map_get(it, "mttr_s") : it, kp,
                        "a random fault needs mttr_s > 0 (mean time to repair)");
    if (HAS("duration_s")) {
      cpn_reader_join(kp, ip, "duration_s");
      cpn_reader_report(c, cpn_reader_map_get(it, "duration_s"), kp,
                        "duration_s is for planned faults; a random one lasts a draw of mttr_s");
    }
  } else if (HAS("mttr_s")) {
    cpn_reader_join(kp, ip, "mttr_s");
    cpn_reader_report(c, cpn_reader_map_get(it, "mttr_s"), kp, "mttr_s is for random faults (with mtbf_s)");
  }
#undef HAS
}

void cpn_schema_faults_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_scenario_t *sc)
{
  cpn_faults_spec_t *fs = &sc->faults;
  const cpn_reader_node_t *m = cpn_reader_get_map(c, root, "faults", "faults", "");
  if (!m) {
    cpn_reader_apply_defaults(&cpn_schema_faults_section, fs);
    return;
  }
  cpn_reader_map_fields(c, m, "faults", &cpn_schema_faults_section, fs);
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, m, "events", "faults.events", &cpn_schema_fault_section, sizeof(cpn_fault_spec_t), &l))
    return;
  fs->events = l.arr;
  fs->n_events = l.n;
  for (int i = 0; i < l.n; i++) {
    if (!l.items[i])
      continue;
    char ip[CPN_PATH_LEN];
    cpn_reader_join_index(ip, "faults.events", i);
    fs->events[i].line = l.items[i]->line;
    check_event(c, sc, l.items[i], ip, l.present[i], &fs->events[i]);
  }
  if (sc->run.network_mode == CPN_NET_FLOW)
    for (int i = 0; i < l.n; i++)
      if (l.items[i] && fs->events[i].link_index >= 0) {
        char ip[CPN_PATH_LEN];
        cpn_reader_join_index(ip, "faults.events", i);
        cpn_reader_report(c, l.items[i], ip,
                          "link faults are simulated in run.network_mode fluid only (flow mode's SimGrid routes are "
                          "fixed when the platform is built)");
        break;
      }
  cpn_reader_list_destroy(&l);
}

void cpn_schema_faults_print(FILE *f, const cpn_scenario_t *sc)
{
  const cpn_faults_spec_t *fs = &sc->faults;
  fputs("faults:\n  detection_s: ", f);
  cpn_reader_print_num(f, fs->detection_s);
  fprintf(f, "\n  max_retries: %d\n", fs->max_retries);
  if (fs->n_events == 0) {
    fputs("  events: []\n", f);
    return;
  }
  fputs("  events:\n", f);
  for (int i = 0; i < fs->n_events; i++) {
    const cpn_fault_spec_t *e = &fs->events[i];
    fputs("    - {", f);
    if (e->site_index >= 0) {
      fputs("site: ", f);
      cpn_reader_print_str(f, e->site);
    } else {
      fputs("a: ", f);
      cpn_reader_print_str(f, e->a);
      fputs(", b: ", f);
      cpn_reader_print_str(f, e->b);
      fputs(", bw_fraction: ", f);
      cpn_reader_print_num(f, e->bw_fraction);
    }
    if (e->mtbf_s > 0) {
      fputs(", mtbf_s: ", f);
      cpn_reader_print_num(f, e->mtbf_s);
      fputs(", mttr_s: ", f);
      cpn_reader_print_num(f, e->mttr_s);
    } else {
      fputs(", at_s: ", f);
      cpn_reader_print_num(f, e->at_s);
      fputs(", duration_s: ", f);
      cpn_reader_print_num(f, e->duration_s);
    }
    fputs("}\n", f);
  }
}
