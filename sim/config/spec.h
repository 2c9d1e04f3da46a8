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
  double capex_usd_per_accel; /* purchase price of one accelerator (0 = the catalog's estimate) */
} cpn_pool_spec_t;

typedef struct {
  int model;                 /* index into models[] */
  int pool;                  /* index into the site's pools[] */
  int tp;                    /* accelerators per replica */
  int count;                 /* replicas */
  int max_batch;             /* continuous-batching limit (1 = no batching) */
  int unloaded;              /* of `count`, replicas that start unloaded (cold); default 0 */
  char scheduler[CPN_NAME_MAX]; /* serving scheduler type (sim/serving/schedulers.c); default continuous */
  /* scheduler_params: name -> number, checked against the type's parameter names by the serving stage. */
#define CPN_SCHED_PARAMS_MAX 8
  int n_sched_params;
  char sched_param_keys[CPN_SCHED_PARAMS_MAX][CPN_NAME_MAX];
  double sched_param_values[CPN_SCHED_PARAMS_MAX];
  /* Disaggregated serving (README "Serving model"): role 0 both (default), 1 prefill (the KV of each
   * prompt goes to decode_site's decode replicas, "" = its own site), 2 decode (takes only prompts whose
   * KV arrived from a prefill replica). The site name is resolved by the serving stage. */
  int role;
  char decode_site[CPN_NAME_MAX];
  /* Speculative decoding (README "Serving model"): draft tokens per step (0 = off), the probability that
   * the target model accepts a draft token, and a draft step's time as a fraction of a target decode step. */
  int spec_tokens;
  double spec_acceptance, spec_draft_cost;
  int max_adapters;          /* adapters resident at once on a replica (default 1, vLLM's max_loras) */
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
  /* Time-of-use tariff and hourly grid carbon intensity, by local hour 0..23 (UTC + tz_h); when a site
   * has none, price_usd_per_kwh or co2_g_per_kwh holds all day (sim/accounting/tariff.c). */
  int has_price_hourly, has_co2_hourly;
  double price_hourly[24], co2_hourly[24];
  double capex_lifetime_years; /* the fleet's capex is amortised linearly over this lifetime */
  double transfer_usd_per_gb;  /* price of cross-border bytes of requests served here (full cost) */
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
  double share;                /* weight in the request model mix */
  char store[CPN_NAME_MAX];   /* site holding the weights: cold starts fetch them from there ("" = local) */
  double load_s;               /* cold start: time from the weights' arrival to a ready replica */
  /* Adapters (LoRA) on this base model (README "Serving model"): how many the generated requests ask for
   * (0 = none; popularity Zipf with exponent adapter_zipf_s), and the time to load one onto a replica. */
  int adapters;
  double adapter_zipf_s, adapter_load_s;
} cpn_model_spec_t;

/* A rate schedule (origins[].schedule, classes[].schedule): windows of rates, optionally a CV each. */
typedef struct {
  int n;                       /* number of windows; 0 = none */
  double *t_s;                 /* window starts, s; one malloc'd block that also holds rate_rps */
  double *rate_rps;            /* rate of each window, req/s, before demand.scale */
  double *cv;                  /* CV of each window's inter-arrivals (malloc'd), NULL = one CV throughout */
  double period_s;             /* 0 = the schedule runs once (its last rate holds); > 0 = it repeats */
  int linear;                  /* 1 = linear between window starts, 0 = steps */
} cpn_schedule_spec_t;

/* classes[].token_windows[]: the token-length distributions from from_s on (until the next window). */
typedef struct {
  double from_s;               /* simulated time the window opens; strictly increasing, >= 0 */
  cpn_dist_t prompt_tokens, output_tokens; /* the class's own when the window does not give them */
} cpn_token_window_t;

