/* trace: a streaming reader of request traces (CSV or JSON Lines), the engine's trace workload source.
 *
 * What it is for: replaying recorded arrivals (Azure LLM inference 2023, Vidur/Splitwise processed
 * traces, Mooncake-style JSONL) as a time-ordered sequence of requests, optionally sped up (time_scale),
 * thinned or superposed (rate_scale), looped, and started part-way (start_offset_s).
 * What it owns: one FILE handle and one line buffer of CPN_TRACE_LINE_MAX bytes per superposed copy,
 * plus O(copies) bookkeeping. Memory never grows with the length of the file.
 * Invariants: cpn_trace_next returns rows in non-decreasing t_s (ties: lower copy first); the rows kept
 * are a pure function of (file, options, seed), so the same inputs give the same sequence byte for byte.
 * Depends on libc only. */
#ifndef CPN_SOURCES_TRACE_H
#define CPN_SOURCES_TRACE_H

#include <stdint.h>

#include "core/error.h"

#define CPN_TRACE_NAME_MAX 64      /* size of column names and of the model/tenant/origin strings */
#define CPN_TRACE_LINE_MAX 65536   /* longest accepted line, terminator included; longer lines are bad rows */
#define CPN_TRACE_COPIES_MAX 256   /* ceil(rate_scale) at most: one open file per copy */
#define CPN_TRACE_HASHES_MAX 2048  /* block hashes per row at most (2048 x 512 tokens = 1 Mi tokens) */

typedef enum { CPN_TRACE_CSV = 0, CPN_TRACE_JSONL } cpn_trace_format_t;

/* How the time column is read. Numeric kinds are taken as given (the file's own time origin) unless
 * rebase_time is set; datetimes are always relative to the first valid row. */
typedef enum {
  CPN_TRACE_TIME_S = 0,       /* seconds (decimal number) */
  CPN_TRACE_TIME_MS,          /* milliseconds */
  CPN_TRACE_TIME_US,          /* microseconds */
  CPN_TRACE_TIME_DATETIME     /* "YYYY-MM-DD HH:MM:SS[.fffffffff]" ('T' also accepted between date and
                               * time, trailing 'Z' ignored; no time zones), exact to the nanosecond */
} cpn_trace_time_kind_t;

/* Options: the column mapping and the replay transformations. Start from cpn_trace_options_default()
 * or cpn_trace_mapping(), then adjust fields.
 *
 * Trace time tau of a row: the time column in seconds (minus the first valid row's value for datetimes,
 * or when rebase_time is set). Simulated time of a row of pass p (loop) and copy c (superposition):
 *     t_s = (tau - start_offset_s + p * period) * time_scale + c * shift_s
 * where period, in trace seconds, is the span of the first pass times n/(n-1) (n = valid rows with
 * tau >= start_offset_s, span = their last tau - their first tau): the span plus one mean gap, so the
 * first row of a pass follows the last row of the previous one by a mean inter-arrival gap and the
 * looped process keeps the trace's mean rate.
 *
 * rate_scale r (> 0):
 *   r < 1:  one copy; each row is kept independently with probability r.
 *   r = 1:  every row, one copy.
 *   r > 1:  k = ceil(r) copies of the file are read and merged by time; copies 0 .. k-2 keep every row,
 *           copy k-1 keeps each row independently with probability r - (k-1) (1 when r is an integer),
 *           so the mean rate is r times the trace's. Copy c is delayed by c * shift_s simulated seconds;
 *           with shift_s = 0 the copies arrive at the same instants (bursts of k), so set it (e.g. to a
 *           value that is not a multiple of typical gaps). r within 1e-9 of an integer counts as one.
 * The keep decision for a row is a hash of (seed, copy, pass, line number): it does not depend on the
 * order of reads, on other rows, or on bad rows elsewhere. */
