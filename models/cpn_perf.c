/* cpn_perf: accelerator and LLM catalogs and the roofline-style serving performance model.
 *
 * What it owns: two static, read-only catalogs (accelerators, LLMs) and the pure functions that turn a
 * (model, accelerator, tensor-parallel degree) configuration into serving times. No state, no
 * allocation, libc + libm only. Invariants: catalog entries never change at run time; every time this
 * module returns is >= 0 and finite for valid input; invalid input (NULL, batch < 1, tp < 1) is a
 * programmer error and asserts.
 *
 * THE MODEL (A = active parameters, W = weight bytes = params * bytes_per_param, k = KV bytes per token,
 * F = peak dense FLOP/s of one accelerator, BW = its HBM bandwidth, tp = accelerators per replica,
 * h = hidden size, link = NVLink bandwidth of one accelerator, one direction):
 *
 *   F = flops_fp8 when bytes_per_param <= 1 and the accelerator has an 8-bit path, else flops_fp16
 *   One forward pass over B decode tokens (contexts totalling C) and P prompt tokens, T = B + P, runs
 *   its kernels one after the other, so their times add:
 *     pass(B, C, P) = max(2*A*T / (tp*F*prefill_eff), R(T) / (tp*BW*decode_eff))   matrix multiplies
 *                   + k*C / (tp*BW*decode_eff)                                      decode attention
 *                   + step_overhead_s
 *                   + comm(T)
 *     R(T)    = W for dense models; min(W, A*bytes_per_param*T) for MoE models, because T tokens touch
 *               at most T times the active experts (all of them once T >= params/A).
 *     comm(T) = tp > 1 ? 2*layers * (tp_allreduce_s + 2*(tp-1)/tp * T*h*2 / link) : 0
 *               (two all-reduces per layer, Megatron TP, each a ring all-reduce of T tokens of BF16
 *               activations plus a fixed part).
 *   prefill_s(n) = pass(0, 0, n); decode_step_s(B, C) = pass(B, C, 0); mixed_step_s = pass.
 *   kv_capacity_tokens = (tp*mem_bytes*kv_mem_fraction - W) / k
 *       vLLM semantics (gpu_memory_utilization): the fraction bounds weights + KV together, so the KV
 *       cache gets what the weights leave of that fraction. <= 0 means the weights do not fit.
 *
 * Why a sum and not max(all FLOPs, all bytes): the matrix multiplies read the weights while the
 * attention kernels read the KV cache, one after the other, so the memory-bound attention cannot hide
 * behind compute-bound matrix multiplies. At saturation the 8B model's matrix multiplies are compute
 * bound (a batch of ~490 tokens on an H100, 2*A*B FLOPs against a weight read that pays off from ~190
 * tokens), so the H200, with the H100's tensor cores and 1.43x its HBM bandwidth, gains only on the
 * attention: 1.20x at 1000/1000 (published 17,744 / 15,220 = 1.166); the previous roofline,
 * max(compute, weights + KV) with prefills added, had the decode memory bound and gave 1.37x.
 * The prefill has no separate attention term: at the prompt lengths that matter here (<= a few
 * thousand tokens) causal attention FLOPs are a few percent of 2*A*n (3% for Llama 3.1 8B at 2,048
 * tokens) and are absorbed by prefill_eff; at 20,000 tokens they reach a third, and the model is then
 * optimistic about prefill. A prompt alone in its pass pays at least the weight read; packed with a
 * decode batch (mixed_step_s) it shares it.
 *
 * SATURATED THROUGHPUT (cpn_perf_saturated_output_tps, the calibration target). A continuously batched
 * replica at steady state holds B = min(max_batch, floor(kv_capacity / (in + out))) requests whose mean
 * context is in + out/2. Each new prompt is packed into one decode iteration, as the trtllm scheduler
 * does, so one request costs out * decode_step_s(B, C) / B + mixed_step_s(B, C, in) - decode_step_s(B, C)
 * of replica time (C = B*(in + out/2)) and the replica emits out / that output tokens per second.
 *
 * CALIBRATION (global defaults, one set for every accelerator and model):
 *   prefill_eff = 0.53, decode_eff = 0.82, tp_allreduce_s = 40 us, step_overhead_s = 0.4 ms (held),
 *   kv_mem_fraction = 0.90, evaluated at max_batch = 2048 (CPN_PERF_CALIB_MAX_BATCH: TensorRT-LLM's
 *   default max_batch_size; trtllm-bench runs at "maximum load", i.e. an infinite request rate).
 * F, BW, link, h, A, W and k are datasheet and config.json figures. The three fitted factors minimise
 * the RMS of log(simulated / published) over the 20 H100 rows of NVIDIA TensorRT-LLM
 * docs/source/performance/perf-overview.md, "Total Output Throughput", FP8 checkpoints (grid search,
 * models/fit_perf_calibration.py, which mirrors this file's formulas); step_overhead_s is held at
 * 0.4 ms because the data do not identify it (it trades against decode_eff along a flat valley).
 * The eight H200 rows are not used in the fit: they are the out-of-sample check.
 *
 *   model            accel  tp  in/out      simulated   published   error
 *   llama-3.1-8b     h100   1   128/128     28,249      28,312      -0.2%
 *   llama-3.1-8b     h100   1   1000/1000   14,875      15,220      -2.3%
 *   llama-3.1-8b     h100   1   2048/128     3,209       3,450      -7.0%
 *   llama-3.3-70b    h100   2   1000/1000    4,515       4,205      +7.4%
 *   llama-3.3-70b    h100   2   2048/128       747         762      -2.0%
 *   llama-3.1-8b     h200   1   1000/1000   17,844      17,744      +0.6%  (out of sample)
 *   llama-3.3-70b    h200   1   1000/1000    2,994       2,909      +2.9%  (out of sample)
 *
 * Worst error on the 20 H100 rows 7.5% (70B TP2 500/2000, +7.5%); out of sample, seven of the eight
 * H200 rows within 5.3% and 70B TP1 128/2048 at +19.2%. Sensitivity: reading the H100's memory as
 * 80 GiB instead of 80e9 bytes raises the worst H100 error to 13.1% (70B TP2 500/2000): a bigger KV
 * cache admits a bigger batch, which amortises the weight read over more tokens.
 * Physical reading: 53% of peak FP8 tensor throughput (~1,050 TFLOP/s on an H100) is typical of FP8
 * matrix multiplies at these shapes; 82% of HBM bandwidth of streaming kernels; 0.4 ms per pass is
 * scheduling and launch cost left after CUDA graphs; 40 us per all-reduce besides its bandwidth term
 * is more than NVLink latency alone and also stands for the synchronisation of the two GPUs. The A100,
 * H20 and Ascend 910B use the same factors without a calibration of their own: treat their times as
 * extrapolations. */
