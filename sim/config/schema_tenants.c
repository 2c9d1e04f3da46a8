/* schema_tenants: the `tenants:` list of a scenario (accounts and their share of the requests), read
 * into cpn_tenant_spec_t and printed back.
 *
 * Owns the tenant table. Invariants: an absent list is one tenant named "default" with share 1; names
 * unique, shares not all zero. */
#include "config/schema.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

static const cpn_reader_field_t tenant_fields[] = {
    {CPN_FLD_STR("name", cpn_tenant_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD("share", CPN_T_NUM, cpn_tenant_spec_t, share), .def = 1, CPN_GE(0)},
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
    cpn_reader_list_destroy(&l);
  }
  if (!l.list && !cpn_reader_out_of_memory(c)) { /* absent: one tenant */
    if (!(sc->tenants = calloc(1, sizeof *sc->tenants))) {
      cpn_reader_set_out_of_memory(c);
    } else {
      sc->n_tenants = 1;
      snprintf(sc->tenants[0].name, sizeof sc->tenants[0].name, "default");
      sc->tenants[0].share = 1;
    }
  }
}

void cpn_schema_tenants_print(FILE *f, const cpn_scenario_t *sc)
{
  cpn_reader_print_flow_list(f, "tenants", &cpn_schema_tenant_section, sc->tenants, sizeof *sc->tenants, sc->n_tenants);
}
