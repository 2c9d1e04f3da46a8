/* trace: streaming reader of request traces (CSV with a header line, or JSON Lines of flat objects).
 *
 * What it is for: turning a recorded trace into the time-ordered requests the engine injects, with the
 * replay transformations of cpn_trace_options_t (time scaling, thinning, superposition, loop, start
 * offset) and per-line validation that names FILE:LINE:COLUMN.
 * What it owns: per superposed copy, one FILE, one line buffer of CPN_TRACE_LINE_MAX bytes and the
 * copy's pending row; a binary heap of the copies' pending rows. Nothing else is allocated, and nothing
 * after cpn_trace_open, so memory is bounded by the number of copies, not by the file.
 * Invariants: each copy's rows have non-decreasing t_s (a row earlier than the previous valid row is a
 * bad row, and a new pass starts one mean gap after the previous one ends); the heap holds exactly the
 * copies that have a pending row and are not waiting to be refilled; the keep decision of a row is a
 * hash of (seed, copy, pass, line), so the output is a pure function of file, options and seed.
 * Depends on libc only. */
#include "sources/trace.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* The mapped fields of a row. */
enum { F_TIME = 0, F_PROMPT, F_OUTPUT, F_MODEL, F_TENANT, F_ORIGIN, F_CLASS, F_SESSION, F_HASH, F_ADAPTER, F_N };
static const char *const FIELD_OPTION[F_N] = {"time_col",   "prompt_col", "output_col",  "model_col", "tenant_col",
                                              "origin_col", "class_col",  "session_col", "hash_col",  "adapter_col"};

/* A value found on a line: text (CSV fields and JSON strings are NUL-terminated in the line buffer;
 * JSON numbers and literals are spans), its 1-based byte column, and for JSON its type. */
typedef enum { V_TEXT = 0, V_NUMBER, V_LITERAL, V_NULL, V_NESTED } vtype_t;
typedef struct {
  int present;
  vtype_t type;
  const char *s;
  size_t len;
  double num;   /* V_NUMBER */
  int col;
} value_t;

/* One reading of the file, i.e. one superposed copy. */
typedef struct {
  FILE *f;
  char *buf;              /* CPN_TRACE_LINE_MAX bytes */
  int copy;
  int pass;
  long line;              /* number of the line last read */
  long header_lines;      /* 1 for CSV, 0 for JSONL */
  off_t data_start;       /* file offset of the first data line */
  int csv_index[F_N];     /* CSV: index of each mapped column in the header, -1 = unmapped */
  int csv_ncols;          /* CSV: number of header columns */
  double keep_p;          /* probability of keeping a row (1 = all) */
  /* time origin (datetimes; numeric with rebase_time) */
  int have_origin;
  long long origin_ns;
  double origin_s;
  /* monotonicity within a pass */
  int have_prev;
  double prev_tau;
  /* first pass statistics, for the loop period */
  long pass0_rows;
  double pass0_first_tau, pass0_last_tau;
  double period;          /* trace seconds; valid once pass >= 1 */
  cpn_trace_row_t row;    /* pending row */
} reader_t;

struct cpn_trace {
  cpn_trace_options_t o;
  char *path;
  int ncopies;
  reader_t *r;
  int *heap, nheap;       /* copies with a pending row, min-heap on (row.t_s, copy) */
  int *refill, nrefill;   /* copies whose row was handed out and must be read again */
  int failed;
  cpn_err_t fail_code;    /* CPN_EIO for read errors, else CPN_EINVAL */
  cpn_trace_stats_t st;
  char msg[1024];         /* the bad-row message being built, and the sticky error after a failure */
  char first_skip[1024];
};

/* ---------------------------------------------------------------------------------------------------
 * Options and mappings. */

void cpn_trace_options_default(cpn_trace_options_t *o) {
  assert(o);
  memset(o, 0, sizeof *o);
  o->format = CPN_TRACE_CSV;
  o->time_kind = CPN_TRACE_TIME_S;
  o->time_scale = 1;
  o->rate_scale = 1;
}

static void set_name(char dst[CPN_TRACE_NAME_MAX], const char *src) {
  snprintf(dst, CPN_TRACE_NAME_MAX, "%s", src);
}

cpn_err_t cpn_trace_mapping(const char *name, cpn_trace_options_t *o) {
  assert(name && o);
  cpn_trace_options_t m;
  cpn_trace_options_default(&m);
  if (strcmp(name, "azure-2023") == 0) {
    m.time_kind = CPN_TRACE_TIME_DATETIME;
    set_name(m.time_col, "TIMESTAMP");
    set_name(m.prompt_col, "ContextTokens");
    set_name(m.output_col, "GeneratedTokens");
  } else if (strcmp(name, "vidur") == 0 || strcmp(name, "splitwise") == 0) {
    set_name(m.time_col, "arrived_at");
    set_name(m.prompt_col, "num_prefill_tokens");
    set_name(m.output_col, "num_decode_tokens");
  } else if (strcmp(name, "jsonl-ms") == 0) {
    m.format = CPN_TRACE_JSONL;
    m.time_kind = CPN_TRACE_TIME_MS;
    set_name(m.time_col, "timestamp");
    set_name(m.prompt_col, "input_length");
    set_name(m.output_col, "output_length");
    set_name(m.hash_col, "hash_ids");
  } else {
    return cpn_error_set(CPN_ENOTFOUND, "unknown trace mapping '%s' (known: azure-2023, vidur, splitwise, jsonl-ms)",
                         name);
  }
  *o = m;
  return CPN_OK;
}

