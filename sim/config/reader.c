/* reader: the strict YAML reader of sim/config: YAML text -> node tree with input locations, `extends`
 * chains, `--set` overrides, schema-table-driven mapping into plain structs, problem reports with
 * file:line:col, key path and "did you mean", and printing values back as YAML.
 *
 * Pipeline of one load: libyaml parses each file into a small node tree that keeps file:line:column of
 * every key and value; an `extends:` base is loaded first and the child deep-merged over it; `--set`
 * overrides are applied to the merged tree; the caller then maps the tree, section by section, with
 * the table-driven functions below. The same tables check --set paths, list the known keys and print
 * the result, so those cannot drift apart from what is accepted.
 *
 * What it owns: the cpn_reader_t of one load: every tree node on one allocation chain, the interned
 * file names, the list of problems. Nothing of it outlives cpn_reader_destroy().
 * Invariants: reading never stops at the first problem; every problem is recorded with its input
 * location and key path; a problem repeated at the same place with the same text (items made from one
 * shared text, YAML aliases) is recorded once and counted. It knows no section of the scenario. */
#define _XOPEN_SOURCE 700 /* realpath() */
#include "config/reader.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <yaml.h>

#include "core/name_index.h"

#define MAX_MESSAGES 200          /* problems kept; the rest are only counted */
#define MESSAGE_BUDGET 16000      /* cpn_error's buffer is 16384 bytes */
#define MAX_DEPTH 64              /* YAML nesting depth */
#define MAX_MAP_KEYS 10000        /* keys in one mapping (a scenario's largest has a few dozen) */
#define MAX_EXTENDS 16            /* files in one extends chain */
#define MAX_NODES 4000000L        /* tree nodes per load: guards against alias bombs */
#define MAX_FILE_BYTES (64L << 20)
#define MAX_SEGMENTS 32           /* segments in a --set key path */
#define MAX_OWN_KEYS 8            /* keys an extending file does not inherit */

/* ------------------------------------------------------------------------------------------------
 * Growable string. */

static void sb_vprintf(cpn_reader_buf_t *b, const char *fmt, va_list ap)
{
  if (b->oom)
    return;
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return;
  if (b->len + (size_t)n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->len + (size_t)n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  b->len += (size_t)n;
}

void cpn_reader_buf_printf(cpn_reader_buf_t *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  sb_vprintf(b, fmt, ap);
  va_end(ap);
}

/* ------------------------------------------------------------------------------------------------
 * Node tree and reader. */

const char *cpn_reader_intern(cpn_reader_t *c, const char *name)
{
  for (int i = 0; i < c->n_files; i++)
    if (strcmp(c->files[i], name) == 0)
      return c->files[i];
  char **f = realloc(c->files, (size_t)(c->n_files + 1) * sizeof *f);
  if (!f) {
    c->oom = 1;
    return "?";
  }
  c->files = f;
  if (!(f[c->n_files] = strdup(name))) {
    c->oom = 1;
    return "?";
  }
  return f[c->n_files++];
}

static int file_rank(const cpn_reader_t *c, const char *file)
{
  for (int i = 0; i < c->n_files; i++)
    if (c->files[i] == file)
      return i;
  return c->n_files;
}

static void report_v(cpn_reader_t *c, const char *file, int line, int col, const char *path, const char *fmt,
                     va_list ap)
{
  cpn_reader_buf_t b = {0};
  if (line > 0)
    cpn_reader_buf_printf(&b, "%s:%d:%d: ", file, line, col);
  else
    cpn_reader_buf_printf(&b, "%s: ", file);
  if (path && *path)
    cpn_reader_buf_printf(&b, "%s: ", path);
  size_t tail = b.len;
  sb_vprintf(&b, fmt, ap);
  if (b.oom || !b.p) {
    free(b.p);
    c->oom = 1;
    return;
  }
  /* Items that share their text (sites made from topology.site_template, YAML aliases) would report
   * one problem once per item: keep the first and count the others. */
  int rank = file_rank(c, file);
  for (int i = 0; i < c->n_msgs && line > 0; i++) {
    const cpn_reader_msg_t *m = &c->msgs[i];
    if (m->line == line && m->col == col && m->rank == rank && strcmp(m->text + m->tail, b.p + tail) == 0) {
      c->msgs[i].repeats++;
      free(b.p);
      return;
    }
  }
  if (c->n_msgs >= MAX_MESSAGES) {
    free(b.p);
    c->n_dropped++;
    return;
  }
  if (c->n_msgs == c->cap_msgs) {
    int cap = c->cap_msgs ? 2 * c->cap_msgs : 16;
    cpn_reader_msg_t *m = realloc(c->msgs, (size_t)cap * sizeof *m);
    if (!m) {
      free(b.p);
      c->oom = 1;
      return;
    }
    c->msgs = m;
    c->cap_msgs = cap;
  }
  c->msgs[c->n_msgs] = (cpn_reader_msg_t){rank, line, col, c->n_msgs, b.p, tail, 0};
  c->n_msgs++;
}

void cpn_reader_report_at(cpn_reader_t *c, const char *file, int line, int col, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  report_v(c, file, line, col, path, fmt, ap);
  va_end(ap);
}

/* Records a problem located at node `at`, under key path `path`. */
void cpn_reader_report(cpn_reader_t *c, const cpn_reader_node_t *at, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  report_v(c, at->file, at->line, at->col, path, fmt, ap);
  va_end(ap);
}

cpn_reader_node_t *cpn_reader_node_new(cpn_reader_t *c, cpn_reader_kind_t kind, const char *file, int line, int col)
{
  if (c->n_nodes >= MAX_NODES) {
    c->too_big = 1;
    return NULL;
  }
  cpn_reader_node_t *n = calloc(1, sizeof *n);
  if (!n) {
    c->oom = 1;
    return NULL;
  }
  n->kind = kind;
  n->file = file;
  n->line = line;
  n->col = col;
  n->chain = c->nodes;
  c->nodes = n;
  c->n_nodes++;
  return n;
}

cpn_reader_node_t *cpn_reader_scalar_new(cpn_reader_t *c, const char *text, size_t len, int plain, const char *file,
                                         int line, int col)
{
  cpn_reader_node_t *n = cpn_reader_node_new(c, CPN_READER_SCALAR, file, line, col);
  if (!n)
    return NULL;
  if (!(n->str = malloc(len + 1))) {
    c->oom = 1;
    return NULL;
  }
  memcpy(n->str, text, len);
  n->str[len] = '\0';
  n->plain = plain;
  return n;
}

/* Appends a pair (maps) or an item (sequences, key NULL). Returns 0, or -1 when out of memory. */
int cpn_reader_node_add(cpn_reader_t *c, cpn_reader_node_t *n, cpn_reader_node_t *key, cpn_reader_node_t *val)
{
  if (n->n == n->cap) {
    int cap = n->cap ? 2 * n->cap : 4;
    cpn_reader_node_t **v = realloc(n->vals, (size_t)cap * sizeof *v);
    if (!v) {
      c->oom = 1;
      return -1;
    }
    n->vals = v;
    if (n->kind == CPN_READER_MAP) {
      cpn_reader_node_t **k = realloc(n->keys, (size_t)cap * sizeof *k);
      if (!k) {
        c->oom = 1;
        return -1;
      }
      n->keys = k;
    }
    n->cap = cap;
  }
  if (n->kind == CPN_READER_MAP)
    n->keys[n->n] = key;
  n->vals[n->n++] = val;
  return 0;
}

void cpn_reader_node_remove(cpn_reader_node_t *n, int i)
{
  if (n->kind == CPN_READER_MAP)
    memmove(n->keys + i, n->keys + i + 1, (size_t)(n->n - i - 1) * sizeof *n->keys);
  memmove(n->vals + i, n->vals + i + 1, (size_t)(n->n - i - 1) * sizeof *n->vals);
  n->n--;
}

int cpn_reader_map_index(const cpn_reader_node_t *m, const char *key)
{
  if (!m || m->kind != CPN_READER_MAP)
    return -1;
  for (int i = 0; i < m->n; i++)
    if (strcmp(m->keys[i]->str, key) == 0)
      return i;
  return -1;
}

cpn_reader_node_t *cpn_reader_map_get(const cpn_reader_node_t *m, const char *key)
{
  int i = cpn_reader_map_index(m, key);
  return i < 0 ? NULL : m->vals[i];
}

const cpn_reader_node_t *cpn_reader_map_key(const cpn_reader_node_t *m, const char *key)
{
  int i = cpn_reader_map_index(m, key);
  return i < 0 ? NULL : m->keys[i];
}

/* Sets key to val in mapping m, adding the key (located at file:line:col) when absent. */
int cpn_reader_map_put(cpn_reader_t *c, cpn_reader_node_t *m, const char *key, const char *file, int line, int col,
                       cpn_reader_node_t *val)
{
  int i = cpn_reader_map_index(m, key);
  if (i >= 0) {
    m->vals[i] = val;
    return 0;
  }
  cpn_reader_node_t *k = cpn_reader_scalar_new(c, key, strlen(key), 1, file, line, col);
  return k ? cpn_reader_node_add(c, m, k, val) : -1;
}

void cpn_reader_init(cpn_reader_t *c)
{
  memset(c, 0, sizeof *c);
  c->set_file = "--set"; /* interned by cpn_reader_load(), after the files */
}

void cpn_reader_destroy(cpn_reader_t *c)
{
  for (cpn_reader_node_t *n = c->nodes, *next; n; n = next) {
    next = n->chain;
    free(n->str);
    free(n->keys);
    free(n->vals);
    free(n);
  }
  for (int i = 0; i < c->n_files; i++)
    free(c->files[i]);
  free(c->files);
  for (int i = 0; i < c->n_msgs; i++)
    free(c->msgs[i].text);
  free(c->msgs);
  memset(c, 0, sizeof *c);
}

/* A plain empty scalar, `~` or `null`: a key written with no value. */
int cpn_reader_is_null(const cpn_reader_node_t *v)
{
  return v->kind == CPN_READER_SCALAR && v->plain &&
         (v->str[0] == '\0' || strcmp(v->str, "~") == 0 || strcasecmp(v->str, "null") == 0);
}

/* What a value looks like, for "expected X, got Y" messages. */
const char *cpn_reader_show(const cpn_reader_node_t *v, char *buf, size_t size)
{
  if (v->kind == CPN_READER_MAP)
    return "a mapping";
  if (v->kind == CPN_READER_SEQ)
    return "a list";
  if (cpn_reader_is_null(v))
    return "nothing";
  size_t len = strlen(v->str);
  size_t k = 0;
  buf[k++] = '\'';
  for (size_t i = 0; i < len && k + 5 < size; i++)
    buf[k++] = (unsigned char)v->str[i] < 0x20 ? '?' : v->str[i];
  if (k + 5 >= size && len > 0) {
    memcpy(buf + k - 3, "...", 3);
  }
  buf[k++] = '\'';
  buf[k] = '\0';
  return buf;
}

/* Formats a key path into a CPN_PATH_LEN buffer; paths only appear in messages, so truncation is fine. */
void cpn_reader_pathf(char *out, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out, CPN_PATH_LEN, fmt, ap);
  va_end(ap);
}

