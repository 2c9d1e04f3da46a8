/* tariff: hourly prices and carbon intensity per site (see tariff.h). */
#include "accounting/tariff.h"

#include <math.h>
#include <stdlib.h>

struct cpn_tariff {
  const cpn_scenario_t *sc;
  cpn_sim_t *sim;
  void (*energy)(void *ctx, double *it_j);
  void (*prices)(void *ctx, int site, double usd_per_kwh, double co2_g_per_kwh);
  void *ctx;
  int varies, ev_hour;
  double t_last;       /* the charged totals are as of this time */
  double *it_j;        /* accelerator energy per site charged so far */
  double *work;        /* scratch: energy now */
  double *usd, *co2_g; /* charged so far */
};

cpn_err_t cpn_tariff_new(cpn_tariff_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim)
{
  cpn_tariff_t *tf = calloc(1, sizeof *tf);
  size_t n = (size_t)sc->n_sites + 1;
  if (tf) {
    tf->it_j = calloc(n, sizeof(double));
    tf->work = calloc(n, sizeof(double));
    tf->usd = calloc(n, sizeof(double));
    tf->co2_g = calloc(n, sizeof(double));
  }
  if (!tf || !tf->it_j || !tf->work || !tf->usd || !tf->co2_g) {
    cpn_tariff_free(tf);
    return cpn_error_set(CPN_ENOMEM, "tariff: out of memory");
  }
  tf->sc = sc;
  tf->sim = sim;
  for (int s = 0; s < sc->n_sites; s++)
    tf->varies |= sc->sites[s].has_price_hourly || sc->sites[s].has_co2_hourly;
  *out = tf;
  return CPN_OK;
}

void cpn_tariff_free(cpn_tariff_t *tf)
{
  if (!tf)
    return;
  free(tf->it_j);
  free(tf->work);
  free(tf->usd);
  free(tf->co2_g);
  free(tf);
}

int cpn_tariff_varies(const cpn_tariff_t *tf) { return tf->varies; }

/* Local clock in hours (unbounded) at t_s. */
static double local_h(const cpn_scenario_t *sc, int site, double t_s)
{
  return sc->run.start_utc_h + sc->sites[site].tz_h + t_s / 3600.0;
}

int cpn_tariff_local_hour(const cpn_scenario_t *sc, int site, double t_s)
{
  int h = (int)fmod(floor(local_h(sc, site, t_s)), 24.0);
  return h < 0 ? h + 24 : h;
}

double cpn_tariff_price(const cpn_tariff_t *tf, int site, double t_s)
{
  const cpn_site_spec_t *s = &tf->sc->sites[site];
  return s->has_price_hourly ? s->price_hourly[cpn_tariff_local_hour(tf->sc, site, t_s)] : s->price_usd_per_kwh;
}

double cpn_tariff_co2(const cpn_tariff_t *tf, int site, double t_s)
{
  const cpn_site_spec_t *s = &tf->sc->sites[site];
  return s->has_co2_hourly ? s->co2_hourly[cpn_tariff_local_hour(tf->sc, site, t_s)] : s->co2_g_per_kwh;
}

void cpn_tariff_on(cpn_tariff_t *tf, void (*energy)(void *ctx, double *it_j),
                   void (*prices)(void *ctx, int site, double usd_per_kwh, double co2_g_per_kwh), void *ctx)
{
  tf->energy = energy;
  tf->prices = prices;
  tf->ctx = ctx;
}

/* Charges the energy drawn since t_last (now it_j) at the figures of the stretch's middle. */
static void charge(cpn_tariff_t *tf, const double *it_j, double now)
{
  double mid = 0.5 * (tf->t_last + now);
  for (int s = 0; s < tf->sc->n_sites; s++) {
    double kwh = (it_j[s] - tf->it_j[s]) * tf->sc->sites[s].pue / 3.6e6;
    tf->usd[s] += kwh * cpn_tariff_price(tf, s, mid);
    tf->co2_g[s] += kwh * cpn_tariff_co2(tf, s, mid);
    tf->it_j[s] = it_j[s];
  }
  tf->t_last = now;
}

static void push(cpn_tariff_t *tf, double now)
{
  if (!tf->prices)
    return;
  for (int s = 0; s < tf->sc->n_sites; s++)
    tf->prices(tf->ctx, s, cpn_tariff_price(tf, s, now), cpn_tariff_co2(tf, s, now));
}

/* The next change of local hour, after now, of a site with a table (INFINITY if none). */
static double next_change(const cpn_tariff_t *tf, double now)
{
  double best = INFINITY;
  for (int s = 0; s < tf->sc->n_sites; s++) {
    if (!tf->sc->sites[s].has_price_hourly && !tf->sc->sites[s].has_co2_hourly)
      continue;
    double h = local_h(tf->sc, s, now), t = (floor(h) + 1 - (h - now / 3600.0)) * 3600.0;
    if (t <= now) /* rounding at an exact boundary */
      t += 3600.0;
    best = fmin(best, t);
  }
  return best;
}

static void schedule(cpn_tariff_t *tf, double now)
{
  double t = next_change(tf, now);
  if (t <= tf->sc->run.duration_s + tf->sc->run.drain_s)
    cpn_sim_at(tf->sim, t, tf->ev_hour, 0, NULL, 0);
}

static void on_hour(void *ctx, const cpn_event_t *e)
{
  (void)e;
  cpn_tariff_t *tf = ctx;
  double now = cpn_sim_now(tf->sim);
  for (int s = 0; s < tf->sc->n_sites; s++)
    tf->work[s] = 0;
  if (tf->energy)
    tf->energy(tf->ctx, tf->work);
  charge(tf, tf->work, now);
  /* The figures of the hour that starts now: read a little after the boundary, whatever the rounding. */
  push(tf, now + 1e-6);
  if (!cpn_sim_idle(tf->sim))
    schedule(tf, now);
}

cpn_err_t cpn_tariff_start(cpn_tariff_t *tf)
{
  push(tf, 0.0);
  if (tf->varies) {
    tf->ev_hour = cpn_sim_kind(tf->sim, "tariff.hour", on_hour, tf);
    schedule(tf, 0.0);
  }
  return cpn_sim_error(tf->sim);
}

void cpn_tariff_close(cpn_tariff_t *tf, const double *it_j, double *usd, double *co2_g)
{
  charge(tf, it_j, cpn_sim_now(tf->sim));
  for (int s = 0; s < tf->sc->n_sites; s++) {
    usd[s] = tf->usd[s];
    co2_g[s] = tf->co2_g[s];
  }
}