static const char *mapped_name(const cpn_trace_options_t *o, int f) {
  switch (f) {
  case F_TIME: return o->time_col;
  case F_PROMPT: return o->prompt_col;
  case F_OUTPUT: return o->output_col;
  case F_MODEL: return o->model_col;
  case F_TENANT: return o->tenant_col;
  case F_ORIGIN: return o->origin_col;
  case F_CLASS: return o->class_col;
  case F_SESSION: return o->session_col;
  case F_HASH: return o->hash_col;
  case F_ADAPTER: return o->adapter_col;
  }
  assert(!"bad field");
  return "";
}

static cpn_err_t check_options(const cpn_trace_options_t *o) {
  if (o->format != CPN_TRACE_CSV && o->format != CPN_TRACE_JSONL)
    return cpn_error_set(CPN_EINVAL, "trace options: unknown format %d", (int)o->format);
  if (o->time_kind < CPN_TRACE_TIME_S || o->time_kind > CPN_TRACE_TIME_DATETIME)
    return cpn_error_set(CPN_EINVAL, "trace options: unknown time_kind %d", (int)o->time_kind);
  for (int f = 0; f < F_N; f++) {
    const char *n = mapped_name(o, f);
    if (!memchr(n, '\0', CPN_TRACE_NAME_MAX))
      return cpn_error_set(CPN_EINVAL, "trace options: %s is not NUL-terminated within %d bytes", FIELD_OPTION[f],
                           CPN_TRACE_NAME_MAX);
    if (f <= F_OUTPUT && n[0] == '\0')
      return cpn_error_set(CPN_EINVAL, "trace options: %s is required", FIELD_OPTION[f]);
  }
  if (!(o->time_scale > 0) || !isfinite(o->time_scale))
    return cpn_error_set(CPN_EINVAL, "trace options: time_scale must be a finite number > 0 (got %g)", o->time_scale);
  if (!(o->rate_scale > 0) || !(o->rate_scale <= CPN_TRACE_COPIES_MAX))
    return cpn_error_set(CPN_EINVAL, "trace options: rate_scale must be in (0, %d] (got %g)", CPN_TRACE_COPIES_MAX,
                         o->rate_scale);
  if (!(o->shift_s >= 0) || !isfinite(o->shift_s))
    return cpn_error_set(CPN_EINVAL, "trace options: shift_s must be a finite number >= 0 (got %g)", o->shift_s);
  if (!isfinite(o->start_offset_s))
    return cpn_error_set(CPN_EINVAL, "trace options: start_offset_s must be finite (got %g)", o->start_offset_s);
  return CPN_OK;
}

/* Number of copies and the keep probability of the last one (see cpn_trace_options_t). */
static void copies_for(double r, int *k, double *last_p) {
  double ri = round(r);
  if (fabs(r - ri) <= 1e-9 && ri >= 1) {
    *k = (int)ri;
    *last_p = 1;
  } else if (r < 1) {
    *k = 1;
    *last_p = r;
  } else {
    *k = (int)ceil(r);
    *last_p = r - (*k - 1);
  }
}

/* ---------------------------------------------------------------------------------------------------
 * Datetimes. */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: the era/day-of-era method of
 * H. Hinnant's "chrono-compatible low-level date algorithms" (days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long long)doe - 719468;
}

static int is_leap(long long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i])) return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

int cpn_trace_datetime_ns(const char *s, long long *ns) {
  assert(s && ns);
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const char *p = s;
  int y, mo, d, h, mi, se;
  while (*p == ' ' || *p == '\t') p++;
  if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d)) return -1;
  if (*p != ' ' && *p != 'T') return -1;
  p++;
  if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &se)) return -1;
  long long frac_ns = 0;
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p)) return -1;
    long long scale = 100000000;
    for (; isdigit((unsigned char)*p); p++) { /* digits past the ninth are below the resolution */
      frac_ns += (*p - '0') * scale;
      scale /= 10;
    }
  }
  if (*p == 'Z') p++;
  while (*p == ' ' || *p == '\t') p++;
  if (*p) return -1;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return -1;
  if (d > mdays[mo - 1] + (mo == 2 && is_leap(y))) return -1;
  long long sec = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400LL + h * 3600LL + mi * 60LL + se;
  /* Nanoseconds since 1970 in 64 bits reach from 1677-09-21 to 2262-04-11: refuse what lies beyond
   * rather than overflow. */
  if (sec < LLONG_MIN / 1000000000LL || sec > (LLONG_MAX - frac_ns) / 1000000000LL) return -2;
  *ns = sec * 1000000000LL + frac_ns;
  return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Bad rows. */

/* Formats "FILE:LINE:COL: message" into t->msg and returns -1. col <= 0 omits the column. */
static int bad(cpn_trace_t *t, const reader_t *r, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int bad(cpn_trace_t *t, const reader_t *r, int col, const char *fmt, ...) {
  int n = col > 0 ? snprintf(t->msg, sizeof t->msg, "%s:%ld:%d: ", t->path, r->line, col)
                  : snprintf(t->msg, sizeof t->msg, "%s:%ld: ", t->path, r->line);
  if (n < 0 || (size_t)n >= sizeof t->msg) return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->msg + n, sizeof t->msg - (size_t)n, fmt, ap);
  va_end(ap);
  return -1;
}

static const char *what(const cpn_trace_t *t) { return t->o.format == CPN_TRACE_CSV ? "column" : "key"; }

/* ---------------------------------------------------------------------------------------------------
 * CSV. Fields are split in place: separators become NULs, quoted fields are unquoted ("" -> "), and
 * spaces or tabs around unquoted fields are trimmed. Quoted fields cannot span lines. */

typedef struct {
  char *line, *p;
  int done;
} csv_cursor_t;