void cpn_reader_join(char *out, const char *path, const char *key)
{
  if (path && *path)
    cpn_reader_pathf(out, "%s.%s", path, key);
  else
    cpn_reader_pathf(out, "%s", key);
}

void cpn_reader_join_index(char *out, const char *path, int i)
{
  cpn_reader_pathf(out, "%s[%d]", path, i);
}

/* Levenshtein distance, for "did you mean" suggestions; large for long strings. */
static int edit_distance(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  if (la > 127 || lb > 127)
    return 1000;
  int row[128];
  for (size_t j = 0; j <= lb; j++)
    row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* Keeps the nearest candidate within distance 2; call for each candidate, then read *best. A
 * candidate that shares nothing with a short word ("EU" -> "s1") is no suggestion. */
void cpn_reader_suggest(const char *word, const char *cand, const char **best, int *best_d)
{
  int d = edit_distance(word, cand);
  if (d <= 2 && d < *best_d && (size_t)d < strlen(word) && (size_t)d < strlen(cand)) {
    *best = cand;
    *best_d = d;
  }
}

/* ------------------------------------------------------------------------------------------------
 * YAML text -> node tree. */

typedef struct {
  const char *key;
  int i;
} key_at_t;

static int key_at_cmp(const void *a, const void *b)
{
  const key_at_t *x = a, *y = b;
  int d = strcmp(x->key, y->key);
  return d ? d : (x->i > y->i) - (x->i < y->i);
}

/* For each of the n pairs, the index of the first pair with the same (scalar) key: itself when the key is
 * new. Sorting makes this O(n log n); a linear search per key was quadratic (300,000 keys: minutes).
 * Returns a malloc'd array, or NULL when out of memory (or n == 0). */
static int *dup_keys(yaml_document_t *doc, const yaml_node_pair_t *pairs, int n)
{
  if (n <= 0)
    return NULL;
  int *first = malloc((size_t)n * sizeof *first);
  key_at_t *k = malloc((size_t)n * sizeof *k);
  if (!first || !k) {
    free(first);
    free(k);
    return NULL;
  }
  int m = 0;
  for (int i = 0; i < n; i++) {
    first[i] = i;
    const yaml_node_t *yk = yaml_document_get_node(doc, pairs[i].key);
    if (yk && yk->type == YAML_SCALAR_NODE)
      k[m++] = (key_at_t){(const char *)yk->data.scalar.value, i};
  }
  qsort(k, (size_t)m, sizeof *k, key_at_cmp);
  for (int j = 1; j < m; j++)
    if (strcmp(k[j].key, k[j - 1].key) == 0)
      first[k[j].i] = first[k[j - 1].i];
  free(k);
  return first;
}

static cpn_reader_node_t *convert(cpn_reader_t *c, yaml_document_t *doc, yaml_node_t *yn, const char *file, int line0,
                                  int col0, const char *path, int depth)
{
  int line = (int)yn->start_mark.line + 1 + line0;
  int col = (int)yn->start_mark.column + 1 + col0;
  if (depth > MAX_DEPTH) {
    cpn_reader_report_at(c, file, line, col, path, "nesting deeper than %d levels", MAX_DEPTH);
    return NULL;
  }
  if (yn->type == YAML_SCALAR_NODE)
    return cpn_reader_scalar_new(c, (const char *)yn->data.scalar.value, yn->data.scalar.length,
                                 yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE, file, line, col);
  if (yn->type == YAML_SEQUENCE_NODE) {
    cpn_reader_node_t *n = cpn_reader_node_new(c, CPN_READER_SEQ, file, line, col);
    if (!n)
      return NULL;
    int i = 0;
    for (yaml_node_item_t *it = yn->data.sequence.items.start; it < yn->data.sequence.items.top; it++, i++) {
      char sub[CPN_PATH_LEN];
      cpn_reader_join_index(sub, path, i);
      cpn_reader_node_t *v = convert(c, doc, yaml_document_get_node(doc, *it), file, line0, col0, sub, depth + 1);
      if (!v || cpn_reader_node_add(c, n, NULL, v))
        return NULL;
    }
    return n;
  }
  if (yn->type == YAML_MAPPING_NODE) {
    cpn_reader_node_t *n = cpn_reader_node_new(c, CPN_READER_MAP, file, line, col);
    if (!n)
      return NULL;
    yaml_node_pair_t *pairs = yn->data.mapping.pairs.start;
    int n_pairs = (int)(yn->data.mapping.pairs.top - pairs);
    int *first_of = dup_keys(doc, pairs, n_pairs); /* the first pair with the same key, per pair */
    if (!first_of && n_pairs > 0) {
      c->oom = 1;
      return NULL;
    }
    for (int i = 0; i < n_pairs; i++) {
      yaml_node_t *yk = yaml_document_get_node(doc, pairs[i].key);
      yaml_node_t *yv = yaml_document_get_node(doc, pairs[i].value);
      if (yk->type != YAML_SCALAR_NODE) {
        cpn_reader_report_at(c, file, (int)yk->start_mark.line + 1 + line0, (int)yk->start_mark.column + 1 + col0, path,
                             "keys must be plain words, not %s",
                             yk->type == YAML_MAPPING_NODE ? "a mapping" : "a list");
        continue;
      }
      cpn_reader_node_t *k = convert(c, doc, yk, file, line0, col0, path, depth + 1);
      if (!k) {
        free(first_of);
        return NULL;
      }
      char sub[CPN_PATH_LEN];
      cpn_reader_join(sub, path, k->str);
      if (first_of[i] != i) {
        const yaml_node_t *f = yaml_document_get_node(doc, pairs[first_of[i]].key);
        cpn_reader_report(c, k, sub, "duplicate key '%s' (first at line %d, column %d)", k->str,
                          (int)f->start_mark.line + 1 + line0, (int)f->start_mark.column + 1 + col0);
        continue;
      }
      cpn_reader_node_t *v = convert(c, doc, yv, file, line0, col0, sub, depth + 1);
      if (!v || cpn_reader_node_add(c, n, k, v)) {
        free(first_of);
        return NULL;
      }
    }
    free(first_of);
    return n;
  }
  return cpn_reader_scalar_new(c, "", 0, 1, file, line, col);
}

static void syntax_error(cpn_reader_t *c, const yaml_parser_t *p, const char *text, size_t len, const char *file,
                         int line0, int col0, const char *path, int one_line)
{
  int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
  if (p->error == YAML_READER_ERROR) { /* bad encoding: only a byte offset is known */
    line = 1;
    col = 1;
    for (size_t i = 0; i < p->problem_offset && i < len; i++) {
      if (text[i] == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
  }
  if (one_line && line > 1) { /* a --set value is one line; libyaml puts "end of input" on the next */
    line = 1;
    col = (int)len + 1;
  }
  const char *problem = p->problem ? p->problem : "cannot parse";
  if (p->context)
    cpn_reader_report_at(c, file, line + line0, col + col0, path,
                         "YAML syntax error: %s (%s that started at line %d, column %d)", problem, p->context,
                         (int)p->context_mark.line + 1 + line0, (int)p->context_mark.column + 1 + col0);
  else
    cpn_reader_report_at(c, file, line + line0, col + col0, path, "YAML syntax error: %s", problem);
}

/* Reads the event stream once before the document is built, so that the limits hold as the YAML is
 * read: libyaml's loader would otherwise build the whole tree first, and it slows down quadratically
 * with the nesting (a document of 10^6 '[' never finished). Refuses a UTF-16 text (libyaml would decode
 * it, but the scenario text kept in the result file is the raw bytes), a node nested deeper than
 * MAX_DEPTH and a mapping with more than MAX_MAP_KEYS keys, each at its place. Returns 0 when within
 * the limits or when the text has a syntax error (parse_yaml reports it), -1 after reporting. */
static int check_stream(cpn_reader_t *c, const char *text, size_t len, const char *file, int line0, int col0,
                        const char *path)
{
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) {
    c->oom = 1;
    return -1;
  }
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  struct {
    int is_map;
    long n_events; /* keys and values of a mapping, so keys = n_events / 2 */
    int line, col;
  } open[MAX_DEPTH + 2];
  int depth = 0, rc = 0, done = 0;
  while (!done && rc == 0) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&p, &ev))
      break; /* a syntax error: reported by parse_yaml with the loader's message */
    int line = (int)ev.start_mark.line + 1 + line0, col = (int)ev.start_mark.column + 1 + col0;
    int node = ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
               ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT;
    if (ev.type == YAML_STREAM_START_EVENT && ev.data.stream_start.encoding != YAML_UTF8_ENCODING &&
        ev.data.stream_start.encoding != YAML_ANY_ENCODING) {
      cpn_reader_report_at(c, file, 1 + line0, 1 + col0, path,
                           "the text is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8");
      rc = -1;
    } else if (node && depth > MAX_DEPTH) {
      cpn_reader_report_at(c, file, line, col, path, "nesting deeper than %d levels", MAX_DEPTH);
      rc = -1;
    } else if (node && depth > 0 && open[depth - 1].is_map &&
               ++open[depth - 1].n_events > 2L * MAX_MAP_KEYS) {
      cpn_reader_report_at(c, file, line, col, path,
                           "more than %d keys in one mapping (the mapping starts at line %d, column %d)", MAX_MAP_KEYS,
                           open[depth - 1].line, open[depth - 1].col);
      rc = -1;
    } else if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
      open[depth].is_map = ev.type == YAML_MAPPING_START_EVENT;
      open[depth].n_events = 0;
      open[depth].line = line;
      open[depth].col = col;
      depth++;
    } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
      depth--;
    } else if (ev.type == YAML_STREAM_END_EVENT) {
      done = 1;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&p);
  return rc;
}