#include "cpn_perf.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* Default calibration (see the block above). */
static const double PREFILL_EFF_DEFAULT = 0.53;
static const double DECODE_EFF_DEFAULT = 0.82;
static const double STEP_OVERHEAD_S_DEFAULT = 0.4e-3;
static const double TP_ALLREDUCE_S_DEFAULT = 40e-6;
static const double KV_MEM_FRACTION_DEFAULT = 0.90; /* vLLM gpu_memory_utilization default */

#define GB 1e9
#define TBPS 1e12
#define TFLOPS 1e12

/* Memory capacities are the spec-sheet figures read as decimal GB (80 GB = 80e9 bytes). The driver of
 * an H100 80GB reports 81,559 MiB (85.5e9 bytes); the ~6% gap stands for the CUDA context, activation
 * and workspace buffers that serving engines reserve before sizing the KV cache, which this model
 * does not otherwise subtract.
 * Idle power is an estimate of 12% of TDP (within the 10-15% observed for idle HBM accelerators); for
 * context, an H100 serving Qwen3-8B draws ~400 W at concurrency 1 and 650-680 W saturated
 * (parameters.md, "H100 power serving Qwen3-8B", moderate trust): a single stream is far from idle.
 * usd_per_hour values are ESTIMATES of an amortised or rented accelerator-hour (2025 cloud list
 * prices, rounded), not sourced figures; scenarios should override them when they study cost.
 * capex_usd values are ESTIMATES of the capital cost of one installed accelerator: its street price
 * (2024-2025 trade press, rounded: H100 ~30k, H200 ~35k, A100 ~15k, H20 ~12k, Ascend 910B ~14k USD) plus
 * about a third for its share of the 8-way server, fabric and racks (H100 40k, H200 45k, A100 20k, H20
 * 16k, 910B 18k); the building is not included (its cost shows up in PUE and price only). They feed the
 * full cost; sites[].pools[].capex_usd_per_accel overrides them. */