/* Returns 1 with the next field and its 1-based column, 0 after the last field, -1 when a quote is not
 * closed and -2 when characters follow a closing quote (*col says where). */
static int csv_field(csv_cursor_t *c, char **field, int *col) {
  if (c->done) return 0;
  char *p = c->p;
  while (*p == ' ' || *p == '\t') p++;
  *col = (int)(p - c->line) + 1;
  if (*p == '"') {
    char *w = p, *rd = p + 1;
    for (;;) {
      if (*rd == '\0') return -1;
      if (*rd == '"') {
        if (rd[1] == '"') {
          *w++ = '"';
          rd += 2;
          continue;
        }
        rd++;
        break;
      }
      *w++ = *rd++;
    }
    while (*rd == ' ' || *rd == '\t') rd++;
    if (*rd == ',') {
      c->p = rd + 1;
    } else if (*rd == '\0') {
      c->done = 1;
    } else {
      *col = (int)(rd - c->line) + 1;
      return -2;
    }
    *w = '\0';
    *field = p;
    return 1;
  }
  char *e = strchr(p, ',');
  if (e) {
    *e = '\0';
    c->p = e + 1;
  } else {
    e = p + strlen(p);
    c->done = 1;
  }
  while (e > p && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
  *field = p;
  return 1;
}

static int csv_row(cpn_trace_t *t, reader_t *r, char *line, value_t v[F_N]) {
  csv_cursor_t c = {line, line, 0};
  char *field;
  int col = 0, i = 0, rc;
  while ((rc = csv_field(&c, &field, &col)) == 1) {
    if (i >= r->csv_ncols)
      return bad(t, r, col, "more fields than the %d columns of the header", r->csv_ncols);
    for (int f = 0; f < F_N; f++)
      if (r->csv_index[f] == i) v[f] = (value_t){.present = 1, .type = V_TEXT, .s = field, .len = strlen(field), .col = col};
    i++;
  }
  if (rc == -1) return bad(t, r, col, "quoted field is not closed (quoted fields cannot span lines)");
  if (rc == -2) return bad(t, r, col, "unexpected character after a closing quote");
  if (i < r->csv_ncols) {
    int end = (int)strlen(line) + 1;
    for (int f = 0; f < F_N; f++)
      if (r->csv_index[f] >= i)
        return bad(t, r, end, "missing field: %s '%s' (header column %d) absent, the row has %d of %d fields",
                   what(t), mapped_name(&t->o, f), r->csv_index[f] + 1, i, r->csv_ncols);
    return bad(t, r, end, "the row has %d fields, the header has %d", i, r->csv_ncols);
  }
  return 0;
}

/* Reads one line into buf like fgets (at most cap - 1 bytes, the '\n' kept, NUL-terminated), and also
 * returns its length and the offset of its first NUL byte (-1 if none), which fgets hides: a line of
 * NULs would look blank, and one with a NUL inside would look shorter than it is. Returns -1 at end of
 * file or on a read error, with nothing read. */
static long read_line(FILE *f, char *buf, size_t cap, long *nul_at) {
  size_t n = 0;
  int c;
  *nul_at = -1;
  while (n + 1 < cap && (c = getc_unlocked(f)) != EOF) {
    if (c == '\0' && *nul_at < 0) *nul_at = (long)n;
    buf[n++] = (char)c;
    if (c == '\n') break;
  }
  buf[n] = '\0';
  return n == 0 ? -1 : (long)n;
}

/* Reads the header line and finds the mapped columns. Returns a cpn_err_t with the message set. */
static cpn_err_t csv_header(cpn_trace_t *t, reader_t *r) {
  long nul_at;
  long got = read_line(r->f, r->buf, CPN_TRACE_LINE_MAX, &nul_at);
  if (got < 0) {
    if (ferror(r->f)) return cpn_error_set(CPN_EIO, "%s: read error: %s", t->path, strerror(errno));
    return cpn_error_set(CPN_EINVAL, "%s: empty file, expected a header line naming the columns", t->path);
  }
  r->line = 1;
  if (nul_at >= 0)
    return cpn_error_set(CPN_EINVAL, "%s:1:%ld: header line contains a NUL byte (a UTF-16 or binary file?)", t->path,
                         nul_at + 1);
  char *line = r->buf;
  size_t len = (size_t)got;
  if (len == CPN_TRACE_LINE_MAX - 1 && line[len - 1] != '\n')
    return cpn_error_set(CPN_EINVAL, "%s:1: header line longer than %d bytes", t->path, CPN_TRACE_LINE_MAX - 1);
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
  if (memcmp(line, "\xEF\xBB\xBF", 3) == 0) line += 3; /* UTF-8 byte order mark */
  for (int f = 0; f < F_N; f++) r->csv_index[f] = -1;
  /* The header's names, for the message when a column is missing. */
  char names[512] = "";
  size_t names_len = 0;
  csv_cursor_t c = {line, line, 0};
  char *field;
  int col = 0, i = 0, rc;
  while ((rc = csv_field(&c, &field, &col)) == 1) {
    for (int f = 0; f < F_N; f++) {
      const char *want = mapped_name(&t->o, f);
      if (want[0] && strcmp(field, want) == 0) {
        if (r->csv_index[f] >= 0)
          return cpn_error_set(CPN_EINVAL, "%s:1:%d: column '%s' (%s) appears twice in the header (columns %d and %d)",
                               t->path, col, want, FIELD_OPTION[f], r->csv_index[f] + 1, i + 1);
        r->csv_index[f] = i;
      }
    }
    if (names_len < sizeof names - 1) {
      int n = snprintf(names + names_len, sizeof names - names_len, "%s'%s'", i ? ", " : "", field);
      if (n > 0) names_len += (size_t)n;
      if (names_len >= sizeof names) names_len = sizeof names - 1;
    }
    i++;
  }
  if (rc < 0) return cpn_error_set(CPN_EINVAL, "%s:1:%d: malformed quoting in the header", t->path, col);
  r->csv_ncols = i;
  for (int f = 0; f < F_N; f++) {
    const char *want = mapped_name(&t->o, f);
    if (want[0] && r->csv_index[f] < 0)
      return cpn_error_set(CPN_EINVAL, "%s:1: column '%s' (%s) is not in the header; the header has %s", t->path, want,
                           FIELD_OPTION[f], names);
  }
  return CPN_OK;
}

/* ---------------------------------------------------------------------------------------------------
 * JSON Lines: one flat object per line. Values may be strings, numbers, true/false/null; nested
 * objects and arrays are skipped (an error only when a mapped key holds one). Strings are decoded in
 * place (escapes, \uXXXX to UTF-8); the decoded text never outruns the raw text, so spans already
 * recorded stay valid. */

static void skip_ws(char **p) {
  while (**p == ' ' || **p == '\t') (*p)++;
}

static int put_utf8(char **w, unsigned cp) {
  unsigned char *o = (unsigned char *)*w;
  if (cp < 0x80) {
    *o++ = (unsigned char)cp;
  } else if (cp < 0x800) {
    *o++ = (unsigned char)(0xC0 | cp >> 6);
    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (unsigned char)(0xE0 | cp >> 12);
    *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (unsigned char)(0xF0 | cp >> 18);
    *o++ = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
  }
  *w = (char *)o;
  return 0;
}

static int hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int c = (unsigned char)p[i], d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    v = v * 16 + (unsigned)d;
  }
  *out = v;
  return 0;
}

