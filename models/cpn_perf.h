/* cpn_perf: accelerator and LLM catalogs and the roofline-style serving performance model.
 *
 * Pure functions (libc only). The engine never hard-codes a serving time: it asks this module for the
 * prefill time of a prompt, the time of one decode step of a batch, and the KV-cache capacity of a
 * replica. Catalog figures cite their sources in cpn_perf.c. Calibration factors (efficiencies and a
 * fixed per-step overhead) may be overridden by a scenario. */
#ifndef CPN_MODELS_CPN_PERF_H
#define CPN_MODELS_CPN_PERF_H

#include <stddef.h>

typedef struct {
  const char *name;          /* catalog key: "h100", "h200", "a100", "h20", "ascend-910b" */
  double mem_bytes;          /* HBM capacity */
  double mem_bw_Bps;         /* HBM bandwidth, bytes/s */
  double flops_fp16;         /* peak dense FLOP/s, FP16/BF16 */
  double flops_fp8;          /* peak dense FLOP/s, FP8 (or INT8 where FP8 is absent); 0 if unsupported */
  double power_idle_w;
  double power_max_w;        /* TDP */
  int confidential;          /* supports confidential compute */
  double usd_per_hour;       /* amortised cost of one accelerator-hour (estimate) */
  double capex_usd;          /* purchase price of one accelerator, for the full cost (estimate) */
  /* Appended: scale-up link bandwidth of one accelerator, one direction, bytes/s (NVLink: half the
   * datasheet's bidirectional figure); the bandwidth term of tensor-parallel all-reduces. 0 = none. */
  double link_bw_Bps;
} cpn_accel_t;

typedef struct {
  const char *name;          /* catalog key: "llama-3.1-8b", "qwen3-32b", "llama-3.3-70b", "deepseek-v3" ... */
  double params;             /* total parameters */
  double active_params;      /* parameters active per token (= params for dense models) */
  double bytes_per_param;    /* weight precision in bytes (1 = FP8/INT8, 2 = FP16) */
  double kv_bytes_per_token; /* KV cache bytes per token of context (all layers) */
  int layers;
  /* Appended: model (hidden) dimension, the activation width a tensor-parallel all-reduce carries per
   * token (0 = no bandwidth term). */
  int hidden;
} cpn_llm_t;

/* One (model, accelerator, tensor-parallel degree) serving configuration and its calibration. */
typedef struct {
  const cpn_accel_t *accel;
  const cpn_llm_t *llm;
  int tp;                    /* accelerators per replica (tensor parallel) */
  double prefill_eff;        /* fraction of peak FLOP/s reached by the matrix multiplies (prefill and decode
                              * tokens alike) (0,1] */
  double decode_eff;         /* fraction of peak memory bandwidth reached reading weights and KV (0,1] */
  double step_overhead_s;    /* fixed cost of one forward pass (scheduling, kernel launches) */
  double kv_mem_fraction;    /* fraction of the replica's memory that weights + KV may use (0,1], vLLM's
                              * gpu_memory_utilization: KV gets tp*mem_bytes*kv_mem_fraction - weights */
  /* Appended: fixed (latency) part of one tensor-parallel all-reduce; a forward pass of T tokens pays
   * 2 * layers of them when tp > 1, each tp_allreduce_s + 2*(tp-1)/tp * T*hidden*2 B / link_bw_Bps
   * (ring all-reduce of BF16 activations). Set by cpn_perf_init. */
  double tp_allreduce_s;
} cpn_perf_t;

/* Catalog lookups: NULL when the name is unknown. Pointers are to static storage. */
const cpn_accel_t *cpn_accel_find(const char *name);
const cpn_llm_t *cpn_llm_find(const char *name);
size_t cpn_accel_count(void);
const cpn_accel_t *cpn_accel_at(size_t i);
size_t cpn_llm_count(void);
const cpn_llm_t *cpn_llm_at(size_t i);

/* Fills *perf with the default calibration for (llm, accel, tp). */
void cpn_perf_init(cpn_perf_t *perf, const cpn_llm_t *llm, const cpn_accel_t *accel, int tp);

/* Seconds to prefill `prompt_tokens` tokens in a pass of their own: mixed_step_s(0, 0, prompt_tokens);
 * 0 for no tokens. */
double cpn_perf_prefill_s(const cpn_perf_t *perf, double prompt_tokens);
/* Seconds of one decode step producing one token for each of `batch` requests whose contexts total
 * `ctx_tokens` tokens: mixed_step_s(batch, ctx_tokens, 0). batch >= 1. */
double cpn_perf_decode_step_s(const cpn_perf_t *perf, int batch, double ctx_tokens);
/* Seconds of one forward pass that decodes one token for each of `batch` requests (contexts totalling
 * `ctx_tokens`) and prefills `prefill_tokens` prompt tokens in the same pass (continuous batching that
 * mixes prefill and decode: vLLM's chunked prefill, TensorRT-LLM's in-flight batching). The pass runs
 * its kernels one after the other: the matrix multiplies over all T = batch + prefill_tokens tokens
 * (max of their FLOPs and the weight read), then the decode attention reading the batch's KV, then the
 * fixed overhead and the all-reduces of T tokens (see cpn_perf.c). batch >= 0, prefill_tokens >= 0,
 * not both 0. */
double cpn_perf_mixed_step_s(const cpn_perf_t *perf, int batch, double ctx_tokens, double prefill_tokens);
/* Tokens of KV cache the replica can hold: (tp * mem_bytes * kv_mem_fraction - weight bytes) /
 * kv_bytes_per_token. <= 0 means the weights do not fit. */
double cpn_perf_kv_capacity_tokens(const cpn_perf_t *perf);
/* Bytes of weights of the model (what a cold start transfers). */
double cpn_perf_weight_bytes(const cpn_llm_t *llm);
/* Power drawn by one accelerator of the replica at utilisation u in [0,1]. */
double cpn_perf_power_w(const cpn_accel_t *accel, double u);

/* Batch limit at which the default calibration was fitted (TensorRT-LLM's default max_batch_size). */
#define CPN_PERF_CALIB_MAX_BATCH 2048

/* Output tokens/s of one continuously batched replica at steady state under unbounded load, as the
 * `trtllm` scheduler runs it: batch B = min(max_batch, floor(kv_capacity / (in + out))), total context
 * C = B*(in + out/2), each new prompt packed into one decode iteration, so a request costs
 * out * decode_step_s(B, C) / B + mixed_step_s(B, C, in) - decode_step_s(B, C) of replica time.
 * 0 when no request fits. The calibration target; O(1). */
double cpn_perf_saturated_output_tps(const cpn_perf_t *perf, double in_tokens, double out_tokens, int max_batch);

#endif