static const cpn_accel_t ACCELS[] = {
  /* NVIDIA H100 SXM datasheet: 80 GB HBM3, 3.35 TB/s, BF16 989 TFLOPS dense (1,979 with sparsity),
   * FP8 1,979 TFLOPS dense, up to 700 W (parameters.md "H100 / H200 SXM TDP"). Confidential computing:
   * Hopper is NVIDIA's first GPU with CC mode. NVLink 4: 900 GB/s both directions, 450 GB/s each. */
  {.name = "h100", .mem_bytes = 80 * GB, .mem_bw_Bps = 3.35 * TBPS, .flops_fp16 = 989 * TFLOPS,
   .flops_fp8 = 1979 * TFLOPS, .power_idle_w = 84, .power_max_w = 700, .confidential = 1,
   .usd_per_hour = 2.5 /* estimate */, .capex_usd = 40000 /* estimate */, .link_bw_Bps = 450 * GB},
  /* NVIDIA H200 SXM datasheet: 141 GB HBM3e, 4.8 TB/s, same tensor cores as H100, up to 700 W, NVLink
   * 900 GB/s. */
  {.name = "h200", .mem_bytes = 141 * GB, .mem_bw_Bps = 4.8 * TBPS, .flops_fp16 = 989 * TFLOPS,
   .flops_fp8 = 1979 * TFLOPS, .power_idle_w = 84, .power_max_w = 700, .confidential = 1,
   .usd_per_hour = 3.5 /* estimate */, .capex_usd = 45000 /* estimate */, .link_bw_Bps = 450 * GB},
  /* NVIDIA A100 SXM 80GB datasheet: 2,039 GB/s, BF16 312 TFLOPS dense, no FP8: INT8 624 TOPS dense is
   * used as the 8-bit path (W8A8 serving), 400 W (parameters.md "A100 SXM"). No confidential mode.
   * NVLink 3: 600 GB/s both directions. */
  {.name = "a100", .mem_bytes = 80 * GB, .mem_bw_Bps = 2.039 * TBPS, .flops_fp16 = 312 * TFLOPS,
   .flops_fp8 = 624 * TFLOPS, .power_idle_w = 48, .power_max_w = 400, .confidential = 0,
   .usd_per_hour = 1.5 /* estimate */, .capex_usd = 20000 /* estimate */, .link_bw_Bps = 300 * GB},
  /* NVIDIA H20 (China-market Hopper): 96 GB HBM3, 4.0 TB/s, 148 TFLOPS FP16, 296 TFLOPS FP8, 400 W
   * (parameters.md "H20", vendor specification). Hopper, so confidential computing is available.
   * NVLink 900 GB/s. */
  {.name = "h20", .mem_bytes = 96 * GB, .mem_bw_Bps = 4.0 * TBPS, .flops_fp16 = 148 * TFLOPS,
   .flops_fp8 = 296 * TFLOPS, .power_idle_w = 48, .power_max_w = 400, .confidential = 1,
   .usd_per_hour = 1.2 /* estimate */, .capex_usd = 16000 /* estimate */, .link_bw_Bps = 450 * GB},
  /* Huawei Ascend 910B: APPROXIMATE public figures (Atlas 800T A2 material and press reports; the
   * 910B1..B4 bins differ): 64 GB HBM2e, ~1.6 TB/s, ~320 TFLOPS FP16, ~640 TOPS INT8, ~400 W. No FP8:
   * INT8 (MindIE W8A8) is the 8-bit path. No confidential-compute mode comparable to NVIDIA CC. HCCS
   * ~392 GB/s both directions (approximate). */
  {.name = "ascend-910b", .mem_bytes = 64 * GB, .mem_bw_Bps = 1.6 * TBPS, .flops_fp16 = 320 * TFLOPS,
   .flops_fp8 = 640 * TFLOPS, .power_idle_w = 48, .power_max_w = 400, .confidential = 0,
   .usd_per_hour = 1.0 /* estimate */, .capex_usd = 18000 /* estimate */, .link_bw_Bps = 196 * GB},
};