/* *p at the opening quote. Decodes in place; on success *out and *len are the text (NUL-terminated) and *p
 * is past the closing quote. On failure returns -1 and *p points at the problem. */
static int json_string(char **p, char **out, size_t *len, const char **problem) {
  char *w = *p, *rd = *p + 1;
  for (;;) {
    char c = *rd;
    if (c == '\0') {
      *problem = "string is not closed";
      return -1;
    }
    if (c == '"') break;
    if (c != '\\') {
      *w++ = *rd++;
      continue;
    }
    char e = rd[1];
    unsigned cp;
    switch (e) {
    case '"': case '\\': case '/': *w++ = e; rd += 2; break;
    case 'b': *w++ = '\b'; rd += 2; break;
    case 'f': *w++ = '\f'; rd += 2; break;
    case 'n': *w++ = '\n'; rd += 2; break;
    case 'r': *w++ = '\r'; rd += 2; break;
    case 't': *w++ = '\t'; rd += 2; break;
    case 'u':
      if (hex4(rd + 2, &cp)) {
        *p = rd;
        *problem = "bad \\u escape";
        return -1;
      }
      rd += 6;
      if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair encodes one code point above U+FFFF */
        unsigned lo;
        if (rd[0] != '\\' || rd[1] != 'u' || hex4(rd + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
          *p = rd;
          *problem = "unpaired UTF-16 surrogate in \\u escape";
          return -1;
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        rd += 6;
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        *p = rd - 6;
        *problem = "unpaired UTF-16 surrogate in \\u escape";
        return -1;
      }
      put_utf8(&w, cp);
      break;
    default:
      *p = rd;
      *problem = "unknown escape in string";
      return -1;
    }
  }
  *w = '\0';
  *out = *p;
  *len = (size_t)(w - *p);
  *p = rd + 1;
  return 0;
}

/* Skips a nested object or array, *p at its opening bracket. */
static int json_skip_nested(char **p) {
  int depth = 0;
  char *q = *p;
  do {
    char c = *q;
    if (c == '\0') return -1;
    if (c == '"') {
      for (q++; *q != '"'; q++) {
        if (*q == '\0') return -1;
        if (*q == '\\' && q[1]) q++;
      }
    } else if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      depth--;
    }
    q++;
  } while (depth > 0);
  *p = q;
  return 0;
}

static int json_row(cpn_trace_t *t, reader_t *r, char *line, value_t v[F_N]) {
  char *p = line;
#define COL(q) ((int)((q) - line) + 1)
  skip_ws(&p);
  if (*p != '{') return bad(t, r, COL(p), "expected '{' (one JSON object per line)");
  p++;
  skip_ws(&p);
  if (*p == '}') {
    p++;
  } else {
    for (;;) {
      skip_ws(&p);
      if (*p != '"') return bad(t, r, COL(p), "expected a key in double quotes");
      char *key;
      size_t key_len;
      const char *problem;
      char *at = p;
      if (json_string(&at, &key, &key_len, &problem)) return bad(t, r, COL(at), "%s", problem);
      p = at;
      skip_ws(&p);
      if (*p != ':') return bad(t, r, COL(p), "expected ':' after key '%s'", key);
      p++;
      skip_ws(&p);
      value_t val = {.present = 1, .col = COL(p), .s = p};
      if (*p == '"') {
        char *s;
        at = p;
        if (json_string(&at, &s, &val.len, &problem)) return bad(t, r, COL(at), "%s", problem);
        val.type = V_TEXT;
        val.s = s;
        p = at;
      } else if (*p == '-' || isdigit((unsigned char)*p)) {
        char *e;
        val.num = strtod(p, &e);
        val.type = V_NUMBER;
        val.len = (size_t)(e - p);
        p = e;
      } else if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        val.type = V_LITERAL;
        val.len = *p == 't' ? 4 : 5;
        p += val.len;
      } else if (strncmp(p, "null", 4) == 0) {
        val.type = V_NULL;
        val.len = 4;
        p += 4;
      } else if (*p == '{' || *p == '[') {
        if (json_skip_nested(&p)) return bad(t, r, val.col, "nested value is not closed");
        val.type = V_NESTED;
        val.len = (size_t)(p - val.s);
      } else {
        return bad(t, r, COL(p), "expected a value after key '%s'", key);
      }
      for (int f = 0; f < F_N; f++) {
        const char *want = mapped_name(&t->o, f);
        if (want[0] && strcmp(key, want) == 0) v[f] = val; /* a repeated key: the last one wins */
      }
      skip_ws(&p);
      if (*p == ',') {
        p++;
        continue;
      }
      if (*p == '}') {
        p++;
        break;
      }
      return bad(t, r, COL(p), "expected ',' or '}' after the value of key '%s'", key);
    }
  }
  skip_ws(&p);
  if (*p) return bad(t, r, COL(p), "unexpected text after the object");
  for (int f = 0; f <= F_OUTPUT; f++)
    if (!v[f].present) return bad(t, r, 1, "key '%s' (%s) is missing", mapped_name(&t->o, f), FIELD_OPTION[f]);
  return 0;
