/* schema_tenants: the `tenants:` list of a scenario (accounts and their share of the requests), read
 * into cpn_tenant_spec_t and printed back.
 *
 * Owns the tenant table. Invariants: an absent list is one tenant named "default" with share 1; names
 * unique, shares not all zero. */
#include "config/schema.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cpn_reader_field_t tenant_fields[] = {
    {CPN_FLD_STR("name", cpn_tenant_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD("share", CPN_T_NUM, cpn_tenant_spec_t, share), .def = 1, CPN_GE(0)},
    {CPN_FLD("priority", CPN_T_INT, cpn_tenant_spec_t, priority), CPN_IN(0, 1000)},
    {CPN_FLD("quota_tokens", CPN_T_NUM, cpn_tenant_spec_t, quota_tokens), CPN_GE(0)},
    {CPN_FLD("quota_period_s", CPN_T_NUM, cpn_tenant_spec_t, quota_period_s), .def = 86400, CPN_GT(0)},
    {CPN_FLD("rate_limit_rps", CPN_T_NUM, cpn_tenant_spec_t, rate_limit_rps), CPN_GE(0)},
    {CPN_FLD("rate_burst", CPN_T_NUM, cpn_tenant_spec_t, rate_burst), CPN_GE(0)},
    {CPN_FLD("price_in_usd_per_mtok", CPN_T_NUM, cpn_tenant_spec_t, price_in_usd_per_mtok), CPN_GE(0)},
    {CPN_FLD("price_out_usd_per_mtok", CPN_T_NUM, cpn_tenant_spec_t, price_out_usd_per_mtok), CPN_GE(0)},
    {CPN_FLD("subscribers", CPN_T_LONG, cpn_tenant_spec_t, subscribers), CPN_IN(0, 100000000)},
    {CPN_FLD("subscriber_zipf_s", CPN_T_NUM, cpn_tenant_spec_t, subscriber_zipf_s), .def = 1.0, CPN_IN(0, 5)},
};
const cpn_reader_section_t cpn_schema_tenant_section = CPN_SECTION(tenant_fields);

void cpn_schema_tenants_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_scenario_t *sc)
{
  cpn_reader_list_t l;
  if (!cpn_reader_map_list(c, root, "tenants", "tenants", &cpn_schema_tenant_section, sizeof(cpn_tenant_spec_t), &l)) {
    sc->tenants = l.arr;
    sc->n_tenants = l.n;
    cpn_reader_require_items(c, &l, "tenants", "tenant");
    cpn_reader_check_unique_names(c, &l, sizeof(cpn_tenant_spec_t), offsetof(cpn_tenant_spec_t, name), "tenants",
                                  "tenant");
    cpn_reader_check_shares(c, &l, sizeof(cpn_tenant_spec_t), offsetof(cpn_tenant_spec_t, share), "tenants");
    /* Keys that only qualify another: without it they would have no effect. */
    static const char *const pairs[][2] = {{"quota_period_s", "quota_tokens"},
                                           {"rate_burst", "rate_limit_rps"},
                                           {"subscriber_zipf_s", "subscribers"}};
    for (int i = 0; i < l.n; i++) {
      const cpn_tenant_spec_t *t = &sc->tenants[i];
      double partner[3] = {t->quota_tokens, t->rate_limit_rps, (double)t->subscribers};
      for (int k = 0; k < 3; k++)
        if (l.items[i] && (l.present[i] & cpn_reader_bit(&cpn_schema_tenant_section, pairs[k][0])) && !(partner[k] > 0)) {
          char path[CPN_PATH_LEN];
          cpn_reader_join_index(path, "tenants", i);
          cpn_reader_report(c, cpn_reader_map_get(l.items[i], pairs[k][0]), path,
                            "%s has no effect without %s > 0", pairs[k][0], pairs[k][1]);
        }
    }
    cpn_reader_list_destroy(&l);
  }
  if (!l.list && !cpn_reader_out_of_memory(c)) { /* absent: one tenant */
    if (!(sc->tenants = calloc(1, sizeof *sc->tenants))) {
      cpn_reader_set_out_of_memory(c);
    } else {
      sc->n_tenants = 1;
      snprintf(sc->tenants[0].name, sizeof sc->tenants[0].name, "default");
      sc->tenants[0].share = 1;
      sc->tenants[0].quota_period_s = 86400;
      sc->tenants[0].subscriber_zipf_s = 1.0;
    }
  }
}

void cpn_schema_tenants_print(FILE *f, const cpn_scenario_t *sc)
{
  /* Flow items, less a qualifying key whose partner is off (it would have no effect on reading back). */
  fprintf(f, "tenants:%s", sc->n_tenants ? "\n" : " []\n");
  for (int i = 0; i < sc->n_tenants; i++) {
    const cpn_tenant_spec_t *t = &sc->tenants[i];
    fputs("  - {", f);
    for (int k = 0, n = 0; k < cpn_schema_tenant_section.n; k++) {
      const cpn_reader_field_t *fl = &cpn_schema_tenant_section.f[k];
      if (fl->off == CPN_NOFF || (strcmp(fl->key, "quota_period_s") == 0 && !(t->quota_tokens > 0)) ||
          (strcmp(fl->key, "rate_burst") == 0 && !(t->rate_limit_rps > 0)) ||
          (strcmp(fl->key, "subscriber_zipf_s") == 0 && t->subscribers <= 0))
        continue;
      fprintf(f, "%s%s: ", n++ ? ", " : "", fl->key);
      cpn_reader_print_value(f, fl, t);
    }
    fputs("}\n", f);
  }
}