/* KV bytes per token of a grouped-query-attention model: K and V, every layer, every KV head. */
#define GQA_KV_BYTES(layers, kv_heads, head_dim, bytes) (2.0 * (layers) * (kv_heads) * (head_dim) * (bytes))

/* Serving precision: weights at 1 byte/param (FP8, or INT8 W8A8 where FP8 is absent), the TensorRT-LLM
 * calibration checkpoints being FP8 (nvidia/Llama-3.1-8B-Instruct-FP8, ...Llama-3.3-70B-Instruct-FP8).
 * KV cache also at 1 byte per element (FP8 KV cache, as in those checkpoints' KV quantisation); a BF16
 * KV cache would double every kv_bytes_per_token below. Architecture figures are from each model's
 * Hugging Face config.json (num_hidden_layers, num_key_value_heads, head_dim, hidden_size) and parameter counts
 * from its model card. */
static const cpn_llm_t LLMS[] = {
  /* meta-llama/Llama-3.1-8B: 8.03e9 params; 32 layers, 8 KV heads, head_dim 128 (4096/32). */
  {.name = "llama-3.1-8b", .params = 8.03e9, .active_params = 8.03e9, .bytes_per_param = 1,
   .kv_bytes_per_token = GQA_KV_BYTES(32, 8, 128, 1), .layers = 32, .hidden = 4096},
  /* Qwen/Qwen3-8B: 8.2e9 params (card); 36 layers, 8 KV heads, head_dim 128. */
  {.name = "qwen3-8b", .params = 8.2e9, .active_params = 8.2e9, .bytes_per_param = 1,
   .kv_bytes_per_token = GQA_KV_BYTES(36, 8, 128, 1), .layers = 36, .hidden = 4096},
  /* Qwen/Qwen3-32B: 32.8e9 params (card); 64 layers, 8 KV heads, head_dim 128. */
  {.name = "qwen3-32b", .params = 32.8e9, .active_params = 32.8e9, .bytes_per_param = 1,
   .kv_bytes_per_token = GQA_KV_BYTES(64, 8, 128, 1), .layers = 64, .hidden = 5120},
  /* meta-llama/Llama-3.3-70B-Instruct: 70.6e9 params; 80 layers, 8 KV heads, head_dim 128. */
  {.name = "llama-3.3-70b", .params = 70.6e9, .active_params = 70.6e9, .bytes_per_param = 1,
   .kv_bytes_per_token = GQA_KV_BYTES(80, 8, 128, 1), .layers = 80, .hidden = 8192},
  /* Qwen/Qwen3-30B-A3B (MoE, 128 experts, 8 routed): 30.5e9 total, 3.3e9 active (card); 48 layers,
   * 4 KV heads, head_dim 128. */
  {.name = "qwen3-30b-a3b", .params = 30.5e9, .active_params = 3.3e9, .bytes_per_param = 1,
   .kv_bytes_per_token = GQA_KV_BYTES(48, 4, 128, 1), .layers = 48, .hidden = 2048},
  /* deepseek-ai/DeepSeek-V3 (MoE): 671e9 total, 37e9 active (card; 685e9 with the MTP module, which
   * is not served here); 61 layers. Multi-head latent attention caches one compressed latent per layer
   * and token: kv_lora_rank 512 + qk_rope_head_dim 64 = 576 elements, so 576 * 61 = 35,136 bytes/token
   * at FP8 (70,272 bytes, the often-quoted "~70 KB/token", at BF16). */
  {.name = "deepseek-v3", .params = 671e9, .active_params = 37e9, .bytes_per_param = 1,
   .kv_bytes_per_token = (512.0 + 64.0) * 61 * 1, .layers = 61, .hidden = 7168},
};