#undef COL
}

/* ---------------------------------------------------------------------------------------------------
 * Values. */

/* A numeric value of field f: a CSV field holding only a number, or a JSON number (not a string). */
static int get_number(cpn_trace_t *t, reader_t *r, int f, const value_t *v, double *out) {
  const char *name = mapped_name(&t->o, f);
  if (v->type == V_NUMBER) {
    *out = v->num;
  } else if (v->type == V_TEXT && t->o.format == CPN_TRACE_CSV) {
    if (v->s[0] == '\0') return bad(t, r, v->col, "%s '%s': empty value", what(t), name);
    char *e;
    *out = strtod(v->s, &e);
    if (e == v->s || *e) return bad(t, r, v->col, "%s '%s': not a number: '%.40s'", what(t), name, v->s);
  } else if (v->type == V_TEXT) {
    return bad(t, r, v->col, "%s '%s': expected a number, found the string \"%.40s\"", what(t), name, v->s);
  } else if (v->type == V_NESTED) {
    return bad(t, r, v->col, "%s '%s': expected a number, found an object or array", what(t), name);
  } else {
    return bad(t, r, v->col, "%s '%s': expected a number, found %.*s", what(t), name, (int)v->len, v->s);
  }
  if (!isfinite(*out)) return bad(t, r, v->col, "%s '%s': not a finite number", what(t), name);
  return 0;
}

static int get_tokens(cpn_trace_t *t, reader_t *r, int f, const value_t *v, unsigned *out) {
  double x = 0;
  if (get_number(t, r, f, v, &x)) return -1;
  const char *name = mapped_name(&t->o, f);
  if (x < 0) return bad(t, r, v->col, "%s '%s': negative token count %.17g", what(t), name, x);
  if (x != floor(x)) return bad(t, r, v->col, "%s '%s': token count %.17g is not an integer", what(t), name, x);
  if (x > UINT_MAX) return bad(t, r, v->col, "%s '%s': token count %.17g is too large", what(t), name, x);
  *out = (unsigned)x;
  return 0;
}

static int get_string(cpn_trace_t *t, reader_t *r, int f, const value_t *v, char out[CPN_TRACE_NAME_MAX]) {
  out[0] = '\0';
  if (!v->present || v->type == V_NULL) return 0;
  if (v->type == V_NESTED)
    return bad(t, r, v->col, "%s '%s': expected a string, found an object or array", what(t), mapped_name(&t->o, f));
  if (v->len >= CPN_TRACE_NAME_MAX)
    return bad(t, r, v->col, "%s '%s': value longer than %d bytes", what(t), mapped_name(&t->o, f),
               CPN_TRACE_NAME_MAX - 1);
  memcpy(out, v->s, v->len);
  out[v->len] = '\0';
  return 0;
}

/* The block hashes of field F_HASH: a JSON array of integers, or (CSV) integers separated by spaces or ';'
 * (brackets and commas are also accepted). Absent or null: none. */
static int get_hashes(cpn_trace_t *t, reader_t *r, const value_t *v, cpn_trace_row_t *row) {
  row->n_hashes = 0;
  if (!v->present || v->type == V_NULL) return 0;
  const char *name = mapped_name(&t->o, F_HASH);
  if (v->type != V_NESTED && v->type != V_TEXT)
    return bad(t, r, v->col, "%s '%s': expected a list of block hashes [h1, h2, ...]", what(t), name);
  const char *p = v->s, *end = v->s + v->len;
  if (v->type == V_NESTED && *p != '[')
    return bad(t, r, v->col, "%s '%s': expected a list of block hashes, found an object", what(t), name);
  while (p < end) {
    char c = *p;
    if (c == '[' || c == ']' || c == ',' || c == ';' || c == ' ' || c == '\t') {
      p++;
      continue;
    }
    if (!isdigit((unsigned char)c))
      return bad(t, r, v->col + (int)(p - v->s), "%s '%s': a block hash must be a non-negative integer", what(t), name);
    errno = 0;
    char *e;
    unsigned long long h = strtoull(p, &e, 10);
    if (errno == ERANGE || (e < end && (*e == '.' || *e == 'e' || *e == 'E')))
      return bad(t, r, v->col + (int)(p - v->s), "%s '%s': a block hash must be an integer in [0, 2^64)", what(t), name);
    if (row->n_hashes == CPN_TRACE_HASHES_MAX)
      return bad(t, r, v->col, "%s '%s': more than %d block hashes", what(t), name, CPN_TRACE_HASHES_MAX);
    row->hashes[row->n_hashes++] = (uint64_t)h;
    p = e;
  }
  return 0;
}