typedef struct {
  char name[CPN_NAME_MAX];
  double share;                /* weight in the class mix */
  double ttft_slo_s;           /* time to first token deadline */
  double tpot_slo_s;           /* time per output token deadline */
  double timeout_s;            /* requests not started within this are timed out (0 = never) */
  cpn_dist_t prompt_tokens, output_tokens;
  int confidential;            /* requests of this class need a confidential pool */
  double request_bytes_per_token, reply_bytes_per_token;
  /* Sessions (classes[].session; fields appended): a request of this class opens a conversation of
   * `session_turns` turns; each next turn arrives session_think_s (mean, exponential) after the previous
   * turn's reply, with a prompt of the previous prompt + its output + a new prompt_tokens draw. */
  int session;                 /* 1 when classes[].session is given */
  cpn_dist_t session_turns;    /* turns per conversation, >= 1 */
  double session_think_s;      /* mean think time, s */
  int n_token_windows;         /* classes[].token_windows: 0 = prompt_tokens and output_tokens throughout */
  cpn_token_window_t *token_windows; /* malloc'd; each window's empirical tables are its own */
  /* classes[].schedule (issue 14): the class arrives by its own process following this schedule (share
   * then 0: the origins' processes make the other classes), entering at `origin` (-1: drawn by the
   * origins' rate_rps); cv its inter-arrival CV (0 = demand.cv). */
  cpn_schedule_spec_t sched;
  char origin[CPN_NAME_MAX];   /* classes[].origin ("" = drawn) */
  int sched_origin;            /* its index, resolved with the origins */
  double cv;
  int line;                    /* line of the class in the scenario file, for messages (0 = defaulted) */
  /* classes[].fanout (agent-like requests): when a request of this class replies, it makes `calls`
   * requests of class fanout_class at once (prompt: its prompt + output + the child class's draw), and
   * ends when the last of them ends (completed only if all completed). Children of another class that
   * fans out fan out in turn (a tree; cycles of classes are refused); a fan-out into the class itself is
   * one level. */
  int fanout;                  /* 1 when classes[].fanout is given */
  cpn_dist_t fanout_calls;     /* children per request, >= 1 */
  char fanout_class_name[CPN_NAME_MAX];
  int fanout_class;            /* index of the children's class (this class when not named) */
  /* Prefix caching for generated requests (fields appended): block hashes (512-token blocks) for the
   * class's requests, and shared system prompts: system_prompts of system_prompt_tokens tokens each, one
   * of them (uniform) ahead of every request's own prompt tokens (a session's, at its first turn). */
  int block_hashes;
  int system_prompts, system_prompt_tokens;
} cpn_class_spec_t;

/* A tenant is an account, or an account plan of `subscribers` accounts (AI-eSIM subscribers) that share
 * its limits each (sim/gateway/accounts.c); 0 = no limit for every limit below. */
typedef struct {
  char name[CPN_NAME_MAX];
  double share;
  int priority;                /* gateway queue: higher tiers go first */
  double quota_tokens;         /* prompt + output tokens admitted per quota period (per subscriber) */
  double quota_period_s;       /* quota period, from time 0 */
  double rate_limit_rps;       /* token-bucket request rate (per subscriber) */
  double rate_burst;           /* bucket size, requests (0 = max(1, rate_limit_rps)) */
  double price_in_usd_per_mtok, price_out_usd_per_mtok; /* the bill of completed requests */
  long subscribers;            /* 0: the tenant is one account; N: N accounts drawn per request */
  double subscriber_zipf_s;    /* popularity of subscribers: rank r has weight r^-s */
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
  /* Workload of this origin (issue 14). */
  double cv;                   /* gamma/weibull inter-arrival CV of this origin; 0 = demand.cv */
  cpn_schedule_spec_t sched;   /* origins[].schedule; n 0 = none (rate_rps, demand.diurnal) */
} cpn_origin_spec_t;

typedef enum { CPN_NET_FLUID = 0, CPN_NET_FLOW = 1 } cpn_net_mode_t;