typedef struct {
  cpn_trace_format_t format;
  char time_col[CPN_TRACE_NAME_MAX];    /* column (CSV header name) or key (JSONL) of the timestamp */
  cpn_trace_time_kind_t time_kind;
  char prompt_col[CPN_TRACE_NAME_MAX];  /* prompt (context, prefill) tokens */
  char output_col[CPN_TRACE_NAME_MAX];  /* output (generated, decode) tokens */
  char model_col[CPN_TRACE_NAME_MAX];   /* optional, "" = absent */
  char tenant_col[CPN_TRACE_NAME_MAX];  /* optional, "" = absent */
  char origin_col[CPN_TRACE_NAME_MAX];  /* optional, "" = absent */
  double time_scale;      /* > 0; multiplies trace times (0.5 = twice as fast). Default 1 */
  double rate_scale;      /* > 0; thinning / superposition, see above. Default 1 */
  double shift_s;         /* >= 0; delay of copy c is c * shift_s simulated seconds. Default 0 */
  int loop;               /* 1: replay from the start (of the window at start_offset_s) at end of file */
  double start_offset_s;  /* rows with tau < start_offset_s are skipped; simulated 0 = this trace time */
  int skip_errors;        /* 1: skip bad rows and count them; 0: stop at the first (cpn_trace_next -1) */
  unsigned long seed;     /* seeds the thinning */
  int rebase_time;        /* 1: numeric times are relative to the first valid row (e.g. epoch seconds) */
  int require_rows;       /* 1: a trace that yields no row at all (no data rows, every row bad and skipped,
                           * all before start_offset_s, all thinned) is an error naming the file and the
                           * reason (cpn_trace_next -1), not an empty replay. Default 0 */
  char class_col[CPN_TRACE_NAME_MAX];   /* optional, "" = absent: the service class */
  char session_col[CPN_TRACE_NAME_MAX]; /* optional, "" = absent: the conversation (session) id */
  /* optional, "" = absent: the prompt's block hashes (Mooncake's `hash_ids`): a JSON array of
   * non-negative integers, or in CSV a field of them separated by spaces or ';'. A row without the key
   * (JSONL) or with an empty list has none. */
  char hash_col[CPN_TRACE_NAME_MAX];
  char adapter_col[CPN_TRACE_NAME_MAX]; /* optional, "" = absent: the adapter (LoRA) the row asks for */
} cpn_trace_options_t;

/* One request of the trace. Token counts may be 0 (passed through as recorded). */
typedef struct {
  double t_s;                          /* simulated arrival time, see cpn_trace_options_t */
  unsigned prompt_tokens, output_tokens;
  char model[CPN_TRACE_NAME_MAX], tenant[CPN_TRACE_NAME_MAX], origin[CPN_TRACE_NAME_MAX]; /* "" if unmapped */
  long line;                           /* 1-based line of the file the row came from */
  int copy;                            /* superposed copy, 0 .. ceil(rate_scale)-1 */
  int pass;                            /* loop pass, 0 for the first reading of the file */
  char cls[CPN_TRACE_NAME_MAX];        /* service class, "" if unmapped */
  char session[CPN_TRACE_NAME_MAX];    /* session (conversation) id, "" if unmapped */
  char adapter[CPN_TRACE_NAME_MAX];    /* adapter name, "" if unmapped or empty (the base model) */
  int n_hashes;                        /* block hashes of the prompt (hash_col), 0 if none */
  uint64_t hashes[CPN_TRACE_HASHES_MAX];
} cpn_trace_row_t;

/* Counters, for logs and for the summary. */
typedef struct {
  long rows_returned;      /* rows handed out by cpn_trace_next */
  long bad_lines;          /* bad lines skipped, each line of the file counted once (copy 0, pass 0) */
  long rows_valid;         /* valid data rows seen, including those before start or thinned (copy 0, pass 0) */
  long rows_before_start;  /* valid rows with tau < start_offset_s (copy 0, pass 0) */
  long rows_thinned;       /* rows dropped by thinning, all copies and passes */
  long passes_done;        /* completed readings of the file by copy 0 */
  double period_s;         /* loop period in simulated seconds; 0 until copy 0 finished its first pass */
} cpn_trace_stats_t;

typedef struct cpn_trace cpn_trace_t;

/* Fills o with the defaults: CSV, no columns, seconds, time_scale = rate_scale = 1, everything else 0. */
void cpn_trace_options_default(cpn_trace_options_t *o);

