/* spec: the plain data of a loaded scenario (sites, nodes, links, models, classes, tenants, origins, run
 * and demand settings), shared by the loader (config/) and the modules that read a scenario
 * (topology/, run/, ...).
 *
 * Plain structs only: no functions, nothing that needs the YAML reader. A cpn_scenario_t and its arrays
 * are owned by whoever filled them (cpn_scenario_load() allocates them, cpn_scenario_destroy() frees
 * them). Indices (site, model, class...) are positions in these arrays and are what the engine and the
 * output use; names are unique within their list and at most CPN_NAME_MAX - 1 bytes. */
#ifndef CPN_CONFIG_SPEC_H
#define CPN_CONFIG_SPEC_H

#include "cpn_workload.h"

#define CPN_NAME_MAX 64
/* Smallest link bandwidth accepted anywhere (scenario, generated or imported topology): 1 bit/s. Below it
 * (subnormal values included) SimGrid's platform parser aborts the process. */
#define CPN_MIN_BW_BPS 1.0

typedef struct {
  char name[CPN_NAME_MAX];   /* pool name, unique in its site (default: the accelerator key) */
  char accel[CPN_NAME_MAX];  /* accelerator catalog key */
  int count;                 /* accelerators in the pool */
  int confidential;          /* pool runs confidential compute */
} cpn_pool_spec_t;

typedef struct {
  int model;                 /* index into models[] */
  int pool;                  /* index into the site's pools[] */
  int tp;                    /* accelerators per replica */
  int count;                 /* replicas */
  int max_batch;             /* continuous-batching limit (1 = no batching) */
  int unloaded;              /* of `count`, replicas that start unloaded (cold); default 0 */
  char scheduler[CPN_NAME_MAX]; /* serving scheduler type (sim/serving/schedulers.c); default continuous */
} cpn_replica_spec_t;

typedef struct {
  char name[CPN_NAME_MAX];
  char region[CPN_NAME_MAX];   /* e.g. "guizhou", used by residency rules */
  char country[8];             /* ISO 3166 alpha-2 */
  double tz_h;                 /* UTC offset, hours */
  double lat_deg, lon_deg;
  double pue;
  double price_usd_per_kwh;
  double co2_g_per_kwh;
  int n_pools;
  cpn_pool_spec_t *pools;
  int n_replicas;
  cpn_replica_spec_t *replicas;
  int line;                    /* line in the scenario file, for messages */
} cpn_site_spec_t;

/* A network node that is not a site (a router, a demand point). */
typedef struct {
  char name[CPN_NAME_MAX];
  char country[8];
  double lat_deg, lon_deg;
} cpn_node_spec_t;

typedef struct {
  char a[CPN_NAME_MAX], b[CPN_NAME_MAX]; /* endpoints: site or node names */
  double latency_s;            /* one way */
  double bw_bps;               /* bits per second */
  int shared;                  /* 1: one link shared by both directions (SHARED), 0: full duplex */
  int line;
} cpn_link_spec_t;

typedef struct {
  char name[CPN_NAME_MAX];
  char catalog[CPN_NAME_MAX];  /* LLM catalog key */
  /* Calibration overrides (0 = catalog default). */
  double prefill_eff, decode_eff, step_overhead_s;
  double fixed_step_s, fixed_prefill_s_per_token;
  double share;                /* weight in the request model mix */
  char store[CPN_NAME_MAX];   /* site holding the weights: cold starts fetch them from there ("" = local) */
} cpn_model_spec_t;

typedef struct {
  char name[CPN_NAME_MAX];
  double share;                /* weight in the class mix */
  double ttft_slo_s;           /* time to first token deadline */
  double tpot_slo_s;           /* time per output token deadline */
  double timeout_s;            /* requests not started within this are timed out (0 = never) */
  cpn_dist_t prompt_tokens, output_tokens;
  int confidential;            /* requests of this class need a confidential pool */
  double request_bytes_per_token, reply_bytes_per_token;
} cpn_class_spec_t;

typedef struct {
  char name[CPN_NAME_MAX];
  double share;
} cpn_tenant_spec_t;

