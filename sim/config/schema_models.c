/* schema_models: the `models:` list of a scenario (LLM catalog key, mix share, calibration overrides,
 * weight store), read into cpn_model_spec_t and printed back.
 *
 * Owns the model table. Invariants: at least one model, names unique, shares not all zero; a store
 * names a site and a load time is refused where no replica of the model can ever load (both checked once
 * the sites are read). */
#include "config/schema.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const cpn_reader_field_t model_fields[] = {
    {CPN_FLD_STR("name", cpn_model_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("catalog", cpn_model_spec_t, catalog), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD("share", CPN_T_NUM, cpn_model_spec_t, share), .def = 1, CPN_GE(0)},
    {CPN_FLD("prefill_eff", CPN_T_NUM, cpn_model_spec_t, prefill_eff),
     .rng = CPN_RANGE_LO | CPN_RANGE_LO_OPEN | CPN_RANGE_HI | CPN_RANGE_ZERO_OK, .hi = 1},
    {CPN_FLD("decode_eff", CPN_T_NUM, cpn_model_spec_t, decode_eff),
     .rng = CPN_RANGE_LO | CPN_RANGE_LO_OPEN | CPN_RANGE_HI | CPN_RANGE_ZERO_OK, .hi = 1},
    {CPN_FLD("step_overhead_s", CPN_T_NUM, cpn_model_spec_t, step_overhead_s), CPN_GE(0)},
    {CPN_FLD_STR("store", cpn_model_spec_t, store)}, /* "" = local; a site name, checked once sites are mapped */
    {CPN_FLD("load_s", CPN_T_NUM, cpn_model_spec_t, load_s), CPN_IN(0, 86400)},
    {CPN_FLD("adapters", CPN_T_INT, cpn_model_spec_t, adapters), CPN_IN(0, 1000000)},
    /* Printed only with adapters > 0 (a check refuses it otherwise: it would have no effect). */
    {CPN_FLD("adapter_zipf_s", CPN_T_NUM, cpn_model_spec_t, adapter_zipf_s), .def = 1, CPN_IN(0, 10)},
    /* A rank-64 LoRA of an 8B model, ~160 MB in FP16, over PCIe Gen5 x16 at ~32 GB/s: ~5 ms. */
    {CPN_FLD("adapter_load_s", CPN_T_NUM, cpn_model_spec_t, adapter_load_s), .def = 0.005, CPN_IN(0, 3600)},
};
const cpn_reader_section_t cpn_schema_model_section = CPN_SECTION(model_fields);

void cpn_schema_models_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_scenario_t *sc)
{
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, root, "models", "models", &cpn_schema_model_section, sizeof(cpn_model_spec_t), &l))
    return;
  sc->models = l.arr;
  sc->n_models = l.n;
  cpn_reader_require_items(c, &l, "models", "model");
  cpn_reader_check_unique_names(c, &l, sizeof(cpn_model_spec_t), offsetof(cpn_model_spec_t, name), "models", "model");
  cpn_reader_check_shares(c, &l, sizeof(cpn_model_spec_t), offsetof(cpn_model_spec_t, share), "models");
  for (int i = 0; i < l.n; i++) {
    const cpn_reader_node_t *z = l.items[i] ? cpn_reader_map_get(l.items[i], "adapter_zipf_s") : NULL;
    char kp[CPN_PATH_LEN];
    cpn_reader_pathf(kp, "models[%d].adapter_zipf_s", i);
    if (z && sc->models[i].adapters == 0)
      cpn_reader_report(c, z, kp, "has no effect without adapters > 0 (the adapters generated requests ask for)");
  }
  cpn_reader_list_destroy(&l);
}

void cpn_schema_models_check_stores(cpn_reader_t *c, const cpn_reader_node_t *root, const cpn_scenario_t *sc)
{
  const cpn_reader_node_t *ml = cpn_reader_map_get(root, "models");
  if (!ml || ml->kind != CPN_READER_SEQ || ml->n != sc->n_models)
    return;
  for (int i = 0; i < sc->n_models; i++) {
    /* A load time matters only where a replica of the model can be loaded: one that starts unloaded, or
     * any once an autoscaler may unload it. */
    const cpn_reader_node_t *lv = cpn_reader_map_get(ml->vals[i], "load_s");
    if (lv && sc->models[i].load_s > 0 && (!sc->run.autoscaler[0] || !strcmp(sc->run.autoscaler, "none"))) {
      int cold = 0;
      for (int s = 0; s < sc->n_sites && !cold; s++)
        for (int j = 0; j < sc->sites[s].n_replicas; j++)
          cold |= sc->sites[s].replicas[j].model == i && sc->sites[s].replicas[j].unloaded > 0;
      if (!cold) {
        char kp[CPN_PATH_LEN];
        cpn_reader_pathf(kp, "models[%d].load_s", i);
        cpn_reader_report(c, lv, kp, "has no effect: no replica of '%s' starts unloaded and run.autoscaler is none, "
                          "so it is never loaded", sc->models[i].name);
      }
    }
    const char *store = sc->models[i].store;
    const cpn_reader_node_t *v = cpn_reader_map_get(ml->vals[i], "store");
    if (!store[0] || !v || cpn_scenario_site_index(sc, store) >= 0)
      continue;
    char kp[CPN_PATH_LEN];
    cpn_reader_pathf(kp, "models[%d].store", i);
    const char *best = NULL;
    int best_d = 3;
    for (int k = 0; k < sc->n_sites; k++)
      cpn_reader_suggest(store, sc->sites[k].name, &best, &best_d);
    cpn_reader_report(c, v, kp, "no site named '%s' (the store holds the weights cold starts fetch)%s%s%s", store,
                      best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
  }
}

void cpn_schema_models_print(FILE *f, const cpn_scenario_t *sc)
{
  fputs("models:", f);
  fputs(sc->n_models ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_models; i++) {
    int k = 0;
    for (int j = 0; j < cpn_schema_model_section.n; j++) {
      const cpn_reader_field_t *fl = &cpn_schema_model_section.f[j];
      if (fl->off == CPN_NOFF || (sc->models[i].adapters == 0 && strcmp(fl->key, "adapter_zipf_s") == 0))
        continue;
      fprintf(f, "%s%s: ", k++ ? "    " : "  - ", fl->key);
      cpn_reader_print_value(f, fl, &sc->models[i]);
      fputc('\n', f);
    }
  }
}