/* Resets o to the defaults and applies a built-in mapping:
 *   "azure-2023"          CSV  TIMESTAMP (datetime), ContextTokens, GeneratedTokens
 *   "vidur", "splitwise"  CSV  arrived_at (seconds), num_prefill_tokens, num_decode_tokens
 *   "jsonl-ms"            JSONL timestamp (milliseconds), input_length, output_length, hash_ids
 *                         (Mooncake layout; rows without hash_ids have no block hashes)
 * Returns CPN_ENOTFOUND (message lists the names) for an unknown name; o is then unchanged. */
cpn_err_t cpn_trace_mapping(const char *name, cpn_trace_options_t *o);

/* Opens the trace at path (ceil(rate_scale) handles) and, for CSV, reads and checks the header: every
 * mapped column must appear exactly once. Errors: CPN_EINVAL for bad options, a missing or duplicated
 * column ("FILE:1: column 'X' (output_col) is not in the header ...") or an empty file; CPN_EIO when
 * the file cannot be opened; CPN_ENOMEM. *t is written only on success; o is copied. Cost: O(copies)
 * allocations of CPN_TRACE_LINE_MAX bytes; no data row is read before the first cpn_trace_next. */
cpn_err_t cpn_trace_open(cpn_trace_t **t, const char *path, const cpn_trace_options_t *o);

/* Next row in time order (copies merged by t_s, ties by copy). Returns 1 and fills *row, 0 at the end
 * (never with loop), or -1 on error: a bad row in stop mode ("FILE:LINE:COLUMN: column 'X': problem"),
 * a read error, a loop over fewer than 2 rows or a zero span, or (with require_rows) no row at all.
 * After -1 every later call returns -1 with the same message. Bad rows: a field missing or extra, an
 * empty, non-numeric or non-finite value, a negative, fractional or too large token count, an
 * unparsable datetime or one outside 1677-09-21 .. 2262-04-11, a datetime more than 292 years from the
 * first valid row, a time earlier than the previous valid row's, malformed JSON, a line longer than
 * CPN_TRACE_LINE_MAX - 1 bytes, a line containing a NUL byte, a string value longer than
 * CPN_TRACE_NAME_MAX - 1 bytes, a hash list that is not a list of integers in [0, 2^64) or holds more than
 * CPN_TRACE_HASHES_MAX of them. Blank lines (nothing but spaces, tabs and the line end) are ignored.
 * Cost: one line parse per row read plus O(log copies); no allocation. */
int cpn_trace_next(cpn_trace_t *t, cpn_trace_row_t *row);

/* Bad lines skipped so far (each line of the file counted once, however many copies or passes). */
long cpn_trace_skipped(const cpn_trace_t *t);
/* Rows returned by cpn_trace_next so far (less those given back with cpn_trace_unread). */
long cpn_trace_rows_read(const cpn_trace_t *t);
/* Gives back the row the last cpn_trace_next returned (1), e.g. one past the end of the arrivals: it is
 * not counted as returned, and the next call returns it again. At most once per cpn_trace_next. */
void cpn_trace_unread(cpn_trace_t *t);
/* The message of the first skipped bad line ("" if none), for a log line next to the count. */
const char *cpn_trace_first_skip_message(const cpn_trace_t *t);
void cpn_trace_stats(const cpn_trace_t *t, cpn_trace_stats_t *s);

/* Closes the files and frees t. Accepts NULL. */
void cpn_trace_close(cpn_trace_t *t);

/* Parses a datetime as CPN_TRACE_TIME_DATETIME reads it into nanoseconds since 1970-01-01 00:00:00
 * (proleptic Gregorian calendar, no time zone, no leap seconds). Returns 0; -1 when s is not such a
 * datetime (including an impossible date such as 2023-02-29); -2 when it is one but lies outside what
 * 64-bit nanoseconds hold (before 1677-09-21 00:12:44 or after 2262-04-11 23:47:16.854775807).
 * *ns is written only on success. */
int cpn_trace_datetime_ns(const char *s, long long *ns);

#endif