/* Trace time tau of the row (seconds); sets *origin_* to commit if the row is kept. */
static int get_time(cpn_trace_t *t, reader_t *r, const value_t *v, double *tau, long long *origin_ns,
                    double *origin_s) {
  const char *name = mapped_name(&t->o, F_TIME);
  if (t->o.time_kind == CPN_TRACE_TIME_DATETIME) {
    long long ns;
    if (v->type != V_TEXT)
      return bad(t, r, v->col, "%s '%s': expected a datetime string \"YYYY-MM-DD HH:MM:SS.fffffff\"", what(t), name);
    int rc = cpn_trace_datetime_ns(v->s, &ns);
    if (rc == -2)
      return bad(t, r, v->col, "%s '%s': datetime '%.40s' is out of range: datetimes must lie between %s and %s",
                 what(t), name, v->s, "1677-09-21 00:12:44", "2262-04-11 23:47:16");
    if (rc)
      return bad(t, r, v->col, "%s '%s': not a datetime \"YYYY-MM-DD HH:MM:SS.fffffff\": '%.40s'", what(t), name, v->s);
    *origin_ns = r->have_origin ? r->origin_ns : ns;
    /* The difference is exact in 64 bits when it fits (spans up to 292 years); the division rounds once. */
    long long diff;
    if (__builtin_sub_overflow(ns, *origin_ns, &diff))
      return bad(t, r, v->col, "%s '%s': datetime '%.40s' is %.0f years from the trace's first row; a trace may span "
                 "at most 292 years", what(t), name, v->s,
                 fabs((double)ns - (double)*origin_ns) / (365.2425 * 86400e9));
    *tau = (double)diff / 1e9;
    return 0;
  }
  double x = 0;
  if (get_number(t, r, F_TIME, v, &x)) return -1;
  if (t->o.time_kind == CPN_TRACE_TIME_MS) x /= 1e3;
  else if (t->o.time_kind == CPN_TRACE_TIME_US) x /= 1e6;
  if (t->o.rebase_time) {
    *origin_s = r->have_origin ? r->origin_s : x;
    x -= *origin_s;
  }
  *tau = x;
  return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Thinning: a keep decision per (seed, copy, pass, line), from the SplitMix64 finalizer (Steele, Lea and
 * Flood 2014), so that it is independent of read order. */

static uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static int keep_row(const cpn_trace_t *t, const reader_t *r) {
  if (r->keep_p >= 1) return 1;
  uint64_t h = mix64(mix64(mix64(mix64((uint64_t)t->o.seed) ^ (uint64_t)r->copy) ^ (uint64_t)r->pass) ^ (uint64_t)r->line);
  return (double)(h >> 11) * 0x1p-53 < r->keep_p;
}

/* ---------------------------------------------------------------------------------------------------
 * Reading one copy. */

/* A bad line: in stop mode it is the error; in skip mode it is counted (once per line of the file) and
 * reading goes on. Returns -1 to stop, 0 to continue. */
static int on_bad(cpn_trace_t *t, const reader_t *r) {
  if (!t->o.skip_errors) return -1;
  if (r->copy == 0 && r->pass == 0) {
    if (t->st.bad_lines == 0) snprintf(t->first_skip, sizeof t->first_skip, "%s", t->msg);
    t->st.bad_lines++;
  }
  return 0;
}

/* End of file of copy r: finish the pass; with loop, rewind for the next. Returns 1 to go on reading, 0
 * at the end, -1 on error (message in t->msg). */
static int end_of_pass(cpn_trace_t *t, reader_t *r) {
  if (r->copy == 0) t->st.passes_done++;
  if (!t->o.loop) return 0;
  if (r->pass == 0) {
    double span = r->pass0_last_tau - r->pass0_first_tau;
    if (r->pass0_rows < 2 || !(span > 0)) {
      snprintf(t->msg, sizeof t->msg,
               "%s: cannot loop: the trace has %ld valid row(s) at or after start_offset_s = %g spanning %g s; "
               "looping needs at least 2 rows and a positive span", t->path, r->pass0_rows, t->o.start_offset_s,
               r->pass0_rows ? span : 0.0);
      return -1;
    }
    r->period = span * (double)r->pass0_rows / (double)(r->pass0_rows - 1);
    if (r->copy == 0) t->st.period_s = r->period * t->o.time_scale;
  }
  if (r->pass == INT_MAX) return 0;
  r->pass++;
  r->have_prev = 0;
  r->line = r->header_lines;
  if (fseeko(r->f, r->data_start, SEEK_SET) != 0) {
    t->fail_code = CPN_EIO;
    snprintf(t->msg, sizeof t->msg, "%s: cannot rewind for the next loop pass: %s", t->path, strerror(errno));
    return -1;
  }
  return 1;
}

/* Reads copy r up to its next kept row (r->row). Returns 1, 0 at the end, -1 on error (t->msg). */
static int read_row(cpn_trace_t *t, reader_t *r) {
  for (;;) {
    long nul_at;
    long got = read_line(r->f, r->buf, CPN_TRACE_LINE_MAX, &nul_at);
    if (got < 0) {
      if (ferror(r->f)) {
        t->fail_code = CPN_EIO;
        snprintf(t->msg, sizeof t->msg, "%s:%ld: read error: %s", t->path, r->line + 1, strerror(errno));
        return -1;
      }
      int rc = end_of_pass(t, r);
      if (rc <= 0) return rc;
      continue;
    }
    r->line++;
    char *line = r->buf;
    size_t len = (size_t)got;
    if (len == CPN_TRACE_LINE_MAX - 1 && line[len - 1] != '\n' && !feof(r->f)) {
      /* Drain the rest of the overlong line so that the next read starts on the next line. */
      int c;
      while ((c = fgetc(r->f)) != EOF && c != '\n') {}
      bad(t, r, CPN_TRACE_LINE_MAX, "line longer than %d bytes", CPN_TRACE_LINE_MAX - 1);
      if (on_bad(t, r)) return -1;
      continue;
    }
    if (nul_at >= 0) {
      /* Not a blank line, whatever strlen says: a UTF-16 or binary file, or a damaged one. */
      bad(t, r, (int)nul_at + 1, "line contains a NUL byte (a UTF-16 or binary file?)");
      if (on_bad(t, r)) return -1;
      continue;
    }
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    size_t blank = strspn(line, " \t");
    if (line[blank] == '\0') continue;

    value_t v[F_N] = {{0}};
    int rc = t->o.format == CPN_TRACE_CSV ? csv_row(t, r, line, v) : json_row(t, r, line, v);
    double tau = 0, origin_s = 0;
    long long origin_ns = 0;
    cpn_trace_row_t *row = &r->row;
    if (rc == 0) rc = get_time(t, r, &v[F_TIME], &tau, &origin_ns, &origin_s);
    if (rc == 0) rc = get_tokens(t, r, F_PROMPT, &v[F_PROMPT], &row->prompt_tokens);
    if (rc == 0) rc = get_tokens(t, r, F_OUTPUT, &v[F_OUTPUT], &row->output_tokens);
    if (rc == 0) rc = get_string(t, r, F_MODEL, &v[F_MODEL], row->model);
    if (rc == 0) rc = get_string(t, r, F_TENANT, &v[F_TENANT], row->tenant);
    if (rc == 0) rc = get_string(t, r, F_ORIGIN, &v[F_ORIGIN], row->origin);
    if (rc == 0) rc = get_string(t, r, F_CLASS, &v[F_CLASS], row->cls);
    if (rc == 0) rc = get_string(t, r, F_SESSION, &v[F_SESSION], row->session);
    if (rc == 0) rc = get_hashes(t, r, &v[F_HASH], row);
    if (rc == 0) rc = get_string(t, r, F_ADAPTER, &v[F_ADAPTER], row->adapter);
    if (rc == 0 && r->have_prev && tau < r->prev_tau)
      rc = bad(t, r, v[F_TIME].col, "%s '%s': time goes backwards: %.9g s, the previous row was at %.9g s", what(t),
               mapped_name(&t->o, F_TIME), tau, r->prev_tau);
    if (rc != 0) {
      if (on_bad(t, r)) return -1;
      continue;
    }

    /* A valid row. */
    if (!r->have_origin) {
      r->have_origin = 1;
      r->origin_ns = origin_ns;
      r->origin_s = origin_s;
    }
    r->have_prev = 1;
    r->prev_tau = tau;
    if (r->copy == 0 && r->pass == 0) t->st.rows_valid++;
    if (tau < t->o.start_offset_s) {
      if (r->copy == 0 && r->pass == 0) t->st.rows_before_start++;
      continue;
    }
    if (r->pass == 0) {
      if (r->pass0_rows == 0) r->pass0_first_tau = tau;
      r->pass0_last_tau = tau;
      r->pass0_rows++;
    }
    if (!keep_row(t, r)) {
      t->st.rows_thinned++;
      continue;
    }
    row->t_s = (tau - t->o.start_offset_s + r->pass * r->period) * t->o.time_scale + r->copy * t->o.shift_s;
    row->line = r->line;
    row->copy = r->copy;
    row->pass = r->pass;
    return 1;
  }
}

/* ---------------------------------------------------------------------------------------------------
 * Merging the copies: a binary min-heap on (t_s, copy). */

static int before(const cpn_trace_t *t, int a, int b) {
  double ta = t->r[a].row.t_s, tb = t->r[b].row.t_s;
  return ta < tb || (ta == tb && a < b);
}

static void heap_push(cpn_trace_t *t, int c) {
  int i = t->nheap++;
  t->heap[i] = c;
  while (i > 0) {
    int parent = (i - 1) / 2;
    if (!before(t, t->heap[i], t->heap[parent])) break;
    int tmp = t->heap[i];
    t->heap[i] = t->heap[parent];
    t->heap[parent] = tmp;
    i = parent;
  }
}

static int heap_pop(cpn_trace_t *t) {
  assert(t->nheap > 0);
  int top = t->heap[0];
  t->heap[0] = t->heap[--t->nheap];
  int i = 0;
  for (;;) {
    int l = 2 * i + 1, m = i;
    if (l < t->nheap && before(t, t->heap[l], t->heap[m])) m = l;
    if (l + 1 < t->nheap && before(t, t->heap[l + 1], t->heap[m])) m = l + 1;
    if (m == i) break;
    int tmp = t->heap[i];
    t->heap[i] = t->heap[m];
    t->heap[m] = tmp;
    i = m;
  }
  return top;
}

/* ---------------------------------------------------------------------------------------------------
 * Public API. */

cpn_err_t cpn_trace_open(cpn_trace_t **out, const char *path, const cpn_trace_options_t *o) {
  assert(out && path && o);
  cpn_err_t err = check_options(o);
  if (err) return err;
  int k;
  double last_p;
  copies_for(o->rate_scale, &k, &last_p);
  cpn_trace_t *t = calloc(1, sizeof *t);
  if (!t) return cpn_error_set(CPN_ENOMEM, "%s: out of memory opening the trace", path);
  t->o = *o;
  t->path = malloc(strlen(path) + 1);
  t->r = calloc((size_t)k, sizeof *t->r);
  t->heap = calloc((size_t)k, sizeof *t->heap);
  t->refill = calloc((size_t)k, sizeof *t->refill);
  if (!t->path || !t->r || !t->heap || !t->refill) {
    err = cpn_error_set(CPN_ENOMEM, "%s: out of memory opening the trace", path);
    goto fail;
  }
  strcpy(t->path, path);
  t->ncopies = k;
  for (int c = 0; c < k; c++) {
    reader_t *r = &t->r[c];
    r->copy = c;
    r->keep_p = c == k - 1 ? last_p : 1;
    r->buf = malloc(CPN_TRACE_LINE_MAX);
    if (!r->buf) {
      err = cpn_error_set(CPN_ENOMEM, "%s: out of memory opening the trace", path);
      goto fail;
    }
    r->f = fopen(path, "rb");
    if (!r->f) {
      err = cpn_error_set(CPN_EIO, "%s: cannot open: %s", path, strerror(errno));
      goto fail;
    }
    if (o->format == CPN_TRACE_CSV) {
      if ((err = csv_header(t, r))) goto fail;
      r->header_lines = 1;
    }
    r->data_start = ftello(r->f);
    if (r->data_start < 0) {
      err = cpn_error_set(CPN_EIO, "%s: cannot tell the file position: %s", path, strerror(errno));
      goto fail;
    }
    t->refill[t->nrefill++] = c;
  }
  *out = t;
  return CPN_OK;
fail:
  cpn_trace_close(t);
  return err;
}

/* Why a trace gave no row at all, into t->msg (the counts are those of copy 0's first pass). */
static void explain_empty(cpn_trace_t *t) {
  const cpn_trace_stats_t *s = &t->st;
  if (s->rows_valid == 0 && s->bad_lines == 0)
    snprintf(t->msg, sizeof t->msg, "%s: the trace has no data rows%s", t->path,
             t->o.format == CPN_TRACE_CSV ? " after its header" : "");
  else if (s->rows_valid == 0)
    snprintf(t->msg, sizeof t->msg, "%s: the trace has no valid row: its %ld data row(s) are all bad and were skipped "
             "(first: %.300s)", t->path, s->bad_lines, t->first_skip);
  else if (s->rows_before_start == s->rows_valid)
    snprintf(t->msg, sizeof t->msg, "%s: no row at or after start_offset_s = %g: all %ld valid row(s) are earlier",
             t->path, t->o.start_offset_s, s->rows_valid);
  else
    snprintf(t->msg, sizeof t->msg, "%s: all %ld row(s) were thinned away (rate_scale %g)", t->path,
             s->rows_valid - s->rows_before_start, t->o.rate_scale);
}

int cpn_trace_next(cpn_trace_t *t, cpn_trace_row_t *row) {
  assert(t && row);
  if (t->failed) {
    cpn_error_set(t->fail_code, "%s", t->msg);
    return -1;
  }
  for (int i = 0; i < t->nrefill; i++) {
    int c = t->refill[i];
    int rc = read_row(t, &t->r[c]);
    if (rc < 0) {
      t->failed = 1;
      if (!t->fail_code) t->fail_code = CPN_EINVAL;
      cpn_error_set(t->fail_code, "%s", t->msg);
      return -1;
    }
    if (rc == 1) heap_push(t, c);
  }
  t->nrefill = 0;
  if (t->nheap == 0) {
    if (t->st.rows_returned == 0 && t->o.require_rows) {
      explain_empty(t);
      t->failed = 1;
      t->fail_code = CPN_EINVAL;
      cpn_error_set(t->fail_code, "%s", t->msg);
      return -1;
    }
    return 0;
  }
  int c = heap_pop(t);
  /* The row without the unused part of its hash array (16 KiB that most traces never fill). */
  memcpy(row, &t->r[c].row, offsetof(cpn_trace_row_t, hashes));
  memcpy(row->hashes, t->r[c].row.hashes, (size_t)t->r[c].row.n_hashes * sizeof row->hashes[0]);
  t->refill[t->nrefill++] = c;
  t->st.rows_returned++;
  return 1;
}

long cpn_trace_skipped(const cpn_trace_t *t) { return t->st.bad_lines; }

long cpn_trace_rows_read(const cpn_trace_t *t) { return t->st.rows_returned; }

/* The row last returned goes back on the heap (its copy's refill is undone), so the counts are of rows
 * the caller used, and the next cpn_trace_next returns the same row again. */
void cpn_trace_unread(cpn_trace_t *t) {
  assert(t && !t->failed && t->nrefill > 0 && t->st.rows_returned > 0);
  heap_push(t, t->refill[--t->nrefill]);
  t->st.rows_returned--;
}

const char *cpn_trace_first_skip_message(const cpn_trace_t *t) { return t->first_skip; }

void cpn_trace_stats(const cpn_trace_t *t, cpn_trace_stats_t *s) {
  assert(t && s);
  *s = t->st;
}

void cpn_trace_close(cpn_trace_t *t) {
  if (!t) return;
  if (t->r) {
    for (int c = 0; c < t->ncopies; c++) {
      if (t->r[c].f) fclose(t->r[c].f);
      free(t->r[c].buf);
    }
  }
  free(t->r);
  free(t->heap);
  free(t->refill);
  free(t->path);
  free(t);
}
