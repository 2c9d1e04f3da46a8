/* fuzz_trace: libFuzzer target for the trace reader (sources/trace.h) under its built-in mappings.
 *
 * Input: one byte of options, then the trace file. Bits 0-1 choose the mapping (azure-2023, vidur,
 * jsonl-ms, or a CSV/JSONL mapping with model, tenant and origin columns), bit 2 skip_errors, bit 3 loop,
 * bit 4 rate_scale 2.5 (three copies), bit 5 rebase_time, bit 6 require_rows, bit 7 start_offset_s 1.
 * At most 2,000 rows are read: the reader must return rows in non-decreasing time, stop with a message,
 * or end, never crash or overflow. */
#include "fuzz_common.h"

#include <math.h>

#include "sources/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  uint8_t opt = data[0];
  static const char *const mappings[] = {"azure-2023", "vidur", "jsonl-ms"};
  cpn_trace_options_t o;
  if ((opt & 3) < 3) {
    if (cpn_trace_mapping(mappings[opt & 3], &o) != CPN_OK)
      abort();
  } else {
    /* A mapping with every optional column, CSV or JSONL by the first byte of the file. */
    cpn_trace_options_default(&o);
    o.format = size > 1 && data[1] == '{' ? CPN_TRACE_JSONL : CPN_TRACE_CSV;
    strcpy(o.time_col, "t");
    o.time_kind = CPN_TRACE_TIME_S;
    strcpy(o.prompt_col, "p");
    strcpy(o.output_col, "o");
    strcpy(o.model_col, "model");
    strcpy(o.tenant_col, "tenant");
    strcpy(o.origin_col, "origin");
  }
  o.skip_errors = !!(opt & 4);
  o.loop = !!(opt & 8);
  o.rate_scale = opt & 16 ? 2.5 : 1;
  o.shift_s = opt & 16 ? 0.125 : 0;
  o.rebase_time = !!(opt & 32);
  o.require_rows = !!(opt & 64);
  o.start_offset_s = opt & 128 ? 1 : 0;
  o.seed = 2385;
  const char *path = fuzz_write("trace.txt", data + 1, size - 1);
  if (!path)
    return 0;
  cpn_trace_t *t = NULL;
  if (cpn_trace_open(&t, path, &o) != CPN_OK) {
    cpn_error_clear();
    return 0;
  }
  cpn_trace_row_t row;
  double last = -INFINITY;
  for (int i = 0; i < 2000; i++) {
    int rc = cpn_trace_next(t, &row);
    if (rc <= 0)
      break;
    if (!(row.t_s >= last) || !isfinite(row.t_s)) {
      fprintf(stderr, "fuzz_trace: row %d at t = %.17g after %.17g\n", i, row.t_s, last);
      abort();
    }
    last = row.t_s;
  }
  cpn_trace_close(t);
  cpn_error_clear();
  return 0;
}
