/* schema_sites: the `sites:` list of a scenario (location, country, time zone, PUE, energy price and
 * carbon intensity, accelerator pools, model replicas), read into cpn_site_spec_t and printed back;
 * also the section a generated topology's site_template is read with.
 *
 * Owns the site, pool and replica tables. Invariants: at least one site; site names unique, pool names
 * unique in their site (a pool is named after its accelerator by default); a replica names a model of
 * `models:` and a pool of its site (the first when it names none); the replicas of a pool fit in it
 * (sum of tp x count <= count). Models are read before sites. */
#include "config/schema.h"

#include "config/hourly_csv.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cpn_reader_field_t pool_fields[] = {
    {CPN_FLD_STR("name", cpn_pool_spec_t, name), .check = CPN_STR_NAME},
    {CPN_FLD_STR("accel", cpn_pool_spec_t, accel), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD("count", CPN_T_INT, cpn_pool_spec_t, count), .req = 1, CPN_GE(1)},
    {CPN_FLD("confidential", CPN_T_BOOL, cpn_pool_spec_t, confidential)},
    {CPN_FLD("capex_usd_per_accel", CPN_T_NUM, cpn_pool_spec_t, capex_usd_per_accel), CPN_GE(0)},
};
const cpn_reader_section_t cpn_schema_pool_section = CPN_SECTION(pool_fields);

static const char *const ROLES[] = {"both", "prefill", "decode", NULL}; /* index = cpn_replica_spec_t.role */

static const cpn_reader_field_t replica_fields[] = {
    {CPN_FLD_CUSTOM("model", CPN_T_STR), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_CUSTOM("pool", CPN_T_STR), .check = CPN_STR_NAME},
    {CPN_FLD("tp", CPN_T_INT, cpn_replica_spec_t, tp), .def = 1, CPN_GE(1)},
    {CPN_FLD("count", CPN_T_INT, cpn_replica_spec_t, count), .def = 1, CPN_GE(0)},
    {CPN_FLD("max_batch", CPN_T_INT, cpn_replica_spec_t, max_batch), .def = 64, CPN_GE(1)},
    {CPN_FLD("unloaded", CPN_T_INT, cpn_replica_spec_t, unloaded), CPN_GE(0)},
    /* The type's name is checked against the serving stage's table when the scenario is checked or run. */
    {CPN_FLD_STR("scheduler", cpn_replica_spec_t, scheduler), .sdef = "continuous", .check = CPN_STR_NAME},
    /* Names are checked against the scheduler type's parameters by the serving stage. */
    {CPN_FLD_CUSTOM("scheduler_params", CPN_T_PARAMS)},
    {CPN_FLD("role", CPN_T_ENUM, cpn_replica_spec_t, role), .enums = ROLES},
    /* A site name, resolved by the serving stage (sites may come later in the list). */
    {CPN_FLD_CUSTOM("decode_site", CPN_T_STR), .check = CPN_STR_NAME},
    {CPN_FLD("speculative_tokens", CPN_T_INT, cpn_replica_spec_t, spec_tokens), CPN_IN(0, 16)},
    {CPN_FLD("max_adapters", CPN_T_INT, cpn_replica_spec_t, max_adapters), .def = 1, CPN_IN(1, 100000)},
    /* Read (and printed) only with speculative_tokens > 0, where they have an effect. */
    {CPN_FLD_CUSTOM("speculative_acceptance", CPN_T_NUM)},
    {CPN_FLD_CUSTOM("speculative_draft_cost", CPN_T_NUM)},
};
const cpn_reader_section_t cpn_schema_replica_section = CPN_SECTION(replica_fields);