#define N_ACCELS (sizeof ACCELS / sizeof ACCELS[0])
#define N_LLMS (sizeof LLMS / sizeof LLMS[0])

const cpn_accel_t *cpn_accel_find(const char *name) {
  if (name == NULL) return NULL;
  for (size_t i = 0; i < N_ACCELS; i++)
    if (strcmp(ACCELS[i].name, name) == 0) return &ACCELS[i];
  return NULL;
}

const cpn_llm_t *cpn_llm_find(const char *name) {
  if (name == NULL) return NULL;
  for (size_t i = 0; i < N_LLMS; i++)
    if (strcmp(LLMS[i].name, name) == 0) return &LLMS[i];
  return NULL;
}

size_t cpn_accel_count(void) { return N_ACCELS; }

const cpn_accel_t *cpn_accel_at(size_t i) { return i < N_ACCELS ? &ACCELS[i] : NULL; }

size_t cpn_llm_count(void) { return N_LLMS; }

const cpn_llm_t *cpn_llm_at(size_t i) { return i < N_LLMS ? &LLMS[i] : NULL; }

void cpn_perf_init(cpn_perf_t *perf, const cpn_llm_t *llm, const cpn_accel_t *accel, int tp) {
  assert(perf != NULL && llm != NULL && accel != NULL && tp >= 1);
  memset(perf, 0, sizeof *perf);
  perf->accel = accel;
  perf->llm = llm;
  perf->tp = tp;
  perf->prefill_eff = PREFILL_EFF_DEFAULT;
  perf->decode_eff = DECODE_EFF_DEFAULT;
  perf->step_overhead_s = STEP_OVERHEAD_S_DEFAULT;
  perf->kv_mem_fraction = KV_MEM_FRACTION_DEFAULT;
  perf->tp_allreduce_s = TP_ALLREDUCE_S_DEFAULT;
}

/* Peak dense FLOP/s of one accelerator at the model's precision: the 8-bit path only when the weights
 * are 8-bit and the accelerator has one. */
static double flops(const cpn_perf_t *perf) {
  const cpn_accel_t *a = perf->accel;
  if (perf->llm->bytes_per_param <= 1 && a->flops_fp8 > 0) return a->flops_fp8;
  return a->flops_fp16;
}

/* Tensor-parallel synchronisation of a forward pass over `tokens` tokens: two all-reduces per layer
 * (after attention and after the MLP, Megatron TP) when the replica spans several accelerators. Each is
 * a ring all-reduce of the BF16 activations (tokens * hidden * 2 bytes): every accelerator sends and
 * receives 2*(tp-1)/tp of them over its link, plus a fixed part. */
static double comm_s(const cpn_perf_t *perf, double tokens) {
  if (perf->tp <= 1) return 0.0;
  double tp = perf->tp, link = perf->accel->link_bw_Bps;
  double bytes = tokens * perf->llm->hidden * 2.0;
  double bw_s = link > 0 ? 2.0 * (tp - 1) / tp * bytes / link : 0.0;
  return 2.0 * perf->llm->layers * (perf->tp_allreduce_s + bw_s);
}