/* Parses one YAML document; an empty document is an empty mapping. `one_line`: the text is a --set
 * value. Returns 0, or -1 after reporting. */
static int parse_yaml(cpn_reader_t *c, const char *text, size_t len, const char *file, int line0, int col0,
                      const char *path, int one_line, cpn_reader_node_t **out)
{
  yaml_parser_t p;
  yaml_document_t doc;
  *out = NULL;
  if (check_stream(c, text, len, file, line0, col0, path))
    return -1;
  if (!yaml_parser_initialize(&p)) {
    c->oom = 1;
    return -1;
  }
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  if (!yaml_parser_load(&p, &doc)) {
    syntax_error(c, &p, text, len, file, line0, col0, path, one_line);
    yaml_parser_delete(&p);
    return -1;
  }
  int rc = 0;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (root)
    *out = convert(c, &doc, root, file, line0, col0, path, 0);
  else
    *out = cpn_reader_node_new(c, CPN_READER_MAP, file, line0 + 1, col0 + 1);
  if (!*out)
    rc = -1;
  yaml_document_delete(&doc);
  if (rc == 0) { /* a second document is almost certainly a stray `---` */
    yaml_document_t doc2;
    if (!yaml_parser_load(&p, &doc2)) {
      syntax_error(c, &p, text, len, file, line0, col0, path, one_line);
      rc = -1;
    } else {
      yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
      if (r2) {
        cpn_reader_report_at(c, file, (int)r2->start_mark.line + 1 + line0, (int)r2->start_mark.column + 1 + col0, path,
                             "a second YAML document; a scenario is one document");
        rc = -1;
      }
      yaml_document_delete(&doc2);
    }
  }
  yaml_parser_delete(&p);
  return rc;
}

typedef struct {
  dev_t dev;
  ino_t ino;
} file_id_t;

/* Reads a whole file. `from` is the `extends:` value that named it (NULL for the root file), where an
 * unreadable file is reported. Returns 0, or -1 after reporting. */