typedef struct {
  char name[CPN_NAME_MAX];
  char node[CPN_NAME_MAX];     /* site or node where the demand enters the network */
  char country[8];
  double tz_h;
  double access_latency_s;     /* last mile, one way */
  double rate_rps;             /* mean arrival rate, before demand.scale and the diurnal profile */
  int n_allowed;               /* residency: regions allowed to serve; 0 = any */
  char (*allowed)[CPN_NAME_MAX];
  int line;
} cpn_origin_spec_t;

typedef enum { CPN_NET_FLUID = 0, CPN_NET_FLOW = 1 } cpn_net_mode_t;

typedef struct {
  double duration_s;           /* arrivals stop at this simulated time */
  double warmup_s;             /* requests arriving before are excluded from the summary */
  double drain_s;              /* after duration, in-flight requests get this long to finish */
  unsigned long seed;
  double sample_interval_s;
  cpn_net_mode_t network_mode;
  char policy[256];
  double start_utc_h;          /* UTC hour of day at simulated time 0 */
  long max_requests;           /* stop arrivals after this many (0 = no limit) */
  double view_refresh_s;       /* policy view refreshed every this many seconds (0 = always fresh) */
  double decision_latency_s;   /* time from arrival to placement */
  int decision_trace;          /* write /decisions (candidates and scores per request) */
  char autoscaler[64];         /* "none" or a built-in autoscaler name */
  double autoscaler_interval_s;
  double confidential_overhead;/* slowdown of confidential pools: times x (1 + overhead) */
  int n_policy_params;         /* run.policy_params: name -> number */
  char (*policy_param_keys)[CPN_NAME_MAX];
  double *policy_param_values;
  int n_autoscaler_params;     /* run.autoscaler_params */
  char (*autoscaler_param_keys)[CPN_NAME_MAX];
  double *autoscaler_param_values;
} cpn_run_spec_t;

typedef struct {
  double scale;                /* multiplies every origin's rate */
  cpn_arrival_kind_t arrival;  /* process of each origin */
  double cv;                   /* gamma/weibull */
  double burst_factor, burst_mean_s, calm_mean_s; /* mmpp */
  cpn_diurnal_t diurnal;
  int diurnal_enabled;
  /* Trace replay (demand.trace): when file is set, requests come from the trace instead of the
   * generators; origins/tenants/models missing from the trace are drawn by their weights. */
  char trace_file[4096];       /* resolved path ("" = generated workload) */
  char trace_mapping[32];      /* azure-2023 | vidur | splitwise | jsonl-ms | custom */
  char trace_format[8];        /* custom: csv | jsonl */
  char trace_time_unit[16];    /* custom: s | ms | us | datetime */
  char trace_time_col[CPN_NAME_MAX], trace_prompt_col[CPN_NAME_MAX], trace_output_col[CPN_NAME_MAX];
  char trace_model_col[CPN_NAME_MAX], trace_tenant_col[CPN_NAME_MAX], trace_origin_col[CPN_NAME_MAX];
  double trace_time_scale;     /* default 1 */
  double trace_rate_scale;     /* default 1 */
  double trace_shift_s;
  double trace_start_offset_s;
  int trace_loop;
  int trace_skip_errors;       /* demand.trace.errors: skip (1) | stop (0) */
} cpn_demand_spec_t;

typedef struct {
  char name[CPN_NAME_MAX];
  char file[4096];             /* the file it was loaded from */
  char *text;                  /* the scenario text as loaded (root file), NUL-terminated */
  cpn_run_spec_t run;
  cpn_demand_spec_t demand;
  int n_sites;      cpn_site_spec_t *sites;
  int n_nodes;      cpn_node_spec_t *nodes;
  int n_links;      cpn_link_spec_t *links;
  int n_models;     cpn_model_spec_t *models;
  int n_classes;    cpn_class_spec_t *classes;
  int n_tenants;    cpn_tenant_spec_t *tenants;
  int n_origins;    cpn_origin_spec_t *origins;
} cpn_scenario_t;

#endif