static void check(const cpn_perf_t *perf) {
  assert(perf != NULL && perf->llm != NULL && perf->accel != NULL && perf->tp >= 1);
  assert(perf->prefill_eff > 0 && perf->decode_eff > 0);
  (void)perf;
}

/* One forward pass over `batch` decode tokens (contexts totalling ctx_tokens) and `prefill_tokens`
 * prompt tokens; see THE MODEL above. */
static double pass_s(const cpn_perf_t *perf, double batch, double ctx_tokens, double prefill_tokens) {
  const cpn_llm_t *m = perf->llm;
  double tp = perf->tp, tokens = batch + prefill_tokens;
  double bw = tp * perf->accel->mem_bw_Bps * perf->decode_eff;
  double compute_s = 2.0 * m->active_params * tokens / (tp * flops(perf) * perf->prefill_eff);
  double weight_read_bytes = cpn_perf_weight_bytes(m);
  if (m->active_params < m->params) { /* MoE: a few tokens touch only some experts */
    double touched = m->active_params * m->bytes_per_param * tokens;
    if (touched < weight_read_bytes) weight_read_bytes = touched;
  }
  double gemm_s = fmax(compute_s, weight_read_bytes / bw);
  double attention_s = m->kv_bytes_per_token * ctx_tokens / bw;
  return gemm_s + attention_s + perf->step_overhead_s + comm_s(perf, tokens);
}

double cpn_perf_prefill_s(const cpn_perf_t *perf, double prompt_tokens) {
  check(perf);
  assert(prompt_tokens >= 0);
  if (prompt_tokens <= 0) return 0.0; /* nothing to prefill, no pass to pay for */
  return pass_s(perf, 0, 0, prompt_tokens);
}

double cpn_perf_decode_step_s(const cpn_perf_t *perf, int batch, double ctx_tokens) {
  check(perf);
  assert(batch >= 1 && ctx_tokens >= 0);
  return pass_s(perf, batch, ctx_tokens, 0);
}

double cpn_perf_mixed_step_s(const cpn_perf_t *perf, int batch, double ctx_tokens, double prefill_tokens) {
  check(perf);
  assert(batch >= 0 && prefill_tokens >= 0 && ctx_tokens >= 0 && (batch > 0 || prefill_tokens > 0));
  return pass_s(perf, batch, batch > 0 ? ctx_tokens : 0, prefill_tokens);
}

double cpn_perf_kv_capacity_tokens(const cpn_perf_t *perf) {
  check(perf);
  assert(perf->llm->kv_bytes_per_token > 0);
  double budget_bytes = perf->tp * perf->accel->mem_bytes * perf->kv_mem_fraction;
  return (budget_bytes - cpn_perf_weight_bytes(perf->llm)) / perf->llm->kv_bytes_per_token;
}

double cpn_perf_weight_bytes(const cpn_llm_t *llm) {
  assert(llm != NULL);
  return llm->params * llm->bytes_per_param;
}

double cpn_perf_power_w(const cpn_accel_t *accel, double u) {
  assert(accel != NULL);
  if (!(u > 0)) u = 0; /* also maps NaN to idle */
  if (u > 1) u = 1;
  return accel->power_idle_w + (accel->power_max_w - accel->power_idle_w) * u;
}

double cpn_perf_saturated_output_tps(const cpn_perf_t *perf, double in_tokens, double out_tokens, int max_batch) {
  check(perf);
  assert(in_tokens >= 0 && out_tokens > 0 && max_batch >= 1);
  double fit = floor(cpn_perf_kv_capacity_tokens(perf) / (in_tokens + out_tokens));
  double batch = fit < max_batch ? fit : max_batch;
  if (batch < 1) return 0.0; /* not even one request fits in the KV cache */
  double ctx_tokens = batch * (in_tokens + out_tokens / 2);
  double decode_s = pass_s(perf, batch, ctx_tokens, 0);
  double per_request_s = out_tokens * decode_s / batch + (pass_s(perf, batch, ctx_tokens, in_tokens) - decode_s);
  return out_tokens / per_request_s;
}
