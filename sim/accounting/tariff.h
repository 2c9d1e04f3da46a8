/* tariff: electricity prices and grid carbon intensity that vary by the hour of a site's local day
 * (sites[].price_usd_per_kwh_hourly, sites[].co2_g_per_kwh_hourly; a site without a table has its flat
 * price_usd_per_kwh / co2_g_per_kwh all day), and the facility energy of each site priced and weighed
 * hour by hour.
 *
 * Local hour at simulated time t: floor(run.start_utc_h + sites[].tz_h + t / 3600) mod 24. When any site
 * has a table, the tariff schedules an event at every change of local hour of such a site; there it
 * brings the sites' accelerator energy to now (the `energy` hook, set by run/), charges the energy drawn
 * since the last change at the hour's price and intensity, and pushes the new hour's figures to the
 * policies' views (the `prices` hook). Without tables it schedules nothing, so runs without them are
 * event for event what they were before tariffs existed.
 *
 * Owns: the per-site running totals (electricity USD, CO2 g, facility energy charged so far), its event
 * kind. Invariant: at close, charged energy = the sites' facility energy (so electricity = Σ hours of
 * energy x price, exactly energy x price for a flat tariff). */
#ifndef CPN_ACCOUNTING_TARIFF_H
#define CPN_ACCOUNTING_TARIFF_H

#include "config/scenario.h"
#include "core/event.h"

typedef struct cpn_tariff cpn_tariff_t;

cpn_err_t cpn_tariff_new(cpn_tariff_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim);
void cpn_tariff_free(cpn_tariff_t *tf);

/* Whether any site has an hourly table. */
int cpn_tariff_varies(const cpn_tariff_t *tf);
/* The site's local hour (0..23) at simulated time t_s. */
int cpn_tariff_local_hour(const cpn_scenario_t *sc, int site, double t_s);
/* Price (USD/kWh) and carbon intensity (g/kWh) at a site at simulated time t_s. */
double cpn_tariff_price(const cpn_tariff_t *tf, int site, double t_s);
double cpn_tariff_co2(const cpn_tariff_t *tf, int site, double t_s);

/* Hooks set by run/: energy(ctx, it_j) adds every site's accelerator energy so far into it_j[site]
 * (replicas brought to now); prices(ctx, site, usd_per_kwh, co2_g_per_kwh) gives the views the figures
 * in force from now on. */
void cpn_tariff_on(cpn_tariff_t *tf, void (*energy)(void *ctx, double *it_j),
                   void (*prices)(void *ctx, int site, double usd_per_kwh, double co2_g_per_kwh), void *ctx);
/* Pushes the figures at time 0 to the views and schedules the first change of hour (if any varies). */
cpn_err_t cpn_tariff_start(cpn_tariff_t *tf);
/* At the end of the run: charges the last stretch, given every site's accelerator energy over the run,
 * and returns per site the facility energy's electricity cost and CO2. */
void cpn_tariff_close(cpn_tariff_t *tf, const double *it_j, double *usd, double *co2_g);

#endif