/* name, lat and lon come first: topology.site_template takes the other keys (SITE_PER_ITEM). */
static const cpn_reader_field_t site_fields[] = {
    {CPN_FLD_STR("name", cpn_site_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD("lat", CPN_T_NUM, cpn_site_spec_t, lat_deg), CPN_IN(-90, 90)},
    {CPN_FLD("lon", CPN_T_NUM, cpn_site_spec_t, lon_deg), CPN_IN(-180, 180)},
    {CPN_FLD_STR("region", cpn_site_spec_t, region), .check = CPN_STR_NAME},
    {CPN_FLD_STR("country", cpn_site_spec_t, country), .sdef = "CN", .check = CPN_STR_COUNTRY},
    {CPN_FLD("tz_h", CPN_T_NUM, cpn_site_spec_t, tz_h), .def = 8, CPN_IN(-12, 14)},
    {CPN_FLD("pue", CPN_T_NUM, cpn_site_spec_t, pue), .def = 1.2, CPN_IN(1, 3)},
    {CPN_FLD("price_usd_per_kwh", CPN_T_NUM, cpn_site_spec_t, price_usd_per_kwh), .def = 0.08, CPN_GE(0)},
    {CPN_FLD("co2_g_per_kwh", CPN_T_NUM, cpn_site_spec_t, co2_g_per_kwh), .def = 500, CPN_GE(0)},
    {CPN_FLD_CUSTOM("price_usd_per_kwh_hourly", CPN_T_CUSTOM)},
    {CPN_FLD_CUSTOM("co2_g_per_kwh_hourly", CPN_T_CUSTOM)},
    {CPN_FLD_CUSTOM("hourly_csv", CPN_T_STR)},
    {CPN_FLD("capex_lifetime_years", CPN_T_NUM, cpn_site_spec_t, capex_lifetime_years), .def = 5, CPN_IN(0.1, 50)},
    {CPN_FLD("transfer_usd_per_gb", CPN_T_NUM, cpn_site_spec_t, transfer_usd_per_gb), .def = 0.05, CPN_GE(0)},
    {CPN_FLD_CUSTOM("pools", CPN_T_LIST), .sub = &cpn_schema_pool_section},
    {CPN_FLD_CUSTOM("replicas", CPN_T_LIST), .sub = &cpn_schema_replica_section},
};
const cpn_reader_section_t cpn_schema_site_section = CPN_SECTION(site_fields);
#define SITE_PER_ITEM 3 /* name, lat, lon */
const cpn_reader_section_t cpn_schema_site_template_section = {
    site_fields + SITE_PER_ITEM, (int)(sizeof site_fields / sizeof site_fields[0]) - SITE_PER_ITEM};

/* An hourly table: 24 non-negative numbers, local hours 00:00 .. 23:00; not together with the flat key. */
static void map_hourly(cpn_reader_t *c, const cpn_reader_node_t *it, const char *sp, const char *key,
                       const char *flat_key, int flat_present, int *has, double *out)
{
  const cpn_reader_node_t *v = cpn_reader_map_get(it, key);
  char path[CPN_PATH_LEN], buf[80];
  cpn_reader_join(path, sp, key);
  *has = 0;
  if (!v)
    return;
  if (flat_present) {
    cpn_reader_report(c, v, path, "give either %s (all day) or %s (by local hour), not both", flat_key, key);
    return;
  }
  if (v->kind != CPN_READER_SEQ || v->n != 24) {
    cpn_reader_report(c, v, path, "must list exactly 24 numbers, one per local hour from 00:00 (got %s)",
                      cpn_reader_show(v, buf, sizeof buf));
    return;
  }
  static const cpn_reader_field_t nonneg = {.key = "hourly", .type = CPN_T_NUM, CPN_GE(0)};
  int ok = 1;
  for (int h = 0; h < 24; h++) {
    char ip[CPN_PATH_LEN];
    cpn_reader_join_index(ip, path, h);
    if (!cpn_reader_get_num(c, v->vals[h], ip, &out[h]) || !cpn_reader_check_range(c, v->vals[h], ip, &nonneg, out[h]))
      ok = 0;
  }
  *has = ok;
}

/* sites[].hourly_csv: the hourly tables from a CSV file (hourly_csv.h), for the columns the file has;
 * a column that the site also gives inline (flat or hourly) is refused, since one would have no effect. */
static void map_hourly_csv(cpn_reader_t *c, const cpn_reader_node_t *it, const char *sp, cpn_site_spec_t *s,
                           uint64_t present)
{
  const cpn_reader_node_t *v = cpn_reader_map_get(it, "hourly_csv");
  char path[CPN_PATH_LEN], file[4096];
  cpn_reader_join(path, sp, "hourly_csv");
  if (!v || !cpn_reader_get_str(c, v, path, NULL, 0, CPN_STR_ANY) ||
      !cpn_reader_resolve_file(c, v, path, "the hourly price and carbon table", file, sizeof file))
    return;
  double price[24], co2[24];
  int has_price, has_co2;
  if (!cpn_hourly_csv_read(c, file, path, s->name, price, &has_price, co2, &has_co2))
    return;
  static const char *const keys[2][2] = {{"price_usd_per_kwh", "price_usd_per_kwh_hourly"},
                                         {"co2_g_per_kwh", "co2_g_per_kwh_hourly"}};
  for (int k = 0; k < 2; k++) {
    if (!(k ? has_co2 : has_price))
      continue;
    const char *inl = (present & cpn_reader_bit(&cpn_schema_site_section, keys[k][0])) ? keys[k][0]
                      : cpn_reader_map_get(it, keys[k][1])                              ? keys[k][1]
                                                                                        : NULL;
    if (inl) {
      cpn_reader_report(c, v, path, "%s has a '%s' column and the site gives '%s': give one", file, keys[k][0], inl);
      continue;
    }
    memcpy(k ? s->co2_hourly : s->price_hourly, k ? co2 : price, sizeof price);
    *(k ? &s->has_co2_hourly : &s->has_price_hourly) = 1;
  }
}

void cpn_schema_sites_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_schema_mapping_t *mp)
{
  cpn_scenario_t *sc = mp->sc;
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, root, "sites", "sites", &cpn_schema_site_section, sizeof(cpn_site_spec_t), &l))
    return;
  sc->sites = l.arr;
  sc->n_sites = l.n;
  cpn_reader_require_items(c, &l, "sites", "site");
  if (l.n && !(mp->site_geo = calloc((size_t)l.n, 1))) {
    cpn_reader_set_out_of_memory(c);
    cpn_reader_list_destroy(&l);
    return;
  }
  for (int i = 0; i < l.n; i++) {
    cpn_site_spec_t *s = &sc->sites[i];
    const cpn_reader_node_t *it = l.items[i];
    char sp[CPN_PATH_LEN];
    cpn_reader_join_index(sp, "sites", i);
    if (!it)
      continue;
    s->line = it->line;
    if (!(l.present[i] & cpn_reader_bit(&cpn_schema_site_section, "region")))
      snprintf(s->region, sizeof s->region, "%s", s->name);
    mp->site_geo[i] = (l.present[i] & cpn_reader_bit(&cpn_schema_site_section, "lat")) &&
                      (l.present[i] & cpn_reader_bit(&cpn_schema_site_section, "lon"));
    map_hourly(c, it, sp, "price_usd_per_kwh_hourly", "price_usd_per_kwh",
               (l.present[i] & cpn_reader_bit(&cpn_schema_site_section, "price_usd_per_kwh")) != 0,
               &s->has_price_hourly, s->price_hourly);
    map_hourly(c, it, sp, "co2_g_per_kwh_hourly", "co2_g_per_kwh",
               (l.present[i] & cpn_reader_bit(&cpn_schema_site_section, "co2_g_per_kwh")) != 0, &s->has_co2_hourly,
               s->co2_hourly);
    map_hourly_csv(c, it, sp, s, l.present[i]);

    char pp[CPN_PATH_LEN];
    cpn_reader_join(pp, sp, "pools");
    cpn_reader_list_t pl;
    if (cpn_reader_map_list(c, it, "pools", pp, &cpn_schema_pool_section, sizeof(cpn_pool_spec_t), &pl))
      continue;
    s->pools = pl.arr;
    s->n_pools = pl.n;
    for (int j = 0; j < pl.n; j++)
      if (pl.items[j] && !(pl.present[j] & cpn_reader_bit(&cpn_schema_pool_section, "name")))
        snprintf(s->pools[j].name, sizeof s->pools[j].name, "%s", s->pools[j].accel);
    cpn_reader_check_unique_names(c, &pl, sizeof(cpn_pool_spec_t), offsetof(cpn_pool_spec_t, name), pp, "pool");

    char rp[CPN_PATH_LEN];
    cpn_reader_join(rp, sp, "replicas");
    cpn_reader_list_t rl;
    if (cpn_reader_map_list(c, it, "replicas", rp, &cpn_schema_replica_section, sizeof(cpn_replica_spec_t), &rl)) {
      cpn_reader_list_destroy(&pl);
      continue;
    }
    s->replicas = rl.arr;
    s->n_replicas = rl.n;
    for (int j = 0; j < rl.n; j++) {
      cpn_replica_spec_t *r = &s->replicas[j];
      const cpn_reader_node_t *ri = rl.items[j];
      r->model = -1;
      r->pool = -1;
      if (!ri)
        continue;
      char ip[CPN_PATH_LEN], kp[CPN_PATH_LEN];
      cpn_reader_join_index(ip, rp, j);
      char *pkeys = NULL;
      double *pvals = NULL;
      cpn_reader_map_params(c, ri, ip, "scheduler_params", CPN_SCHED_PARAMS_MAX, CPN_NAME_MAX, &pkeys, &pvals,
                            &r->n_sched_params);
      for (int k = 0; k < r->n_sched_params; k++) {
        memcpy(r->sched_param_keys[k], pkeys + (size_t)k * CPN_NAME_MAX, CPN_NAME_MAX);
        r->sched_param_values[k] = pvals[k];
      }
      free(pkeys);
      free(pvals);
      if (r->unloaded > r->count && r->count >= 0) {
        cpn_reader_join(kp, ip, "unloaded");
        cpn_reader_report(c, cpn_reader_map_get(ri, "unloaded"), kp,
                          "must be <= count (%d): unloaded replicas are some of the count replicas (got %d)",
                          r->count, r->unloaded);
      }
      /* Speculative decoding: acceptance and draft cost mean something only with draft tokens, which need an
       * acceptance rate. */
      static const char *const spec_keys[] = {"speculative_acceptance", "speculative_draft_cost"};
      static const double spec_hi[] = {1, 10};
      for (int k = 0; k < 2; k++) {
        const cpn_reader_node_t *sv = cpn_reader_map_get(ri, spec_keys[k]);
        if (sv && cpn_reader_is_null(sv))
          sv = NULL; /* null: absent (a --set can drop an inherited value) */
        cpn_reader_join(kp, ip, spec_keys[k]);
        double x = 0;
        if (sv && r->spec_tokens == 0)
          cpn_reader_report(c, sv, kp, "has no effect without speculative_tokens > 0 (draft tokens per step)");
        else if (sv && cpn_reader_get_num(c, sv, kp, &x) && !(x >= 0 && x <= spec_hi[k]))
          cpn_reader_report(c, sv, kp, "must be in [0, %g] (got %g)", spec_hi[k], x);
        else if (sv)
          *(k ? &r->spec_draft_cost : &r->spec_acceptance) = x;
      }
      const cpn_reader_node_t *acc = cpn_reader_map_get(ri, "speculative_acceptance");
      if (r->spec_tokens > 0 && (!acc || cpn_reader_is_null(acc))) {
        cpn_reader_join(kp, ip, "speculative_tokens");
        cpn_reader_report(c, cpn_reader_map_get(ri, "speculative_tokens"), kp,
                          "speculative decoding needs speculative_acceptance (the probability that a draft token is "
                          "accepted, e.g. 0.7)");
      }
      const cpn_reader_node_t *dv = cpn_reader_map_get(ri, "decode_site");
      cpn_reader_join(kp, ip, "decode_site");
      if (dv && r->role != 1)
        cpn_reader_report(c, dv, kp, "only replicas with role 'prefill' send their prompts' KV to a decode site "
                          "(this group's role is '%s')", ROLES[r->role]);
      else if (dv)
        cpn_reader_get_str(c, dv, kp, r->decode_site, sizeof r->decode_site, CPN_STR_NAME);
      char name[CPN_NAME_MAX];
      const cpn_reader_node_t *mv = cpn_reader_map_get(ri, "model"), *pv = cpn_reader_map_get(ri, "pool");
      cpn_reader_join(kp, ip, "model");
      if (mv && cpn_reader_get_str(c, mv, kp, name, sizeof name, CPN_STR_NAME)) {
        r->model = cpn_scenario_model_index(sc, name);
        if (r->model < 0) {
          const char *best = NULL;
          int best_d = 3;
          for (int k = 0; k < sc->n_models; k++)
            cpn_reader_suggest(name, sc->models[k].name, &best, &best_d);
          if (best)
            cpn_reader_report(c, mv, kp, "no model named '%s' in 'models'; did you mean '%s'?", name, best);
          else
            cpn_reader_report(c, mv, kp, "no model named '%s' in 'models'", name);
        }
      }
      cpn_reader_join(kp, ip, "pool");
      if (!pv) {
        if (s->n_pools > 0)
          r->pool = 0;
        else
          cpn_reader_report(c, ri, ip, "site '%s' has no pools to place this replica in", s->name);
      } else if (cpn_reader_get_str(c, pv, kp, name, sizeof name, CPN_STR_NAME)) {
        for (int k = 0; k < s->n_pools && r->pool < 0; k++)
          if (strcmp(s->pools[k].name, name) == 0)
            r->pool = k;
        if (r->pool < 0) {
          const char *best = NULL;
          int best_d = 3;
          cpn_reader_buf_t b = {0};
          for (int k = 0; k < s->n_pools; k++) {
            cpn_reader_suggest(name, s->pools[k].name, &best, &best_d);
            cpn_reader_buf_printf(&b, "%s%s", k ? ", " : "", s->pools[k].name);
          }
          cpn_reader_report(c, pv, kp, "site '%s' has no pool named '%s'%s%s%s (pools: %s)", s->name, name,
                            best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "", b.p ? b.p : "none");
          free(b.p);
        }
      }
    }
    /* Replicas must fit in their pool: sum of tp x count over the pool's replicas <= its count. */
    for (int k = 0; k < s->n_pools; k++) {
      long need = 0;
      for (int j = 0; j < s->n_replicas; j++)
        if (s->replicas[j].pool == k)
          need += (long)s->replicas[j].tp * s->replicas[j].count;
      if (pl.items[k] && s->pools[k].count >= 1 && need > s->pools[k].count) { /* count 0: already reported */
        char kp[CPN_PATH_LEN];
        cpn_reader_pathf(kp, "%s[%d].count", pp, k);
        const cpn_reader_node_t *cv = cpn_reader_map_get(pl.items[k], "count");
        cpn_reader_report(c, cv ? cv : pl.items[k], kp,
                          "pool '%s' of site '%s' has %d accelerators but its replicas need %ld (sum of tp x count)",
                          s->pools[k].name, s->name, s->pools[k].count, need);
      }
    }
    cpn_reader_list_destroy(&pl);
    cpn_reader_list_destroy(&rl);
  }
  cpn_reader_check_unique_names(c, &l, sizeof(cpn_site_spec_t), offsetof(cpn_site_spec_t, name), "sites", "site");
  cpn_reader_list_destroy(&l);
}