static int read_text(cpn_reader_t *c, const char *path, const cpn_reader_node_t *from, char **text, size_t *len,
                     file_id_t *id)
{
  const char *why = NULL;
  FILE *f = fopen(path, "rb");
  struct stat st;
  char *buf = NULL;
  size_t n = 0, cap = 0;
  if (!f) {
    why = strerror(errno);
  } else if (fstat(fileno(f), &st) != 0) {
    why = strerror(errno);
  } else if (S_ISDIR(st.st_mode)) {
    why = "is a directory";
  } else {
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    for (;;) {
      if (n + 4096 + 1 > cap) {
        cap = cap ? 2 * cap : 16384;
        char *p = realloc(buf, cap);
        if (!p) {
          why = "out of memory";
          break;
        }
        buf = p;
      }
      size_t got = fread(buf + n, 1, cap - n - 1, f);
      n += got;
      if (n > (size_t)MAX_FILE_BYTES) {
        why = "larger than 64 MiB";
        break;
      }
      if (got == 0) {
        if (ferror(f))
          why = strerror(errno);
        break;
      }
    }
  }
  if (f)
    fclose(f);
  if (why) {
    free(buf);
    c->io_error = 1;
    if (from)
      cpn_reader_report(c, from, "extends", "cannot read '%s': %s", path, why);
    else
      cpn_reader_report_at(c, path, 0, 0, NULL, "cannot read the scenario: %s", why);
    return -1;
  }
  if (!buf && !(buf = malloc(1))) {
    c->oom = 1;
    return -1;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return 0;
}

/* ------------------------------------------------------------------------------------------------
 * extends: deep merge of a child tree over its base. */

/* A list whose items are all mappings with a scalar `name`: merged item by item. */
static int named_list(const cpn_reader_node_t *s)
{
  if (s->kind != CPN_READER_SEQ)
    return 0;
  for (int i = 0; i < s->n; i++) {
    const cpn_reader_node_t *nm = cpn_reader_map_get(s->vals[i], "name");
    if (s->vals[i]->kind != CPN_READER_MAP || !nm || nm->kind != CPN_READER_SCALAR)
      return 0;
  }
  return 1;
}

static int parse_bool(const cpn_reader_node_t *v, int *out)
{
  if (v->kind != CPN_READER_SCALAR || !v->plain)
    return 0;
  if (strcasecmp(v->str, "true") == 0)
    *out = 1;
  else if (strcasecmp(v->str, "false") == 0)
    *out = 0;
  else
    return 0;
  return 1;
}

static cpn_reader_node_t *merge(cpn_reader_t *c, cpn_reader_node_t *base, cpn_reader_node_t *over, const char *path);

static void merge_named(cpn_reader_t *c, cpn_reader_node_t *base, cpn_reader_node_t *over, const char *path)
{
  for (int i = 0; i < over->n; i++) {
    cpn_reader_node_t *it = over->vals[i];
    const char *name = cpn_reader_map_get(it, "name")->str;
    char sub[CPN_PATH_LEN];
    cpn_reader_pathf(sub, "%s[%s]", path, name);
    int remove = 0, ri = cpn_reader_map_index(it, "remove");
    const cpn_reader_node_t *rv = ri >= 0 ? it->vals[ri] : NULL;
    if (rv) {
      char rp[CPN_PATH_LEN], buf[80];
      cpn_reader_join(rp, sub, "remove");
      if (!parse_bool(rv, &remove))
        cpn_reader_report(c, rv, rp, "boolean expected (true or false), got %s", cpn_reader_show(rv, buf, sizeof buf));
      cpn_reader_node_remove(it, ri);
    }
    int bi = -1;
    for (int j = 0; j < base->n && bi < 0; j++)
      if (strcmp(cpn_reader_map_get(base->vals[j], "name")->str, name) == 0)
        bi = j;
    if (remove) {
      if (bi < 0)
        cpn_reader_report(c, rv, sub, "remove: the base scenario has no item named '%s' in '%s'", name, path);
      else
        cpn_reader_node_remove(base, bi);
    } else if (bi >= 0) {
      base->vals[bi] = merge(c, base->vals[bi], it, sub);
    } else if (cpn_reader_node_add(c, base, NULL, it)) {
      return;
    }
  }
}

/* Merges `over` into `base` and returns the result: mappings merge key by key, lists of named items
 * merge by name, anything else in `over` replaces what `base` had. */
static cpn_reader_node_t *merge(cpn_reader_t *c, cpn_reader_node_t *base, cpn_reader_node_t *over, const char *path)
{
  if (base->kind == CPN_READER_MAP && over->kind == CPN_READER_MAP) {
    for (int i = 0; i < over->n; i++) {
      char sub[CPN_PATH_LEN];
      cpn_reader_join(sub, path, over->keys[i]->str);
      int bi = cpn_reader_map_index(base, over->keys[i]->str);
      if (bi < 0) {
        if (cpn_reader_node_add(c, base, over->keys[i], over->vals[i]))
          return base;
      } else {
        base->vals[bi] = merge(c, base->vals[bi], over->vals[i], sub);
        base->keys[bi] = over->keys[i];
      }
    }
    return base;
  }
  if (base->kind == CPN_READER_SEQ && over->kind == CPN_READER_SEQ && over->n > 0 && named_list(base) &&
      named_list(over)) {
    merge_named(c, base, over, path);
    return base;
  }
  return over;
}

/* Loads `path` and, recursively, the files it extends. `from` is the extends value naming it (NULL for
 * the root). `chain` holds the identities of the files being loaded, to catch cycles. Returns the
 * merged tree, or NULL after reporting (then the caller maps nothing). */
static cpn_reader_node_t *load_tree(cpn_reader_t *c, const char *path, const cpn_reader_node_t *from, file_id_t *chain,
                                    int depth, char **text_out)
{
  char *text;
  size_t len;
  file_id_t id;
  const char *file = cpn_reader_intern(c, path);
  if (read_text(c, file, from, &text, &len, &id))
    return NULL;
  for (int i = 0; i < depth; i++) {
    if (chain[i].dev == id.dev && chain[i].ino == id.ino) {
      cpn_reader_report(c, from, "extends", "'%s' extends itself (through a cycle of extends)", path);
      free(text);
      return NULL;
    }
  }
  chain[depth] = id;
  cpn_reader_node_t *root;
  int rc = parse_yaml(c, text, len, file, 0, 0, "", 0, &root);
  if (text_out)
    *text_out = text;
  else
    free(text);
  if (rc)
    return NULL;
  int ei = cpn_reader_map_index(root, "extends");
  if (ei < 0)
    return root;
  cpn_reader_node_t *ev = root->vals[ei];
  cpn_reader_node_remove(root, ei);
  char buf[80];
  if (ev->kind != CPN_READER_SCALAR || cpn_reader_is_null(ev) || ev->str[0] == '\0') {
    cpn_reader_report(c, ev, "extends", "a file name expected, got %s", cpn_reader_show(ev, buf, sizeof buf));
    return NULL;
  }
  if (depth + 1 >= MAX_EXTENDS) {
    cpn_reader_report(c, ev, "extends", "more than %d files in the extends chain", MAX_EXTENDS);
    return NULL;
  }
  cpn_reader_buf_t bp = {0};
  const char *slash = strrchr(path, '/');
  if (ev->str[0] == '/' || !slash)
    cpn_reader_buf_printf(&bp, "%s", ev->str);
  else
    cpn_reader_buf_printf(&bp, "%.*s/%s", (int)(slash - path), path, ev->str);
  if (bp.oom) {
    free(bp.p);
    c->oom = 1;
    return NULL;
  }
  cpn_reader_node_t *base = load_tree(c, bp.p, ev, chain, depth + 1, NULL);
  free(bp.p);
  if (!base)
    return NULL;
  if (base->kind != CPN_READER_MAP) {
    cpn_reader_report(c, base, "", "the top level must be a mapping of sections, got %s",
                      cpn_reader_show(base, buf, sizeof buf));
    return NULL;
  }
  if (root->kind != CPN_READER_MAP)
    return root;
  /* Own keys are not inherited (a scenario without a name is named after its own file). */
  int had[MAX_OWN_KEYS] = {0}, n_own = 0;
  for (; c->own_keys && c->own_keys[n_own]; n_own++) {
    assert(n_own < MAX_OWN_KEYS);
    had[n_own] = cpn_reader_map_index(root, c->own_keys[n_own]) >= 0;
  }
  cpn_reader_node_t *merged = merge(c, base, root, "");
  for (int k = 0; k < n_own; k++) {
    int i = cpn_reader_map_index(merged, c->own_keys[k]);
    if (!had[k] && i >= 0)
      cpn_reader_node_remove(merged, i);
  }
  return merged;
}

cpn_reader_node_t *cpn_reader_load(cpn_reader_t *c, const char *path, const char *const *own_keys, char **text)
{
  file_id_t chain[MAX_EXTENDS];
  c->own_keys = own_keys;
  cpn_reader_node_t *root = load_tree(c, path, NULL, chain, 0, text);
  /* Interned after the files, so that problems in --set values are listed after the files' own. */
  c->set_file = cpn_reader_intern(c, "--set");
  return root;
}

/* ------------------------------------------------------------------------------------------------
 * Schema tables. */

static int field_index(const cpn_reader_section_t *s, const char *key)
{
  for (int i = 0; i < s->n; i++)
    if (strcmp(s->f[i].key, key) == 0)
      return i;
  return -1;
}

const cpn_reader_field_t *cpn_reader_find_field(const cpn_reader_section_t *s, const char *key)
{
  int i = field_index(s, key);
  return i < 0 ? NULL : &s->f[i];
}

/* Bit of `key` in a presence mask returned by cpn_reader_map_fields(). */
uint64_t cpn_reader_bit(const cpn_reader_section_t *s, const char *key)
{
  int i = field_index(s, key);
  return i < 0 ? 0 : (uint64_t)1 << i;
}

/* ------------------------------------------------------------------------------------------------
 * Scalar conversion with type and range checks. Each returns 1 on success, 0 after reporting. */

int cpn_reader_get_num(cpn_reader_t *c, const cpn_reader_node_t *v, const char *path, double *out)
{
  char buf[80];
  if (v->kind != CPN_READER_SCALAR || cpn_reader_is_null(v)) {
    cpn_reader_report(c, v, path, "number expected, got %s", cpn_reader_show(v, buf, sizeof buf));
    return 0;
  }
  if (!v->plain) {
    cpn_reader_report(c, v, path, "number expected, got the quoted string %s", cpn_reader_show(v, buf, sizeof buf));
    return 0;
  }
  char *end;
  errno = 0;
  double x = strtod(v->str, &end);
  if (end == v->str || *end != '\0' || isnan(x) || (isinf(x) && errno != ERANGE)) {
    cpn_reader_report(c, v, path, "number expected, got %s", cpn_reader_show(v, buf, sizeof buf));
    return 0;
  }
  if (!isfinite(x)) {
    cpn_reader_report(c, v, path, "number too large (got %s)", cpn_reader_show(v, buf, sizeof buf));
    return 0;
  }
  *out = x;
  return 1;
}

static void range_text(const cpn_reader_field_t *f, char *out, size_t size)
{
  int lo = f->rng & CPN_RANGE_LO, hi = f->rng & CPN_RANGE_HI;
  if (lo && hi)
    snprintf(out, size, "in %c%g, %g%c", (f->rng & CPN_RANGE_LO_OPEN) ? '(' : '[', f->lo, f->hi,
             (f->rng & CPN_RANGE_HI_OPEN) ? ')' : ']');
  else if (lo)
    snprintf(out, size, "%s %g", (f->rng & CPN_RANGE_LO_OPEN) ? ">" : ">=", f->lo);
  else if (hi)
    snprintf(out, size, "%s %g", (f->rng & CPN_RANGE_HI_OPEN) ? "<" : "<=", f->hi);
  else
    snprintf(out, size, "a number");
  if (f->rng & CPN_RANGE_ZERO_OK) {
    size_t n = strlen(out);
    snprintf(out + n, size - n, ", or 0 for the catalog default");
  }
}

int cpn_reader_check_range(cpn_reader_t *c, const cpn_reader_node_t *v, const char *path, const cpn_reader_field_t *f,
                           double x)
{
  int ok = 1;
  if ((f->rng & CPN_RANGE_ZERO_OK) && x == 0)
    return 1;
  if (f->rng & CPN_RANGE_LO)
    ok = ok && ((f->rng & CPN_RANGE_LO_OPEN) ? x > f->lo : x >= f->lo);
  if (f->rng & CPN_RANGE_HI)
    ok = ok && ((f->rng & CPN_RANGE_HI_OPEN) ? x < f->hi : x <= f->hi);
  if (!ok) {
    char r[96];
    range_text(f, r, sizeof r);
    cpn_reader_report(c, v, path, "must be %s (got %s)", r, v->str);
  }
  return ok;
}

static int get_integer(cpn_reader_t *c, const cpn_reader_node_t *v, const char *path, const cpn_reader_field_t *f,
                       double max, double *out)
{
  double x;
  char buf[80];
  if (!cpn_reader_get_num(c, v, path, &x))
    return 0;
  if (x != floor(x)) {
    cpn_reader_report(c, v, path, "integer expected, got %s", cpn_reader_show(v, buf, sizeof buf));
    return 0;
  }
  if (!cpn_reader_check_range(c, v, path, f, x))
    return 0;
  if (x > max || x < -max - 1) {
    cpn_reader_report(c, v, path, "must be <= %.0f (got %s)", max, v->str);
    return 0;
  }
  *out = x;
  return 1;
}

static int get_ulong(cpn_reader_t *c, const cpn_reader_node_t *v, const char *path, unsigned long *out)
{
  char buf[80];
  const char *s = v->kind == CPN_READER_SCALAR ? v->str : "";
  if (v->kind == CPN_READER_SCALAR && v->plain && s[0] != '\0' && strspn(s, "0123456789") == strlen(s)) {
    errno = 0; /* digits only: exact, beyond the 2^53 a double holds */
    unsigned long long x = strtoull(s, NULL, 10);
    if (errno == ERANGE || x > ULONG_MAX) {
      cpn_reader_report(c, v, path, "must be <= %lu (got %s)", ULONG_MAX, s);
      return 0;
    }
    *out = (unsigned long)x;
    return 1;
  }
  double x;
  if (!cpn_reader_get_num(c, v, path, &x))
    return 0;
  if (x < 0) {
    cpn_reader_report(c, v, path, "must be >= 0 (got %s)", s);
    return 0;
  }
  if (x != floor(x)) {
    cpn_reader_report(c, v, path, "integer expected, got %s", cpn_reader_show(v, buf, sizeof buf));
    return 0;
  }
  if (x >= 18446744073709551616.0 || x > (double)ULONG_MAX) {
    cpn_reader_report(c, v, path, "must be <= %lu (got %s)", ULONG_MAX, s);
    return 0;
  }
  *out = (unsigned long)x;
  return 1;
}

static int get_bool(cpn_reader_t *c, const cpn_reader_node_t *v, const char *path, int *out)
{
  char buf[80];
  if (!parse_bool(v, out)) {
    cpn_reader_report(c, v, path, "boolean expected (true or false), got %s", cpn_reader_show(v, buf, sizeof buf));
    return 0;
  }
  return 1;
}

int cpn_reader_get_str(cpn_reader_t *c, const cpn_reader_node_t *v, const char *path, char *dst, size_t size, int check)
{
  char buf[80];
  if (v->kind != CPN_READER_SCALAR || cpn_reader_is_null(v)) {
    cpn_reader_report(c, v, path, "string expected, got %s", cpn_reader_show(v, buf, sizeof buf));
    return 0;
  }
  size_t len = strlen(v->str);
  if (check != CPN_STR_ANY && len == 0) {
    cpn_reader_report(c, v, path, "must not be empty");
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    if ((unsigned char)v->str[i] < 0x20 || v->str[i] == 0x7f) {
      cpn_reader_report(c, v, path, "must not contain control characters");
      return 0;
    }
  }
  if (check == CPN_STR_COUNTRY) {
    if (len != 2 || !isalpha((unsigned char)v->str[0]) || !isalpha((unsigned char)v->str[1])) {
      cpn_reader_report(c, v, path, "must be a 2-letter ISO 3166 country code such as CN (got %s)",
                        cpn_reader_show(v, buf, sizeof buf));
      return 0;
    }
    dst[0] = (char)toupper((unsigned char)v->str[0]);
    dst[1] = (char)toupper((unsigned char)v->str[1]);
    dst[2] = '\0';
    return 1;
  }
  if (size && len >= size) {
    cpn_reader_report(c, v, path, "too long: %zu characters, at most %zu", len, size - 1);
    return 0;
  }
  if (dst)
    memcpy(dst, v->str, len + 1);
  return 1;
}

static void list_words(cpn_reader_buf_t *b, const char *const *words, int n)
{
  for (int i = 0; n < 0 ? words[i] != NULL : i < n; i++)
    cpn_reader_buf_printf(b, "%s%s", i ? ", " : "", words[i]);
}

int cpn_reader_get_enum(cpn_reader_t *c, const cpn_reader_node_t *v, const char *path, const char *const *names,
                        int *out)
{
  char buf[80];
  if (v->kind == CPN_READER_SCALAR && !cpn_reader_is_null(v)) {
    for (int i = 0; names[i]; i++) {
      if (strcmp(v->str, names[i]) == 0) {
        *out = i;
        return 1;
      }
    }
  }
  cpn_reader_buf_t b = {0};
  const char *best = NULL;
  int best_d = 3;
  if (v->kind == CPN_READER_SCALAR)
    for (int i = 0; names[i]; i++)
      cpn_reader_suggest(v->str, names[i], &best, &best_d);
  list_words(&b, names, -1);
  if (best)
    cpn_reader_report(c, v, path, "must be one of %s (got %s); did you mean '%s'?", b.p ? b.p : "",
                      cpn_reader_show(v, buf, sizeof buf), best);
  else
    cpn_reader_report(c, v, path, "must be one of %s (got %s)", b.p ? b.p : "", cpn_reader_show(v, buf, sizeof buf));
  free(b.p);
  return 0;
}

static void unknown_key(cpn_reader_t *c, const cpn_reader_node_t *key, const char *path, const cpn_reader_section_t *s)
{
  char kp[CPN_PATH_LEN];
  cpn_reader_join(kp, path, key->str);
  if (strcmp(key->str, "remove") == 0) {
    cpn_reader_report(c, key, kp,
                      "unknown key 'remove': 'remove: true' only deletes a named item inherited through "
                      "'extends', and no such item was inherited here");
    return;
  }
  cpn_reader_buf_t b = {0};
  const char *best = NULL;
  int best_d = 3;
  for (int i = 0; i < s->n; i++) {
    cpn_reader_suggest(key->str, s->f[i].key, &best, &best_d);
    cpn_reader_buf_printf(&b, "%s%s", i ? ", " : "", s->f[i].key);
  }
  if (best)
    cpn_reader_report(c, key, kp, "unknown key '%s'; did you mean '%s'? (allowed: %s)", key->str, best, b.p ? b.p : "");
  else
    cpn_reader_report(c, key, kp, "unknown key '%s' (allowed: %s)", key->str, b.p ? b.p : "");
  free(b.p);
}

static void set_default(const cpn_reader_field_t *f, void *out)
{
  if (f->off == CPN_NOFF)
    return;
  char *p = (char *)out + f->off;
  switch (f->type) {
  case CPN_T_NUM: *(double *)p = f->def; break;
  case CPN_T_INT:
  case CPN_T_BOOL:
  case CPN_T_ENUM: *(int *)p = (int)f->def; break;
  case CPN_T_LONG: *(long *)p = (long)f->def; break;
  case CPN_T_ULONG: *(unsigned long *)p = (unsigned long)f->def; break;
  case CPN_T_STR:
  case CPN_T_SENUM: snprintf(p, f->size, "%s", f->sdef ? f->sdef : ""); break;
  default: break;
  }
}

void cpn_reader_apply_defaults(const cpn_reader_section_t *s, void *out)
{
  for (int i = 0; i < s->n; i++)
    set_default(&s->f[i], out);
}

static void convert_value(cpn_reader_t *c, const cpn_reader_node_t *v, const char *path, const cpn_reader_field_t *f,
                          void *out)
{
  char *p = (char *)out + f->off;
  double x;
  switch (f->type) {
  case CPN_T_NUM:
    if (cpn_reader_get_num(c, v, path, &x) && cpn_reader_check_range(c, v, path, f, x))
      *(double *)p = x;
    break;
  case CPN_T_INT:
    if (get_integer(c, v, path, f, INT_MAX, &x))
      *(int *)p = (int)x;
    break;
  case CPN_T_LONG:
    if (get_integer(c, v, path, f, 9007199254740992.0 /* 2^53: exact in a double */, &x))
      *(long *)p = (long)x;
    break;
  case CPN_T_ULONG: get_ulong(c, v, path, (unsigned long *)p); break;
  case CPN_T_BOOL: get_bool(c, v, path, (int *)p); break;
  case CPN_T_STR: cpn_reader_get_str(c, v, path, p, f->size, f->check); break;
  case CPN_T_ENUM: cpn_reader_get_enum(c, v, path, f->enums, (int *)p); break;
  case CPN_T_SENUM: {
    int k;
    if (cpn_reader_get_enum(c, v, path, f->enums, &k))
      snprintf(p, f->size, "%s", f->enums[k]);
    break;
  }
  default: break;
  }
}

/* Maps the fields of section `s` found in mapping `m` into `out` (defaults first), reporting unknown
 * keys, wrong types, out-of-range values and missing required keys. Fields without an offset are left
 * to the caller. Returns a mask of the fields present (bit i = s->f[i]). */
uint64_t cpn_reader_map_fields(cpn_reader_t *c, const cpn_reader_node_t *m, const char *path,
                               const cpn_reader_section_t *s, void *out)
{
  uint64_t present = 0;
  cpn_reader_apply_defaults(s, out);
  for (int k = 0; k < m->n; k++)
    if (!cpn_reader_find_field(s, m->keys[k]->str))
      unknown_key(c, m->keys[k], path, s);
  for (int i = 0; i < s->n; i++) {
    const cpn_reader_field_t *f = &s->f[i];
    const cpn_reader_node_t *v = cpn_reader_map_get(m, f->key);
    if (!v) {
      if (f->req)
        cpn_reader_report(c, m, path, "missing required key '%s'", f->key);
      continue;
    }
    present |= (uint64_t)1 << i;
    if (f->off != CPN_NOFF) {
      char kp[CPN_PATH_LEN];
      cpn_reader_join(kp, path, f->key);
      convert_value(c, v, kp, f, out);
    }
  }
  return present;
}

/* The mapping under `key`, NULL when absent or null; reports a value that is not a mapping. */
const cpn_reader_node_t *cpn_reader_get_map(cpn_reader_t *c, const cpn_reader_node_t *parent, const char *key,
                                            const char *kp, const char *hint)
{
  const cpn_reader_node_t *v = cpn_reader_map_get(parent, key);
  char buf[80];
  if (!v || cpn_reader_is_null(v))
    return NULL;
  if (v->kind != CPN_READER_MAP) {
    cpn_reader_report(c, v, kp, "expected a mapping%s, got %s", hint, cpn_reader_show(v, buf, sizeof buf));
    return NULL;
  }
  return v;
}

void cpn_reader_list_destroy(cpn_reader_list_t *l)
{
  free(l->items);
  free(l->present);
}

int cpn_reader_map_list(cpn_reader_t *c, const cpn_reader_node_t *parent, const char *key, const char *path,
                        const cpn_reader_section_t *s, size_t elem, cpn_reader_list_t *l)
{
  char buf[80];
  memset(l, 0, sizeof *l);
  const cpn_reader_node_t *v = cpn_reader_map_get(parent, key);
  if (!v || cpn_reader_is_null(v))
    return 0;
  if (v->kind != CPN_READER_SEQ) {
    cpn_reader_report(c, v, path, "expected a list (lines starting with '- '), got %s",
                      cpn_reader_show(v, buf, sizeof buf));
    return 0;
  }
  l->list = v;
  if (v->n == 0)
    return 0;
  l->arr = calloc((size_t)v->n, elem);
  l->items = calloc((size_t)v->n, sizeof *l->items);
  l->present = calloc((size_t)v->n, sizeof *l->present);
  if (!l->arr || !l->items || !l->present) {
    free(l->arr);
    cpn_reader_list_destroy(l);
    memset(l, 0, sizeof *l);
    c->oom = 1;
    return -1;
  }
  l->n = v->n;
  for (int i = 0; i < v->n; i++) {
    char ip[CPN_PATH_LEN];
    cpn_reader_join_index(ip, path, i);
    void *out = (char *)l->arr + (size_t)i * elem;
    if (v->vals[i]->kind != CPN_READER_MAP) {
      cpn_reader_report(c, v->vals[i], ip, "expected a mapping of keys (like {name: ...}), got %s",
                        cpn_reader_show(v->vals[i], buf, sizeof buf));
      cpn_reader_apply_defaults(s, out);
      continue;
    }
    l->items[i] = v->vals[i];
    l->present[i] = cpn_reader_map_fields(c, v->vals[i], ip, s, out);
  }
  return 0;
}

/* The name of item i of a list, or "" (a struct's `name` is its first member in every section). */
static const char *item_name(const cpn_reader_list_t *l, size_t elem, size_t name_off, int i)
{
  return (const char *)l->arr + (size_t)i * elem + name_off;
}

void cpn_reader_check_unique_names(cpn_reader_t *c, const cpn_reader_list_t *l, size_t elem, size_t name_off,
                                   const char *path, const char *what)
{
  /* A hash index of the names seen so far: a list of 100,000 sites is checked in O(n), not O(n^2). */
  cpn_name_index_t *seen = cpn_name_index_new(l->n);
  if (!seen) {
    cpn_reader_set_out_of_memory(c);
    return;
  }
  for (int i = 0; i < l->n; i++) {
    const char *ni = item_name(l, elem, name_off, i);
    if (!l->items[i] || !ni[0])
      continue;
    int j = cpn_name_index_put(seen, ni, i); /* j >= 0: the first item of that name */
    if (j == -2) {
      cpn_reader_set_out_of_memory(c);
      break;
    }
    if (j >= 0) {
      char ip[CPN_PATH_LEN];
      /* A defaulted name (a pool named after its accel) has no node: point at the item. */
      const cpn_reader_node_t *first = cpn_reader_map_get(l->items[j], "name"),
                              *at = cpn_reader_map_get(l->items[i], "name");
      first = first ? first : l->items[j];
      cpn_reader_pathf(ip, "%s[%d].name", path, i);
      cpn_reader_report(c, at ? at : l->items[i], ip, "duplicate %s name '%s' (first defined at %s:%d:%d)%s", what,
                        ni, first->file, first->line, first->col, at ? "" : "; give the items different 'name's");
    }
  }
  cpn_name_index_free(seen);
}

/* Shares of a list must not all be zero (they are normalised by their sum). */
void cpn_reader_check_shares(cpn_reader_t *c, const cpn_reader_list_t *l, size_t elem, size_t share_off,
                             const char *path)
{
  double sum = 0;
  for (int i = 0; i < l->n; i++)
    sum += *(const double *)((const char *)l->arr + (size_t)i * elem + share_off);
  if (l->n > 0 && !(sum > 0))
    cpn_reader_report(c, l->list, path, "every share is 0; at least one must be > 0");
}

void cpn_reader_require_items(cpn_reader_t *c, const cpn_reader_list_t *l, const char *path, const char *what)
{
  if (l->list && l->n == 0)
    cpn_reader_report(c, l->list, path, "must list at least one %s", what);
}

/* ------------------------------------------------------------------------------------------------
 * Free-form parameter maps and file names found in values. */

void cpn_reader_map_params(cpn_reader_t *c, const cpn_reader_node_t *parent, const char *parent_path, const char *key,
                           int max, size_t key_size, char **keys_out, double **values_out, int *n_out)
{
  char kp[CPN_PATH_LEN];
  cpn_reader_join(kp, parent_path, key);
  const cpn_reader_node_t *m =
      parent ? cpn_reader_get_map(c, parent, key, kp, " of parameter names to numbers, like {w_cost: 2}") : NULL;
  if (!m || m->n == 0)
    return;
  if (m->n > max) {
    cpn_reader_report(c, m, kp, "at most %d parameters (got %d)", max, m->n);
    return;
  }
  char *keys = calloc((size_t)m->n, key_size);
  double *values = calloc((size_t)m->n, sizeof *values);
  if (!keys || !values) {
    free(keys);
    free(values);
    c->oom = 1;
    return;
  }
  int n = 0;
  for (int i = 0; i < m->n; i++) {
    char ip[CPN_PATH_LEN];
    cpn_reader_join(ip, kp, m->keys[i]->str);
    if (cpn_reader_get_str(c, m->keys[i], ip, keys + (size_t)n * key_size, key_size, CPN_STR_NAME) &&
        cpn_reader_get_num(c, m->vals[i], ip, &values[n]))
      n++;
  }
  *keys_out = keys;
  *values_out = values;
  *n_out = n;
}

/* Resolves a file named in the scenario: relative to the directory of the file that holds the value (a
 * --set value: relative to the current directory), then made absolute so that a printed scenario loads
 * from anywhere. Checks that it is a readable regular file. Returns 1, or 0 after reporting. */
int cpn_reader_resolve_file(cpn_reader_t *c, const cpn_reader_node_t *v, const char *path, const char *what, char *out,
                            size_t size)
{
  char buf[80];
  if (v->kind != CPN_READER_SCALAR || cpn_reader_is_null(v) || v->str[0] == '\0') {
    cpn_reader_report(c, v, path, "a file name expected, got %s", cpn_reader_show(v, buf, sizeof buf));
    return 0;
  }
  cpn_reader_buf_t b = {0};
  const char *slash = strrchr(v->file, '/');
  if (v->str[0] == '/' || v->file == c->set_file || !slash)
    cpn_reader_buf_printf(&b, "%s", v->str);
  else
    cpn_reader_buf_printf(&b, "%.*s/%s", (int)(slash - v->file), v->file, v->str);
  if (b.oom) {
    free(b.p);
    c->oom = 1;
    return 0;
  }
  char *abs = realpath(b.p, NULL);
  const char *why = NULL;
  struct stat st;
  FILE *f = NULL;
  if (!abs)
    why = strerror(errno);
  else if (stat(abs, &st) != 0)
    why = strerror(errno);
  else if (S_ISDIR(st.st_mode))
    why = "is a directory";
  else if (!(f = fopen(abs, "rb")))
    why = strerror(errno);
  else if (strlen(abs) >= size)
    why = "the path is too long";
  if (f)
    fclose(f);
  if (why) {
    c->io_error = 1;
    cpn_reader_report(c, v, path, "cannot read %s '%s': %s", what, b.p, why);
  } else {
    memcpy(out, abs, strlen(abs) + 1);
  }
  free(abs);
  free(b.p);
  return why == NULL;
}

/* ------------------------------------------------------------------------------------------------
 * --set overrides. */

typedef struct {
  char text[CPN_PATH_LEN];
  int col;   /* 1-based column of the segment in the --set string */
  int end;   /* offset just past the segment, for the path shown in messages */
} segment_t;

/* --set: the mapping under key `key` of m, made when absent (or null); NULL after reporting that the
 * scenario has something else there, or when out of memory. */
static cpn_reader_node_t *set_child_map(cpn_reader_t *c, cpn_reader_node_t *m, const char *key, const char *file,
                                        int line, int col, const char *at, const char *set)
{
  cpn_reader_node_t *child = cpn_reader_map_get(m, key);
  if (!child || cpn_reader_is_null(child)) {
    if (!(child = cpn_reader_node_new(c, CPN_READER_MAP, file, line, col)) ||
        cpn_reader_map_put(c, m, key, file, line, col, child))
      return NULL;
  } else if (child->kind != CPN_READER_MAP) {
    cpn_reader_report_at(c, file, line, col, at, "cannot apply --set '%s': '%s' is not a mapping in the scenario",
                         set, at);
    return NULL;
  }
  return child;
}

/* Splits "a.b[c d].e" into segments a, b, c d, e. Returns the count, or -1 on a malformed path. */
static int split_path(const char *s, size_t len, segment_t *seg, int max)
{
  size_t i = 0;
  int n = 0;
  while (i < len) {
    if (n == max)
      return -1;
    size_t start, stop;
    if (s[i] == '[') {
      start = ++i;
      while (i < len && s[i] != ']')
        i++;
      if (i == len)
        return -1;
      stop = i++;
    } else {
      start = i;
      while (i < len && s[i] != '.' && s[i] != '[')
        i++;
      stop = i;
    }
    if (stop == start || stop - start >= CPN_PATH_LEN)
      return -1;
    memcpy(seg[n].text, s + start, stop - start);
    seg[n].text[stop - start] = '\0';
    seg[n].col = (int)start + 1;
    seg[n].end = (int)(i < len && s[i] == ']' ? i + 1 : i);
    n++;
    if (i < len && s[i] == '.') {
      i++;
      if (i == len)
        return -1;
    }
  }
  return n;
}

void cpn_reader_apply_set(cpn_reader_t *c, cpn_reader_node_t *root, const cpn_reader_section_t *root_section,
                          const char *set, int index)
{
  const char *file = c->set_file;
  int line = index + 1;
  const char *eq = strchr(set, '=');
  segment_t seg[MAX_SEGMENTS];
  int nseg = eq ? split_path(set, (size_t)(eq - set), seg, MAX_SEGMENTS) : -1;
  if (nseg <= 0) {
    cpn_reader_report_at(c, file, line, 1, NULL,
                         "'%s': expected key.path=value, e.g. demand.scale=2 or sites.east.pools.h100.count=16", set);
    return;
  }
  char shown[CPN_PATH_LEN];
  snprintf(shown, sizeof shown, "%.*s", (int)(eq - set), set);
  cpn_reader_node_t *val;
  size_t vlen = strlen(eq + 1);
  if (parse_yaml(c, eq + 1, vlen, file, index, (int)(eq - set) + 1, shown, 1, &val))
    return;
  if (vlen == 0 || (val->kind == CPN_READER_MAP && val->n == 0 && strspn(eq + 1, " \t") == vlen))
    val = cpn_reader_scalar_new(c, "", 0, 1, file, line, (int)(eq - set) + 2); /* "key=" sets an empty value */
  if (!val)
    return;

  cpn_reader_node_t *m = root;
  const cpn_reader_section_t *s = root_section;
  for (int i = 0; i < nseg; i++) {
    char at[CPN_PATH_LEN];
    cpn_reader_pathf(at, "%.*s", seg[i].end, set);
    const cpn_reader_field_t *f = cpn_reader_find_field(s, seg[i].text);
    if (!f || strcmp(f->key, "extends") == 0) {
      cpn_reader_buf_t b = {0};
      const char *best = NULL;
      int best_d = 3;
      for (int k = 0; k < s->n; k++) {
        if (s == root_section && strcmp(s->f[k].key, "extends") == 0)
          continue;
        cpn_reader_suggest(seg[i].text, s->f[k].key, &best, &best_d);
        cpn_reader_buf_printf(&b, "%s%s", b.len ? ", " : "", s->f[k].key);
      }
      cpn_reader_report_at(c, file, line, seg[i].col, at, "no such key in --set '%s'%s%s%s (allowed here: %s)", set,
                           best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "", b.p ? b.p : "");
      free(b.p);
      return;
    }
    if (i == nseg - 1) {
      cpn_reader_map_put(c, m, f->key, file, line, seg[i].col, val);
      return;
    }
    if (f->type == CPN_T_MAP) {
      cpn_reader_node_t *child = set_child_map(c, m, f->key, file, line, seg[i].col, at, set);
      if (!child)
        return;
      m = child;
      s = f->sub;
      continue;
    }
    if (f->type == CPN_T_PARAMS) {
      /* Parameters are free-form: the next segment names one, which is added when absent. */
      if (i + 2 != nseg) {
        cpn_reader_pathf(at, "%.*s", seg[i + 1].end, set);
        cpn_reader_report_at(c, file, line, seg[i + 2].col, at,
                             "cannot apply --set '%s': parameter '%s' is a number, it has no '%s'", set,
                             seg[i + 1].text, seg[i + 2].text);
        return;
      }
      cpn_reader_node_t *child = set_child_map(c, m, f->key, file, line, seg[i].col, at, set);
      if (!child)
        return;
      cpn_reader_map_put(c, child, seg[i + 1].text, file, line, seg[i + 1].col, val);
      return;
    }
    if (f->type != CPN_T_LIST) {
      cpn_reader_report_at(c, file, line, seg[i + 1].col, at,
                           "cannot apply --set '%s': '%s' is a single value, it has no '%s'", set, at, seg[i + 1].text);
      return;
    }
    /* A list: the next segment picks an item by name, or by 0-based index. */
    cpn_reader_node_t *list = cpn_reader_map_get(m, f->key);
    const segment_t *sel = &seg[++i];
    cpn_reader_pathf(at, "%.*s", sel->end, set);
    int k = -1;
    if (list && list->kind == CPN_READER_SEQ) {
      for (int j = 0; j < list->n && k < 0; j++) {
        const cpn_reader_node_t *nm = cpn_reader_map_get(list->vals[j], "name");
        if (nm && nm->kind == CPN_READER_SCALAR && strcmp(nm->str, sel->text) == 0)
          k = j;
      }
      if (k < 0 && strspn(sel->text, "0123456789") == strlen(sel->text)) {
        long x = strtol(sel->text, NULL, 10);
        if (x < list->n)
          k = (int)x;
      }
    }
    if (k < 0) {
      cpn_reader_buf_t b = {0};
      const char *best = NULL;
      int best_d = 3;
      for (int j = 0; list && list->kind == CPN_READER_SEQ && j < list->n; j++) {
        const cpn_reader_node_t *nm = cpn_reader_map_get(list->vals[j], "name");
        if (nm && nm->kind == CPN_READER_SCALAR) {
          cpn_reader_suggest(sel->text, nm->str, &best, &best_d);
          cpn_reader_buf_printf(&b, "%s%s", b.len ? ", " : "", nm->str);
        }
      }
      int n_items = list && list->kind == CPN_READER_SEQ ? list->n : 0;
      cpn_reader_report_at(c, file, line, sel->col, at,
                           "no such item in --set '%s': '%s' has no item named '%s'%s%s%s (%d items%s%s%s)", set,
                           f->key, sel->text, best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "",
                           n_items, b.p ? ": " : "", b.p ? b.p : "", n_items ? ", or index from 0" : "");
      free(b.p);
      return;
    }
    if (i == nseg - 1) {
      list->vals[k] = val;
      return;
    }
    if (list->vals[k]->kind != CPN_READER_MAP) {
      cpn_reader_report_at(c, file, line, sel->col, at, "cannot apply --set '%s': item '%s' is not a mapping", set,
                           sel->text);
      return;
    }
    m = list->vals[k];
    s = f->sub;
  }
}

/* ------------------------------------------------------------------------------------------------
 * Problems and their report. */

int cpn_reader_problem_count(const cpn_reader_t *c)
{
  return c->n_msgs + c->n_dropped;
}

int cpn_reader_failed(const cpn_reader_t *c)
{
  return c->n_msgs || c->n_dropped || c->oom || c->too_big;
}

int cpn_reader_exhausted(const cpn_reader_t *c)
{
  return c->oom || c->too_big;
}

int cpn_reader_out_of_memory(const cpn_reader_t *c)
{
  return c->oom;
}

void cpn_reader_set_out_of_memory(cpn_reader_t *c)
{
  c->oom = 1;
}

void cpn_reader_set_io_error(cpn_reader_t *c)
{
  c->io_error = 1;
}

static int msg_cmp(const void *pa, const void *pb)
{
  const cpn_reader_msg_t *a = pa, *b = pb;
  if (a->rank != b->rank)
    return a->rank < b->rank ? -1 : 1;
  if (a->line != b->line)
    return a->line < b->line ? -1 : 1;
  if (a->col != b->col)
    return a->col < b->col ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

cpn_err_t cpn_reader_fail(cpn_reader_t *c)
{
  cpn_err_t code = c->io_error ? CPN_EIO : CPN_EINVAL;
  if (c->n_msgs > 1)
    qsort(c->msgs, (size_t)c->n_msgs, sizeof *c->msgs, msg_cmp);
  cpn_reader_buf_t b = {0};
  int shown = 0;
  for (int i = 0; i < c->n_msgs; i++) {
    if (b.len + strlen(c->msgs[i].text) + 80 > MESSAGE_BUDGET)
      break;
    cpn_reader_buf_printf(&b, "%s%s", i ? "\n" : "", c->msgs[i].text);
    if (c->msgs[i].repeats)
      cpn_reader_buf_printf(&b, " (and for %d more items made from the same text)", c->msgs[i].repeats);
    shown++;
  }
  int hidden = c->n_msgs - shown + c->n_dropped;
  if (hidden > 0)
    cpn_reader_buf_printf(&b, "\n(%d more problems not shown)", hidden);
  if (c->oom) {
    cpn_reader_buf_printf(&b, "%sout of memory while loading the scenario", b.len ? "\n" : "");
    code = CPN_ENOMEM;
  }
  if (c->too_big)
    cpn_reader_buf_printf(&b, "%s%s: the scenario expands to more than %ld YAML nodes (aliases?)", b.len ? "\n" : "",
                          c->n_files ? c->files[0] : "?", MAX_NODES);
  cpn_error_set(code, "%s", b.p ? b.p : "out of memory");
  free(b.p);
  return code;
}

/* ------------------------------------------------------------------------------------------------
 * Known keys. */

static void walk_keys(const cpn_reader_section_t *s, const char *prefix, void (*leaf)(void *arg, const char *path),
                      void *arg)
{
  for (int i = 0; i < s->n; i++) {
    const cpn_reader_field_t *f = &s->f[i];
    char path[CPN_PATH_LEN];
    if (f->sub && (f->type == CPN_T_LIST || f->type == CPN_T_MAP)) {
      snprintf(path, sizeof path, "%s%s%s", prefix, f->key, f->type == CPN_T_LIST ? "[]." : ".");
      walk_keys(f->sub, path, leaf, arg);
      continue;
    }
    snprintf(path, sizeof path, "%s%s", prefix, f->key);
    leaf(arg, path);
  }
}

void cpn_reader_walk_keys(const cpn_reader_section_t *s, void (*leaf)(void *arg, const char *path), void *arg)
{
  walk_keys(s, "", leaf, arg);
}

/* ------------------------------------------------------------------------------------------------
 * Printing. */

void cpn_reader_print_str(FILE *f, const char *s)
{
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(f, "\\x%02x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

/* The shortest decimal form that reads back to the same double; whole numbers below 1e9 without an
 * exponent (600, not 6e+02). */
void cpn_reader_print_num(FILE *f, double x)
{
  char buf[40];
  if (x == floor(x) && fabs(x) < 1e9) {
    fprintf(f, "%.0f", x == 0 ? 0.0 : x); /* no "-0" */
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, x);
    if (strtod(buf, NULL) == x)
      break;
  }
  fputs(buf, f);
}

void cpn_reader_print_value(FILE *f, const cpn_reader_field_t *fl, const void *obj)
{
  const char *p = (const char *)obj + fl->off;
  switch (fl->type) {
  case CPN_T_NUM: cpn_reader_print_num(f, *(const double *)p); break;
  case CPN_T_INT: fprintf(f, "%d", *(const int *)p); break;
  case CPN_T_LONG: fprintf(f, "%ld", *(const long *)p); break;
  case CPN_T_ULONG: fprintf(f, "%lu", *(const unsigned long *)p); break;
  case CPN_T_BOOL: fputs(*(const int *)p ? "true" : "false", f); break;
  case CPN_T_STR:
  case CPN_T_SENUM: cpn_reader_print_str(f, p); break;
  case CPN_T_ENUM: fputs(fl->enums[*(const int *)p], f); break;
  default: break;
  }
}

/* Block style: one "key: value" line per field, the first prefixed with `first` (e.g. "  - "). */
void cpn_reader_print_block(FILE *f, const cpn_reader_section_t *s, const void *obj, const char *first,
                            const char *indent)
{
  int k = 0;
  for (int i = 0; i < s->n; i++) {
    if (s->f[i].off == CPN_NOFF)
      continue;
    fprintf(f, "%s%s: ", k++ ? indent : first, s->f[i].key);
    cpn_reader_print_value(f, &s->f[i], obj);
    fputc('\n', f);
  }
}

/* Flow style: "key: value, key: value" (no braces). */
void cpn_reader_print_flow(FILE *f, const cpn_reader_section_t *s, const void *obj, int comma)
{
  for (int i = 0; i < s->n; i++) {
    if (s->f[i].off == CPN_NOFF)
      continue;
    fprintf(f, "%s%s: ", comma++ ? ", " : "", s->f[i].key);
    cpn_reader_print_value(f, &s->f[i], obj);
  }
}

/* A top-level list of flow-style items: "key:" then "  - {...}" per item (or "key: []"). */
void cpn_reader_print_flow_list(FILE *f, const char *key, const cpn_reader_section_t *sec, const void *items,
                                size_t stride, int n)
{
  fprintf(f, "%s:%s", key, n ? "\n" : " []\n");
  for (int i = 0; i < n; i++) {
    fputs("  - {", f);
    cpn_reader_print_flow(f, sec, (const char *)items + (size_t)i * stride, 0);
    fputs("}\n", f);
  }
}

void cpn_reader_print_params(FILE *f, const char *indent, const char *key, const char *keys, size_t key_size,
                             const double *values, int n)
{
  fprintf(f, "%s%s: {", indent, key);
  for (int i = 0; i < n; i++) {
    fputs(i ? ", " : "", f);
    cpn_reader_print_str(f, keys + (size_t)i * key_size);
    fputs(": ", f);
    cpn_reader_print_num(f, values[i]);
  }
  fputs("}\n", f);
}