typedef struct {
  double duration_s;           /* arrivals stop at this simulated time */
  double warmup_s;             /* requests arriving before are excluded from the summary */
  double drain_s;              /* after duration, in-flight requests get this long to finish */
  unsigned long seed;
  double sample_interval_s;
  cpn_net_mode_t network_mode;
  int fluid_share;             /* fluid mode's share of a link: 0 window (mean load), 1 concurrent */
  char policy[256];
  double start_utc_h;          /* UTC hour of day at simulated time 0 */
  long max_requests;           /* stop arrivals after this many (0 = no limit) */
  double record_fraction;      /* fraction of requests whose rows go to /requests (chosen by id); 1 = all */
  double view_refresh_s;       /* policy view refreshed every this many seconds (0 = always fresh) */
  double decision_latency_s;   /* time from arrival to placement */
  int gateway_max_in_flight;   /* admitted requests in flight before the gateway queues by priority (0 = no limit) */
  int decision_trace;          /* write /decisions (candidates and scores per request) */
  int affinity_slack;          /* affinity within a site: requests in service a replica may have above the
                                * least loaded one and still be preferred for its cached prefix or its
                                * resident adapter (-1: off) */
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
  char trace_class_col[CPN_NAME_MAX]; /* demand.trace.class_col: names the service class ("" = drawn) */
  int diurnal_step;            /* demand.diurnal_interp: 0 linear between hourly points, 1 steps (one per hour) */
  /* Prefix caching (demand.trace.hash_col, block_tokens): the key of the rows' block-hash lists ("" = the
   * mapping's: hash_ids for jsonl-ms, none otherwise; "none" = ignore them) and the tokens per block. */
  char trace_hash_col[CPN_NAME_MAX];
  char trace_adapter_col[CPN_NAME_MAX]; /* demand.trace.adapter_col: the adapter a row asks for ("" = none) */
  int trace_block_tokens;      /* default 512 (Mooncake's block) */
} cpn_demand_spec_t;

/* faults: one planned or random outage of a link (a, b) or a site; a link may instead be degraded to a
 * fraction of its bandwidth. */
typedef struct {
  char site[CPN_NAME_MAX];     /* a site's outage ... */
  char a[CPN_NAME_MAX], b[CPN_NAME_MAX]; /* ... or the link between a and b */
  double at_s;                 /* planned: starts at this time (-1: random, from mtbf_s) */
  double duration_s;           /* planned: lasts this long (0: until the end of the run) */
  double bw_fraction;          /* link: bandwidth left while it lasts (0: cut) */
  double mtbf_s, mttr_s;       /* random: exponential times between failures and to repair */
  int site_index, link_index;  /* resolved: -1 for the other kind */
  int line;
} cpn_fault_spec_t;

/* distribution: a model version pushed from a site to other sites as bulk SimGrid flows, once or on a
 * schedule. */
#define CPN_DIST_MAX_SITES 64
typedef struct {
  char name[CPN_NAME_MAX];
  char from[CPN_NAME_MAX];     /* the site that holds each new version */
  int from_site;
  int n_to;
  int to[CPN_DIST_MAX_SITES];  /* target sites */
  double bytes;                /* size of one version */
  double at_s;                 /* first version */
  double every_s;              /* a new version this often (0: one only) while arrivals run */
  int line;
} cpn_distribution_spec_t;

/* training: a data-parallel job across sites: each step computes at every site, then all-reduces its
 * gradients around a ring of the sites over the network (bulk SimGrid flows). */
#define CPN_TRAIN_MAX_SITES 64
typedef struct {
  char name[CPN_NAME_MAX];
  int n_sites;
  int sites[CPN_TRAIN_MAX_SITES]; /* ring order */
  double grad_bytes;           /* gradient bytes all-reduced each step */
  double compute_s;            /* compute time of one step at each site */
  double at_s;                 /* the first step starts */
  int steps;                   /* steps to run (0: steps start while arrivals run) */
  int line;
} cpn_training_spec_t;

typedef struct {
  double detection_s;          /* policies see a site down this long after it fails */
  int max_retries;             /* a request lost to a fault is placed again at most this many times */
  int n_events;
  cpn_fault_spec_t *events;
} cpn_faults_spec_t;

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
  cpn_faults_spec_t faults;    /* faults: outages and degraded links (sim/faults) */
  int n_distributions;         /* distribution: model version pushes (sim/jobs) */
  cpn_distribution_spec_t *distributions;
  int n_trainings;             /* training: data-parallel jobs across sites (sim/jobs) */
  cpn_training_spec_t *trainings;
} cpn_scenario_t;

#endif