void cpn_schema_sites_print(FILE *f, const cpn_scenario_t *sc)
{
  fputs("sites:", f);
  fputs(sc->n_sites ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_sites; i++) {
    const cpn_site_spec_t *s = &sc->sites[i];
    /* The block of cpn_reader_print_block, less a flat price or carbon key that an hourly table replaces. */
    for (int k = 0, n = 0; k < cpn_schema_site_section.n; k++) {
      const cpn_reader_field_t *fl = &cpn_schema_site_section.f[k];
      if (fl->off == CPN_NOFF || (s->has_price_hourly && strcmp(fl->key, "price_usd_per_kwh") == 0) ||
          (s->has_co2_hourly && strcmp(fl->key, "co2_g_per_kwh") == 0))
        continue;
      fprintf(f, "%s%s: ", n++ ? "    " : "  - ", fl->key);
      cpn_reader_print_value(f, fl, s);
      fputc('\n', f);
    }
    for (int k = 0; k < 2; k++) {
      int has = k ? s->has_co2_hourly : s->has_price_hourly;
      const double *x = k ? s->co2_hourly : s->price_hourly;
      if (!has)
        continue;
      fprintf(f, "    %s: [", k ? "co2_g_per_kwh_hourly" : "price_usd_per_kwh_hourly");
      for (int h = 0; h < 24; h++)
        fprintf(f, "%s%.17g", h ? ", " : "", x[h]);
      fputs("]\n", f);
    }
    fputs(s->n_pools ? "    pools:\n" : "    pools: []\n", f);
    for (int j = 0; j < s->n_pools; j++) {
      fputs("      - {", f);
      cpn_reader_print_flow(f, &cpn_schema_pool_section, &s->pools[j], 0);
      fputs("}\n", f);
    }
    fputs(s->n_replicas ? "    replicas:\n" : "    replicas: []\n", f);
    for (int j = 0; j < s->n_replicas; j++) {
      const cpn_replica_spec_t *r = &s->replicas[j];
      fputs("      - {model: ", f);
      cpn_reader_print_str(f, r->model >= 0 && r->model < sc->n_models ? sc->models[r->model].name : "");
      fputs(", pool: ", f);
      cpn_reader_print_str(f, r->pool >= 0 && r->pool < s->n_pools ? s->pools[r->pool].name : "");
      cpn_reader_print_flow(f, &cpn_schema_replica_section, r, 1);
      if (r->decode_site[0]) {
        fputs(", decode_site: ", f);
        cpn_reader_print_str(f, r->decode_site);
      }
      if (r->spec_tokens > 0) {
        fputs(", speculative_acceptance: ", f);
        cpn_reader_print_num(f, r->spec_acceptance);
        fputs(", speculative_draft_cost: ", f);
        cpn_reader_print_num(f, r->spec_draft_cost);
      }
      if (r->n_sched_params) {
        fputs(", scheduler_params: {", f);
        for (int k = 0; k < r->n_sched_params; k++) {
          fputs(k ? ", " : "", f);
          cpn_reader_print_str(f, r->sched_param_keys[k]);
          fputs(": ", f);
          cpn_reader_print_num(f, r->sched_param_values[k]);
        }
        fputs("}", f);
      }
      fputs("}\n", f);
    }
  }
}
