/* scenario: loads a scenario YAML file into cpn_scenario_t, with `extends:` inheritance and `--set`
 * overrides, and prints a resolved scenario back as YAML that loads again.
 *
 * Pipeline: libyaml parses each file into a small node tree that keeps file:line:column of every key
 * and value; an `extends:` base is loaded first and the child deep-merged over it; `--set` overrides
 * are applied to the merged tree; a `topology:` section (GraphML, SimGrid platform XML or a generator)
 * is expanded into written-looking nodes, links, sites and origins; the tree is then mapped into the
 * plain structs of scenario.h. The mapping is driven by one schema table per section (key, type, struct
 * offset, default, range). The same tables check --set paths, list the known keys and print the
 * scenario, so those cannot drift apart from what the loader accepts.
 *
 * What it owns: during one load, a loader context (every tree node on one allocation chain, the
 * interned file names, the list of problems). Nothing of it outlives cpn_scenario_load().
 * Invariants: validation never stops at the first problem; every problem is recorded with its input
 * location and key path, and the load fails if there was any. On failure *sc is zeroed and everything
 * allocated is freed; on success every array in *sc is owned by it and freed by cpn_scenario_destroy. */
#define _XOPEN_SOURCE 700 /* realpath() */
#include "config/scenario.h"

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
#include <threads.h>

#include <yaml.h>

#include "topology/generate.h"
#include "topology/import_graphml.h"
#include "topology/import_simgrid_xml.h"

#define PATH_LEN 512              /* key paths in messages ("sites[3].pools[0].count") */
#define MAX_MESSAGES 200          /* problems kept; the rest are only counted */
#define MESSAGE_BUDGET 16000      /* cpn_error's buffer is 16384 bytes */
#define MAX_DEPTH 64              /* YAML nesting depth */
#define MAX_EXTENDS 16            /* files in one extends chain */
#define MAX_NODES 4000000L        /* tree nodes per load: guards against alias bombs */
#define MAX_FILE_BYTES (64L << 20)
#define MAX_SEGMENTS 32           /* segments in a --set key path */
#define LIGHT_SPEED_FIBRE_M_S 2e8 /* default link latency = great-circle distance / this */
#define EARTH_RADIUS_M 6371.0e3   /* mean Earth radius, as cpn_topology_great_circle_m */
#define PI 3.14159265358979323846

/* ------------------------------------------------------------------------------------------------
 * Growable string. */

typedef struct {
  char *p;
  size_t len, cap;
  int oom;
} sbuf_t;

static void sb_vprintf(sbuf_t *b, const char *fmt, va_list ap)
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

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  sb_vprintf(b, fmt, ap);
  va_end(ap);
}

/* ------------------------------------------------------------------------------------------------
 * Node tree and loader context. */

typedef enum { N_SCALAR, N_MAP, N_SEQ } nkind_t;

typedef struct node node_t;
struct node {
  nkind_t kind;
  const char *file;  /* interned in the context */
  int line, col;     /* 1-based */
  char *str;         /* N_SCALAR: the text */
  int plain;         /* N_SCALAR: unquoted; only plain scalars are numbers, booleans or null */
  int n, cap;        /* N_MAP: pairs; N_SEQ: items */
  node_t **keys;     /* N_MAP: key scalars */
  node_t **vals;     /* N_MAP: values; N_SEQ: items */
  node_t *chain;     /* every node of one load, for freeing */
};

typedef struct {
  int rank, line, col, seq;
  char *text;
  size_t tail;       /* offset of the message proper, after "file:line:col: path: " */
  int repeats;       /* further items that reported the same problem at the same place */
} msg_t;

typedef struct {
  node_t *nodes;
  long n_nodes;
  char **files;
  int n_files;
  msg_t *msgs;
  int n_msgs, cap_msgs, n_dropped;
  int io_error, oom, too_big;
  const char *set_file; /* "--set", interned */
} ctx_t;

static const char *intern(ctx_t *c, const char *name)
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

static int file_rank(const ctx_t *c, const char *file)
{
  for (int i = 0; i < c->n_files; i++)
    if (c->files[i] == file)
      return i;
  return c->n_files;
}

static void report_v(ctx_t *c, const char *file, int line, int col, const char *path, const char *fmt,
                     va_list ap)
{
  sbuf_t b = {0};
  if (line > 0)
    sb_printf(&b, "%s:%d:%d: ", file, line, col);
  else
    sb_printf(&b, "%s: ", file);
  if (path && *path)
    sb_printf(&b, "%s: ", path);
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
    const msg_t *m = &c->msgs[i];
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
    msg_t *m = realloc(c->msgs, (size_t)cap * sizeof *m);
    if (!m) {
      free(b.p);
      c->oom = 1;
      return;
    }
    c->msgs = m;
    c->cap_msgs = cap;
  }
  c->msgs[c->n_msgs] = (msg_t){rank, line, col, c->n_msgs, b.p, tail, 0};
  c->n_msgs++;
}

static void report_at(ctx_t *c, const char *file, int line, int col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void report_at(ctx_t *c, const char *file, int line, int col, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  report_v(c, file, line, col, path, fmt, ap);
  va_end(ap);
}

/* Records a problem located at node `at`, under key path `path`. */
static void report(ctx_t *c, const node_t *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(ctx_t *c, const node_t *at, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  report_v(c, at->file, at->line, at->col, path, fmt, ap);
  va_end(ap);
}

static node_t *node_new(ctx_t *c, nkind_t kind, const char *file, int line, int col)
{
  if (c->n_nodes >= MAX_NODES) {
    c->too_big = 1;
    return NULL;
  }
  node_t *n = calloc(1, sizeof *n);
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

static node_t *scalar_new(ctx_t *c, const char *text, size_t len, int plain, const char *file, int line, int col)
{
  node_t *n = node_new(c, N_SCALAR, file, line, col);
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
static int node_add(ctx_t *c, node_t *n, node_t *key, node_t *val)
{
  if (n->n == n->cap) {
    int cap = n->cap ? 2 * n->cap : 4;
    node_t **v = realloc(n->vals, (size_t)cap * sizeof *v);
    if (!v) {
      c->oom = 1;
      return -1;
    }
    n->vals = v;
    if (n->kind == N_MAP) {
      node_t **k = realloc(n->keys, (size_t)cap * sizeof *k);
      if (!k) {
        c->oom = 1;
        return -1;
      }
      n->keys = k;
    }
    n->cap = cap;
  }
  if (n->kind == N_MAP)
    n->keys[n->n] = key;
  n->vals[n->n++] = val;
  return 0;
}

static void node_remove(node_t *n, int i)
{
  if (n->kind == N_MAP)
    memmove(n->keys + i, n->keys + i + 1, (size_t)(n->n - i - 1) * sizeof *n->keys);
  memmove(n->vals + i, n->vals + i + 1, (size_t)(n->n - i - 1) * sizeof *n->vals);
  n->n--;
}

static int map_index(const node_t *m, const char *key)
{
  if (!m || m->kind != N_MAP)
    return -1;
  for (int i = 0; i < m->n; i++)
    if (strcmp(m->keys[i]->str, key) == 0)
      return i;
  return -1;
}

static node_t *map_get(const node_t *m, const char *key)
{
  int i = map_index(m, key);
  return i < 0 ? NULL : m->vals[i];
}

static const node_t *map_key(const node_t *m, const char *key)
{
  int i = map_index(m, key);
  return i < 0 ? NULL : m->keys[i];
}

/* Sets key to val in mapping m, adding the key (located at file:line:col) when absent. */
static int map_put(ctx_t *c, node_t *m, const char *key, const char *file, int line, int col, node_t *val)
{
  int i = map_index(m, key);
  if (i >= 0) {
    m->vals[i] = val;
    return 0;
  }
  node_t *k = scalar_new(c, key, strlen(key), 1, file, line, col);
  return k ? node_add(c, m, k, val) : -1;
}

static void ctx_free(ctx_t *c)
{
  for (node_t *n = c->nodes, *next; n; n = next) {
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
static int is_null(const node_t *v)
{
  return v->kind == N_SCALAR && v->plain &&
         (v->str[0] == '\0' || strcmp(v->str, "~") == 0 || strcasecmp(v->str, "null") == 0);
}

/* What a value looks like, for "expected X, got Y" messages. */
static const char *show(const node_t *v, char *buf, size_t size)
{
  if (v->kind == N_MAP)
    return "a mapping";
  if (v->kind == N_SEQ)
    return "a list";
  if (is_null(v))
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

/* Formats a key path into a PATH_LEN buffer; paths only appear in messages, so truncation is fine. */
static void pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *out, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out, PATH_LEN, fmt, ap);
  va_end(ap);
}

static void join(char *out, const char *path, const char *key)
{
  if (path && *path)
    pathf(out, "%s.%s", path, key);
  else
    pathf(out, "%s", key);
}

static void join_index(char *out, const char *path, int i)
{
  pathf(out, "%s[%d]", path, i);
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
static void suggest(const char *word, const char *cand, const char **best, int *best_d)
{
  int d = edit_distance(word, cand);
  if (d <= 2 && d < *best_d && (size_t)d < strlen(word) && (size_t)d < strlen(cand)) {
    *best = cand;
    *best_d = d;
  }
}

/* ------------------------------------------------------------------------------------------------
 * YAML text -> node tree. */

static node_t *convert(ctx_t *c, yaml_document_t *doc, yaml_node_t *yn, const char *file, int line0, int col0,
                       const char *path, int depth)
{
  int line = (int)yn->start_mark.line + 1 + line0;
  int col = (int)yn->start_mark.column + 1 + col0;
  if (depth > MAX_DEPTH) {
    report_at(c, file, line, col, path, "nesting deeper than %d levels", MAX_DEPTH);
    return NULL;
  }
  if (yn->type == YAML_SCALAR_NODE)
    return scalar_new(c, (const char *)yn->data.scalar.value, yn->data.scalar.length,
                      yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE, file, line, col);
  if (yn->type == YAML_SEQUENCE_NODE) {
    node_t *n = node_new(c, N_SEQ, file, line, col);
    if (!n)
      return NULL;
    int i = 0;
    for (yaml_node_item_t *it = yn->data.sequence.items.start; it < yn->data.sequence.items.top; it++, i++) {
      char sub[PATH_LEN];
      join_index(sub, path, i);
      node_t *v = convert(c, doc, yaml_document_get_node(doc, *it), file, line0, col0, sub, depth + 1);
      if (!v || node_add(c, n, NULL, v))
        return NULL;
    }
    return n;
  }
  if (yn->type == YAML_MAPPING_NODE) {
    node_t *n = node_new(c, N_MAP, file, line, col);
    if (!n)
      return NULL;
    for (yaml_node_pair_t *p = yn->data.mapping.pairs.start; p < yn->data.mapping.pairs.top; p++) {
      yaml_node_t *yk = yaml_document_get_node(doc, p->key);
      yaml_node_t *yv = yaml_document_get_node(doc, p->value);
      if (yk->type != YAML_SCALAR_NODE) {
        report_at(c, file, (int)yk->start_mark.line + 1 + line0, (int)yk->start_mark.column + 1 + col0, path,
                  "keys must be plain words, not %s", yk->type == YAML_MAPPING_NODE ? "a mapping" : "a list");
        continue;
      }
      node_t *k = convert(c, doc, yk, file, line0, col0, path, depth + 1);
      if (!k)
        return NULL;
      char sub[PATH_LEN];
      join(sub, path, k->str);
      const node_t *first = map_key(n, k->str);
      if (first) {
        report(c, k, sub, "duplicate key '%s' (first at line %d, column %d)", k->str, first->line, first->col);
        continue;
      }
      node_t *v = convert(c, doc, yv, file, line0, col0, sub, depth + 1);
      if (!v || node_add(c, n, k, v))
        return NULL;
    }
    return n;
  }
  return scalar_new(c, "", 0, 1, file, line, col);
}

static void syntax_error(ctx_t *c, const yaml_parser_t *p, const char *text, size_t len, const char *file,
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
    report_at(c, file, line + line0, col + col0, path, "YAML syntax error: %s (%s that started at line %d, column %d)",
              problem, p->context, (int)p->context_mark.line + 1 + line0, (int)p->context_mark.column + 1 + col0);
  else
    report_at(c, file, line + line0, col + col0, path, "YAML syntax error: %s", problem);
}

/* Parses one YAML document; an empty document is an empty mapping. `one_line`: the text is a --set
 * value. Returns 0, or -1 after reporting. */
static int parse_yaml(ctx_t *c, const char *text, size_t len, const char *file, int line0, int col0,
                      const char *path, int one_line, node_t **out)
{
  yaml_parser_t p;
  yaml_document_t doc;
  *out = NULL;
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
    *out = node_new(c, N_MAP, file, line0 + 1, col0 + 1);
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
        report_at(c, file, (int)r2->start_mark.line + 1 + line0, (int)r2->start_mark.column + 1 + col0, path,
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
static int read_text(ctx_t *c, const char *path, const node_t *from, char **text, size_t *len, file_id_t *id)
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
      report(c, from, "extends", "cannot read '%s': %s", path, why);
    else
      report_at(c, path, 0, 0, NULL, "cannot read the scenario: %s", why);
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
static int named_list(const node_t *s)
{
  if (s->kind != N_SEQ)
    return 0;
  for (int i = 0; i < s->n; i++) {
    const node_t *nm = map_get(s->vals[i], "name");
    if (s->vals[i]->kind != N_MAP || !nm || nm->kind != N_SCALAR)
      return 0;
  }
  return 1;
}

static int parse_bool(const node_t *v, int *out)
{
  if (v->kind != N_SCALAR || !v->plain)
    return 0;
  if (strcasecmp(v->str, "true") == 0)
    *out = 1;
  else if (strcasecmp(v->str, "false") == 0)
    *out = 0;
  else
    return 0;
  return 1;
}

static node_t *merge(ctx_t *c, node_t *base, node_t *over, const char *path);

static void merge_named(ctx_t *c, node_t *base, node_t *over, const char *path)
{
  for (int i = 0; i < over->n; i++) {
    node_t *it = over->vals[i];
    const char *name = map_get(it, "name")->str;
    char sub[PATH_LEN];
    pathf(sub, "%s[%s]", path, name);
    int remove = 0, ri = map_index(it, "remove");
    const node_t *rv = ri >= 0 ? it->vals[ri] : NULL;
    if (rv) {
      char rp[PATH_LEN], buf[80];
      join(rp, sub, "remove");
      if (!parse_bool(rv, &remove))
        report(c, rv, rp, "boolean expected (true or false), got %s", show(rv, buf, sizeof buf));
      node_remove(it, ri);
    }
    int bi = -1;
    for (int j = 0; j < base->n && bi < 0; j++)
      if (strcmp(map_get(base->vals[j], "name")->str, name) == 0)
        bi = j;
    if (remove) {
      if (bi < 0)
        report(c, rv, sub, "remove: the base scenario has no item named '%s' in '%s'", name, path);
      else
        node_remove(base, bi);
    } else if (bi >= 0) {
      base->vals[bi] = merge(c, base->vals[bi], it, sub);
    } else if (node_add(c, base, NULL, it)) {
      return;
    }
  }
}

/* Merges `over` into `base` and returns the result: mappings merge key by key, lists of named items
 * merge by name, anything else in `over` replaces what `base` had. */
static node_t *merge(ctx_t *c, node_t *base, node_t *over, const char *path)
{
  if (base->kind == N_MAP && over->kind == N_MAP) {
    for (int i = 0; i < over->n; i++) {
      char sub[PATH_LEN];
      join(sub, path, over->keys[i]->str);
      int bi = map_index(base, over->keys[i]->str);
      if (bi < 0) {
        if (node_add(c, base, over->keys[i], over->vals[i]))
          return base;
      } else {
        base->vals[bi] = merge(c, base->vals[bi], over->vals[i], sub);
        base->keys[bi] = over->keys[i];
      }
    }
    return base;
  }
  if (base->kind == N_SEQ && over->kind == N_SEQ && over->n > 0 && named_list(base) && named_list(over)) {
    merge_named(c, base, over, path);
    return base;
  }
  return over;
}

/* Loads `path` and, recursively, the files it extends. `from` is the extends value naming it (NULL for
 * the root). `chain` holds the identities of the files being loaded, to catch cycles. Returns the
 * merged tree, or NULL after reporting (then the caller maps nothing). */
static node_t *load_tree(ctx_t *c, const char *path, const node_t *from, file_id_t *chain, int depth,
                         char **text_out)
{
  char *text;
  size_t len;
  file_id_t id;
  const char *file = intern(c, path);
  if (read_text(c, file, from, &text, &len, &id))
    return NULL;
  for (int i = 0; i < depth; i++) {
    if (chain[i].dev == id.dev && chain[i].ino == id.ino) {
      report(c, from, "extends", "'%s' extends itself (through a cycle of extends)", path);
      free(text);
      return NULL;
    }
  }
  chain[depth] = id;
  node_t *root;
  int rc = parse_yaml(c, text, len, file, 0, 0, "", 0, &root);
  if (text_out)
    *text_out = text;
  else
    free(text);
  if (rc)
    return NULL;
  int ei = map_index(root, "extends");
  if (ei < 0)
    return root;
  node_t *ev = root->vals[ei];
  node_remove(root, ei);
  char buf[80];
  if (ev->kind != N_SCALAR || is_null(ev) || ev->str[0] == '\0') {
    report(c, ev, "extends", "a file name expected, got %s", show(ev, buf, sizeof buf));
    return NULL;
  }
  if (depth + 1 >= MAX_EXTENDS) {
    report(c, ev, "extends", "more than %d files in the extends chain", MAX_EXTENDS);
    return NULL;
  }
  sbuf_t bp = {0};
  const char *slash = strrchr(path, '/');
  if (ev->str[0] == '/' || !slash)
    sb_printf(&bp, "%s", ev->str);
  else
    sb_printf(&bp, "%.*s/%s", (int)(slash - path), path, ev->str);
  if (bp.oom) {
    free(bp.p);
    c->oom = 1;
    return NULL;
  }
  node_t *base = load_tree(c, bp.p, ev, chain, depth + 1, NULL);
  free(bp.p);
  if (!base)
    return NULL;
  if (base->kind != N_MAP) {
    report(c, base, "", "the top level must be a mapping of sections, got %s", show(base, buf, sizeof buf));
    return NULL;
  }
  if (root->kind != N_MAP)
    return root;
  /* The scenario name is not inherited: a child without one is named after its own file. */
  int had_name = map_index(root, "name") >= 0;
  node_t *merged = merge(c, base, root, "");
  int ni = map_index(merged, "name");
  if (!had_name && ni >= 0)
    node_remove(merged, ni);
  return merged;
}

/* ------------------------------------------------------------------------------------------------
 * Schema: one table of fields per section. */

/* T_SENUM: a string from a fixed list, stored as the string (char array); T_ENUM stores the index.
 * T_PARAMS: a free-form mapping of names to numbers (run.policy_params). */
enum { T_NUM, T_INT, T_LONG, T_ULONG, T_BOOL, T_STR, T_ENUM, T_MAP, T_LIST, T_DIURNAL, T_STRLIST, T_SENUM, T_PARAMS };
enum { R_LO = 1, R_LO_OPEN = 2, R_HI = 4, R_HI_OPEN = 8, R_ZERO_OK = 16 };
enum { S_ANY = 0, S_NAME, S_COUNTRY };

typedef struct section section_t;
typedef struct {
  const char *key;
  int type;
  size_t off;                /* offset in the target struct; NOFF when the caller maps the key */
  int req;                   /* missing key is an error */
  double def;                /* default (numbers, booleans, enum index) */
  const char *sdef;          /* default (strings) */
  int rng;                   /* R_* flags */
  double lo, hi;
  const char *const *enums;  /* T_ENUM: NULL-terminated names; the value is the index */
  size_t size;               /* T_STR: capacity of the char array */
  int check;                 /* T_STR: S_* */
  const section_t *sub;      /* T_MAP / T_LIST: the section of the mapping / of each item */
} field_t;

struct section {
  const field_t *f;
  int n;
};

#define NOFF ((size_t)-1)
#define FLD(k, t, st, m) .key = (k), .type = (t), .off = offsetof(st, m)
#define STR(k, st, m) .key = (k), .type = T_STR, .off = offsetof(st, m), .size = sizeof(((st *)0)->m)
#define SENUM(k, st, m, e) .key = (k), .type = T_SENUM, .off = offsetof(st, m), .size = sizeof(((st *)0)->m), .enums = (e)
#define CUSTOM(k, t) .key = (k), .type = (t), .off = NOFF
#define GT(x) .rng = R_LO | R_LO_OPEN, .lo = (x)
#define GE(x) .rng = R_LO, .lo = (x)
#define IN(a, b) .rng = R_LO | R_HI, .lo = (a), .hi = (b)
#define SECTION(f) {f, (int)(sizeof f / sizeof f[0])}

static const char *const NET_MODES[] = {"fluid", "flow", NULL};
static const char *const ARRIVALS[] = {"poisson", "gamma", "weibull", "mmpp", NULL};
/* The first four are cpn_dist_kind_t values; the azure-* ones copy CPN_AZURE_*. */
static const char *const DISTS[] = {"constant",          "lognormal",         "geometric",
                                    "exponential",       "azure-conv-prompt", "azure-conv-output",
                                    "azure-code-prompt", "azure-code-output", NULL};
#define N_PLAIN_DISTS 4
static const cpn_dist_t *const AZURE_DISTS[] = {&CPN_AZURE_CONV_PROMPT, &CPN_AZURE_CONV_OUTPUT,
                                                &CPN_AZURE_CODE_PROMPT, &CPN_AZURE_CODE_OUTPUT};

/* The built-in autoscalers of sim/autoscaler.c, and "none". */
static const char *const AUTOSCALERS[] = {"none", "queue-threshold", NULL};
/* demand.trace: the mappings of cpn_trace_mapping() plus "custom" (columns given by the scenario). */
static const char *const TRACE_MAPPINGS[] = {"azure-2023", "vidur", "splitwise", "jsonl-ms", "custom", NULL};
static const char *const TRACE_FORMATS[] = {"csv", "jsonl", NULL};
static const char *const TRACE_TIME_UNITS[] = {"s", "ms", "us", "datetime", NULL};
static const char *const TRACE_ERRORS[] = {"stop", "skip", NULL}; /* index = trace_skip_errors */
#define MAX_PARAMS 64             /* entries in run.policy_params / autoscaler_params (the engine's limit) */

_Static_assert(sizeof(cpn_net_mode_t) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(cpn_arrival_kind_t) == sizeof(int), "enums are stored as int");

static const field_t run_fields[] = {
    {FLD("duration_s", T_NUM, cpn_run_spec_t, duration_s), .def = 3600, GT(0)},
    {FLD("warmup_s", T_NUM, cpn_run_spec_t, warmup_s), .def = 0, GE(0)},
    {FLD("drain_s", T_NUM, cpn_run_spec_t, drain_s), .def = 3600, GE(0)},
    {FLD("seed", T_ULONG, cpn_run_spec_t, seed), .def = 1},
    {FLD("sample_interval_s", T_NUM, cpn_run_spec_t, sample_interval_s), .def = 60, GT(0)},
    {FLD("network_mode", T_ENUM, cpn_run_spec_t, network_mode), .enums = NET_MODES},
    {STR("policy", cpn_run_spec_t, policy), .sdef = "least-loaded", .check = S_NAME},
    {FLD("start_utc_h", T_NUM, cpn_run_spec_t, start_utc_h), .rng = R_LO | R_HI | R_HI_OPEN, .lo = 0, .hi = 24},
    {FLD("max_requests", T_LONG, cpn_run_spec_t, max_requests), GE(0)},
    {FLD("view_refresh_s", T_NUM, cpn_run_spec_t, view_refresh_s), GE(0)},
    {FLD("decision_latency_s", T_NUM, cpn_run_spec_t, decision_latency_s), GE(0)},
    {FLD("decision_trace", T_BOOL, cpn_run_spec_t, decision_trace)},
    {SENUM("autoscaler", cpn_run_spec_t, autoscaler, AUTOSCALERS), .sdef = "none"},
    {FLD("autoscaler_interval_s", T_NUM, cpn_run_spec_t, autoscaler_interval_s), .def = 30, GT(0)},
    /* An estimate: published confidential-computing overheads on H100 for LLM inference range from a few
     * per cent to about 10%; 0.1 is the pessimistic end. */
    {FLD("confidential_overhead", T_NUM, cpn_run_spec_t, confidential_overhead), .def = 0.1, GE(0)},
    {CUSTOM("policy_params", T_PARAMS)},
    {CUSTOM("autoscaler_params", T_PARAMS)},
};
static const section_t run_section = SECTION(run_fields);

/* demand.trace maps straight into the trace_* fields of cpn_demand_spec_t. */
static const field_t trace_fields[] = {
    {CUSTOM("file", T_STR), .req = 1},
    {SENUM("mapping", cpn_demand_spec_t, trace_mapping, TRACE_MAPPINGS), .sdef = "azure-2023"},
    {SENUM("format", cpn_demand_spec_t, trace_format, TRACE_FORMATS)},
    {SENUM("time_unit", cpn_demand_spec_t, trace_time_unit, TRACE_TIME_UNITS)},
    {STR("time_col", cpn_demand_spec_t, trace_time_col), .check = S_NAME},
    {STR("prompt_col", cpn_demand_spec_t, trace_prompt_col), .check = S_NAME},
    {STR("output_col", cpn_demand_spec_t, trace_output_col), .check = S_NAME},
    {STR("model_col", cpn_demand_spec_t, trace_model_col), .check = S_NAME},
    {STR("tenant_col", cpn_demand_spec_t, trace_tenant_col), .check = S_NAME},
    {STR("origin_col", cpn_demand_spec_t, trace_origin_col), .check = S_NAME},
    {FLD("time_scale", T_NUM, cpn_demand_spec_t, trace_time_scale), .def = 1, GT(0)},
    /* ceil(rate_scale) copies of the file are open at once; cpn_trace allows CPN_TRACE_COPIES_MAX (256). */
    {FLD("rate_scale", T_NUM, cpn_demand_spec_t, trace_rate_scale), .def = 1, .rng = R_LO | R_LO_OPEN | R_HI,
     .lo = 0, .hi = 256},
    {FLD("shift_s", T_NUM, cpn_demand_spec_t, trace_shift_s), GE(0)},
    {FLD("start_offset_s", T_NUM, cpn_demand_spec_t, trace_start_offset_s), GE(0)},
    {FLD("loop", T_BOOL, cpn_demand_spec_t, trace_loop)},
    {FLD("errors", T_ENUM, cpn_demand_spec_t, trace_skip_errors), .enums = TRACE_ERRORS},
};
static const section_t trace_section = SECTION(trace_fields);

static const field_t demand_fields[] = {
    {FLD("scale", T_NUM, cpn_demand_spec_t, scale), .def = 1, GT(0)},
    {FLD("arrival", T_ENUM, cpn_demand_spec_t, arrival), .enums = ARRIVALS},
    {FLD("cv", T_NUM, cpn_demand_spec_t, cv), .def = 1, GT(0)},
    {FLD("burst_factor", T_NUM, cpn_demand_spec_t, burst_factor), .def = 4, GE(1)},
    {FLD("burst_mean_s", T_NUM, cpn_demand_spec_t, burst_mean_s), .def = 60, GT(0)},
    {FLD("calm_mean_s", T_NUM, cpn_demand_spec_t, calm_mean_s), .def = 600, GT(0)},
    {CUSTOM("diurnal", T_DIURNAL)},
    {CUSTOM("trace", T_MAP), .sub = &trace_section},
};
static const section_t demand_section = SECTION(demand_fields);

static const field_t model_fields[] = {
    {STR("name", cpn_model_spec_t, name), .req = 1, .check = S_NAME},
    {STR("catalog", cpn_model_spec_t, catalog), .req = 1, .check = S_NAME},
    {FLD("share", T_NUM, cpn_model_spec_t, share), .def = 1, GE(0)},
    {FLD("prefill_eff", T_NUM, cpn_model_spec_t, prefill_eff), .rng = R_LO | R_LO_OPEN | R_HI | R_ZERO_OK, .hi = 1},
    {FLD("decode_eff", T_NUM, cpn_model_spec_t, decode_eff), .rng = R_LO | R_LO_OPEN | R_HI | R_ZERO_OK, .hi = 1},
    {FLD("step_overhead_s", T_NUM, cpn_model_spec_t, step_overhead_s), GE(0)},
    {FLD("fixed_step_s", T_NUM, cpn_model_spec_t, fixed_step_s), GE(0)},
    {FLD("fixed_prefill_s_per_token", T_NUM, cpn_model_spec_t, fixed_prefill_s_per_token), GE(0)},
    {STR("store", cpn_model_spec_t, store)}, /* "" = local; a site name, checked once sites are mapped */
};
static const section_t model_section = SECTION(model_fields);

static const field_t dist_fields[] = {
    {CUSTOM("dist", T_ENUM), .req = 1, .enums = DISTS},
    {FLD("mu", T_NUM, cpn_dist_t, mu)},
    {FLD("sigma", T_NUM, cpn_dist_t, sigma), GT(0)},
    {FLD("mean", T_NUM, cpn_dist_t, mean), GT(0)},
    {FLD("min", T_NUM, cpn_dist_t, min), .def = 1, GE(0)},
    {FLD("max", T_NUM, cpn_dist_t, max), .def = 0, GE(0)},
};
static const section_t dist_section = SECTION(dist_fields);

static const field_t class_fields[] = {
    {STR("name", cpn_class_spec_t, name), .req = 1, .check = S_NAME},
    {FLD("share", T_NUM, cpn_class_spec_t, share), .def = 1, GE(0)},
    {FLD("ttft_slo_s", T_NUM, cpn_class_spec_t, ttft_slo_s), .def = 2, GT(0)},
    {FLD("tpot_slo_s", T_NUM, cpn_class_spec_t, tpot_slo_s), .def = 0.2, GT(0)},
    {FLD("timeout_s", T_NUM, cpn_class_spec_t, timeout_s), .def = 0, GE(0)},
    {FLD("confidential", T_BOOL, cpn_class_spec_t, confidential)},
    {FLD("request_bytes_per_token", T_NUM, cpn_class_spec_t, request_bytes_per_token), .def = 4, GE(0)},
    {FLD("reply_bytes_per_token", T_NUM, cpn_class_spec_t, reply_bytes_per_token), .def = 4, GE(0)},
    {CUSTOM("prompt_tokens", T_MAP), .sub = &dist_section},
    {CUSTOM("output_tokens", T_MAP), .sub = &dist_section},
};
static const section_t class_section = SECTION(class_fields);

static const field_t tenant_fields[] = {
    {STR("name", cpn_tenant_spec_t, name), .req = 1, .check = S_NAME},
    {FLD("share", T_NUM, cpn_tenant_spec_t, share), .def = 1, GE(0)},
};
static const section_t tenant_section = SECTION(tenant_fields);

static const field_t pool_fields[] = {
    {STR("name", cpn_pool_spec_t, name), .check = S_NAME},
    {STR("accel", cpn_pool_spec_t, accel), .req = 1, .check = S_NAME},
    {FLD("count", T_INT, cpn_pool_spec_t, count), .req = 1, GE(1)},
    {FLD("confidential", T_BOOL, cpn_pool_spec_t, confidential)},
};
static const section_t pool_section = SECTION(pool_fields);

static const field_t replica_fields[] = {
    {CUSTOM("model", T_STR), .req = 1, .check = S_NAME},
    {CUSTOM("pool", T_STR), .check = S_NAME},
    {FLD("tp", T_INT, cpn_replica_spec_t, tp), .def = 1, GE(1)},
    {FLD("count", T_INT, cpn_replica_spec_t, count), .def = 1, GE(0)},
    {FLD("max_batch", T_INT, cpn_replica_spec_t, max_batch), .def = 64, GE(1)},
    {FLD("unloaded", T_INT, cpn_replica_spec_t, unloaded), GE(0)},
};
static const section_t replica_section = SECTION(replica_fields);

/* name, lat and lon come first: topology.site_template takes the other keys (SITE_PER_ITEM). */
static const field_t site_fields[] = {
    {STR("name", cpn_site_spec_t, name), .req = 1, .check = S_NAME},
    {FLD("lat", T_NUM, cpn_site_spec_t, lat_deg), IN(-90, 90)},
    {FLD("lon", T_NUM, cpn_site_spec_t, lon_deg), IN(-180, 180)},
    {STR("region", cpn_site_spec_t, region), .check = S_NAME},
    {STR("country", cpn_site_spec_t, country), .sdef = "CN", .check = S_COUNTRY},
    {FLD("tz_h", T_NUM, cpn_site_spec_t, tz_h), .def = 8, IN(-12, 14)},
    {FLD("pue", T_NUM, cpn_site_spec_t, pue), .def = 1.2, IN(1, 3)},
    {FLD("price_usd_per_kwh", T_NUM, cpn_site_spec_t, price_usd_per_kwh), .def = 0.08, GE(0)},
    {FLD("co2_g_per_kwh", T_NUM, cpn_site_spec_t, co2_g_per_kwh), .def = 500, GE(0)},
    {CUSTOM("pools", T_LIST), .sub = &pool_section},
    {CUSTOM("replicas", T_LIST), .sub = &replica_section},
};
static const section_t site_section = SECTION(site_fields);
#define SITE_PER_ITEM 3 /* name, lat, lon */
static const section_t site_template_section = {site_fields + SITE_PER_ITEM,
                                                (int)(sizeof site_fields / sizeof site_fields[0]) - SITE_PER_ITEM};

static const field_t node_fields[] = {
    {STR("name", cpn_node_spec_t, name), .req = 1, .check = S_NAME},
    {STR("country", cpn_node_spec_t, country), .sdef = "CN", .check = S_COUNTRY},
    {FLD("lat", T_NUM, cpn_node_spec_t, lat_deg), IN(-90, 90)},
    {FLD("lon", T_NUM, cpn_node_spec_t, lon_deg), IN(-180, 180)},
};
static const section_t node_section = SECTION(node_fields);

static const field_t link_fields[] = {
    {STR("a", cpn_link_spec_t, a), .req = 1, .check = S_NAME},
    {STR("b", cpn_link_spec_t, b), .req = 1, .check = S_NAME},
    {FLD("latency_s", T_NUM, cpn_link_spec_t, latency_s), GE(0)},
    {FLD("bw_bps", T_NUM, cpn_link_spec_t, bw_bps), .req = 1, GT(0)},
    {FLD("shared", T_BOOL, cpn_link_spec_t, shared)},
};
static const section_t link_section = SECTION(link_fields);

static const field_t origin_fields[] = {
    {STR("name", cpn_origin_spec_t, name), .req = 1, .check = S_NAME},
    {STR("node", cpn_origin_spec_t, node), .req = 1, .check = S_NAME},
    {STR("country", cpn_origin_spec_t, country), .check = S_COUNTRY},
    {FLD("tz_h", T_NUM, cpn_origin_spec_t, tz_h), IN(-12, 14)},
    {FLD("access_latency_s", T_NUM, cpn_origin_spec_t, access_latency_s), .def = 0.002, GE(0)},
    {FLD("rate_rps", T_NUM, cpn_origin_spec_t, rate_rps), .req = 1, GE(0)},
    {CUSTOM("residency", T_STRLIST)},
};
static const section_t origin_section = SECTION(origin_fields);

/* topology: nodes and links imported or generated, expanded into the tree before mapping. */
static const char *const TOPO_GENERATORS[] = {"waxman", "barabasi", NULL};
static const char *const TOPO_SITES[] = {"none", "all", NULL};
typedef struct {
  int n;
  unsigned long seed;
  double bw_bps;
  int sites;                   /* index in TOPO_SITES */
  double origins_per_site_rps;
} topo_spec_t;
static const field_t topology_fields[] = {
    {CUSTOM("graphml", T_STR)},
    {CUSTOM("simgrid_xml", T_STR)},
    {CUSTOM("generate", T_ENUM), .enums = TOPO_GENERATORS},
    {FLD("n", T_INT, topo_spec_t, n), IN(1, 100000)},
    {FLD("seed", T_ULONG, topo_spec_t, seed), .def = 1},
    {FLD("bw_bps", T_NUM, topo_spec_t, bw_bps), .def = 1e11, GT(0)},
    {FLD("sites", T_ENUM, topo_spec_t, sites), .enums = TOPO_SITES},
    {CUSTOM("site_template", T_MAP), .sub = &site_template_section},
    {FLD("origins_per_site_rps", T_NUM, topo_spec_t, origins_per_site_rps), GE(0)},
};
static const section_t topology_section = SECTION(topology_fields);

static const field_t root_fields[] = {
    {STR("name", cpn_scenario_t, name), .check = S_NAME},
    {CUSTOM("extends", T_STR)},
    {CUSTOM("description", T_STR)},
    {CUSTOM("run", T_MAP), .sub = &run_section},
    {CUSTOM("demand", T_MAP), .sub = &demand_section},
    {CUSTOM("models", T_LIST), .req = 1, .sub = &model_section},
    {CUSTOM("classes", T_LIST), .sub = &class_section},
    {CUSTOM("tenants", T_LIST), .sub = &tenant_section},
    {CUSTOM("sites", T_LIST), .req = 1, .sub = &site_section},
    {CUSTOM("nodes", T_LIST), .sub = &node_section},
    {CUSTOM("links", T_LIST), .sub = &link_section},
    {CUSTOM("origins", T_LIST), .req = 1, .sub = &origin_section},
    {CUSTOM("topology", T_MAP), .sub = &topology_section},
};
static const section_t root_section = SECTION(root_fields);

static int field_index(const section_t *s, const char *key)
{
  for (int i = 0; i < s->n; i++)
    if (strcmp(s->f[i].key, key) == 0)
      return i;
  return -1;
}

static const field_t *find_field(const section_t *s, const char *key)
{
  int i = field_index(s, key);
  return i < 0 ? NULL : &s->f[i];
}

/* Bit of `key` in a presence mask returned by map_fields(). */
static uint64_t bit(const section_t *s, const char *key)
{
  int i = field_index(s, key);
  return i < 0 ? 0 : (uint64_t)1 << i;
}

/* ------------------------------------------------------------------------------------------------
 * Scalar conversion with type and range checks. Each returns 1 on success, 0 after reporting. */

static int get_num(ctx_t *c, const node_t *v, const char *path, double *out)
{
  char buf[80];
  if (v->kind != N_SCALAR || is_null(v)) {
    report(c, v, path, "number expected, got %s", show(v, buf, sizeof buf));
    return 0;
  }
  if (!v->plain) {
    report(c, v, path, "number expected, got the quoted string %s", show(v, buf, sizeof buf));
    return 0;
  }
  char *end;
  errno = 0;
  double x = strtod(v->str, &end);
  if (end == v->str || *end != '\0' || isnan(x) || (isinf(x) && errno != ERANGE)) {
    report(c, v, path, "number expected, got %s", show(v, buf, sizeof buf));
    return 0;
  }
  if (!isfinite(x)) {
    report(c, v, path, "number too large (got %s)", show(v, buf, sizeof buf));
    return 0;
  }
  *out = x;
  return 1;
}

static void range_text(const field_t *f, char *out, size_t size)
{
  int lo = f->rng & R_LO, hi = f->rng & R_HI;
  if (lo && hi)
    snprintf(out, size, "in %c%g, %g%c", (f->rng & R_LO_OPEN) ? '(' : '[', f->lo, f->hi,
             (f->rng & R_HI_OPEN) ? ')' : ']');
  else if (lo)
    snprintf(out, size, "%s %g", (f->rng & R_LO_OPEN) ? ">" : ">=", f->lo);
  else if (hi)
    snprintf(out, size, "%s %g", (f->rng & R_HI_OPEN) ? "<" : "<=", f->hi);
  else
    snprintf(out, size, "a number");
  if (f->rng & R_ZERO_OK) {
    size_t n = strlen(out);
    snprintf(out + n, size - n, ", or 0 for the catalog default");
  }
}

static int check_range(ctx_t *c, const node_t *v, const char *path, const field_t *f, double x)
{
  int ok = 1;
  if ((f->rng & R_ZERO_OK) && x == 0)
    return 1;
  if (f->rng & R_LO)
    ok = ok && ((f->rng & R_LO_OPEN) ? x > f->lo : x >= f->lo);
  if (f->rng & R_HI)
    ok = ok && ((f->rng & R_HI_OPEN) ? x < f->hi : x <= f->hi);
  if (!ok) {
    char r[96];
    range_text(f, r, sizeof r);
    report(c, v, path, "must be %s (got %s)", r, v->str);
  }
  return ok;
}

static int get_integer(ctx_t *c, const node_t *v, const char *path, const field_t *f, double max, double *out)
{
  double x;
  char buf[80];
  if (!get_num(c, v, path, &x))
    return 0;
  if (x != floor(x)) {
    report(c, v, path, "integer expected, got %s", show(v, buf, sizeof buf));
    return 0;
  }
  if (!check_range(c, v, path, f, x))
    return 0;
  if (x > max || x < -max - 1) {
    report(c, v, path, "must be <= %.0f (got %s)", max, v->str);
    return 0;
  }
  *out = x;
  return 1;
}

static int get_ulong(ctx_t *c, const node_t *v, const char *path, unsigned long *out)
{
  char buf[80];
  const char *s = v->kind == N_SCALAR ? v->str : "";
  if (v->kind == N_SCALAR && v->plain && s[0] != '\0' && strspn(s, "0123456789") == strlen(s)) {
    errno = 0; /* digits only: exact, beyond the 2^53 a double holds */
    unsigned long long x = strtoull(s, NULL, 10);
    if (errno == ERANGE || x > ULONG_MAX) {
      report(c, v, path, "must be <= %lu (got %s)", ULONG_MAX, s);
      return 0;
    }
    *out = (unsigned long)x;
    return 1;
  }
  double x;
  if (!get_num(c, v, path, &x))
    return 0;
  if (x < 0) {
    report(c, v, path, "must be >= 0 (got %s)", s);
    return 0;
  }
  if (x != floor(x)) {
    report(c, v, path, "integer expected, got %s", show(v, buf, sizeof buf));
    return 0;
  }
  if (x >= 18446744073709551616.0 || x > (double)ULONG_MAX) {
    report(c, v, path, "must be <= %lu (got %s)", ULONG_MAX, s);
    return 0;
  }
  *out = (unsigned long)x;
  return 1;
}

static int get_bool(ctx_t *c, const node_t *v, const char *path, int *out)
{
  char buf[80];
  if (!parse_bool(v, out)) {
    report(c, v, path, "boolean expected (true or false), got %s", show(v, buf, sizeof buf));
    return 0;
  }
  return 1;
}

static int get_str(ctx_t *c, const node_t *v, const char *path, char *dst, size_t size, int check)
{
  char buf[80];
  if (v->kind != N_SCALAR || is_null(v)) {
    report(c, v, path, "string expected, got %s", show(v, buf, sizeof buf));
    return 0;
  }
  size_t len = strlen(v->str);
  if (check != S_ANY && len == 0) {
    report(c, v, path, "must not be empty");
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    if ((unsigned char)v->str[i] < 0x20 || v->str[i] == 0x7f) {
      report(c, v, path, "must not contain control characters");
      return 0;
    }
  }
  if (check == S_COUNTRY) {
    if (len != 2 || !isalpha((unsigned char)v->str[0]) || !isalpha((unsigned char)v->str[1])) {
      report(c, v, path, "must be a 2-letter ISO 3166 country code such as CN (got %s)", show(v, buf, sizeof buf));
      return 0;
    }
    dst[0] = (char)toupper((unsigned char)v->str[0]);
    dst[1] = (char)toupper((unsigned char)v->str[1]);
    dst[2] = '\0';
    return 1;
  }
  if (size && len >= size) {
    report(c, v, path, "too long: %zu characters, at most %zu", len, size - 1);
    return 0;
  }
  if (dst)
    memcpy(dst, v->str, len + 1);
  return 1;
}

static void list_words(sbuf_t *b, const char *const *words, int n)
{
  for (int i = 0; n < 0 ? words[i] != NULL : i < n; i++)
    sb_printf(b, "%s%s", i ? ", " : "", words[i]);
}

static int get_enum(ctx_t *c, const node_t *v, const char *path, const char *const *names, int *out)
{
  char buf[80];
  if (v->kind == N_SCALAR && !is_null(v)) {
    for (int i = 0; names[i]; i++) {
      if (strcmp(v->str, names[i]) == 0) {
        *out = i;
        return 1;
      }
    }
  }
  sbuf_t b = {0};
  const char *best = NULL;
  int best_d = 3;
  if (v->kind == N_SCALAR)
    for (int i = 0; names[i]; i++)
      suggest(v->str, names[i], &best, &best_d);
  list_words(&b, names, -1);
  if (best)
    report(c, v, path, "must be one of %s (got %s); did you mean '%s'?", b.p ? b.p : "", show(v, buf, sizeof buf),
           best);
  else
    report(c, v, path, "must be one of %s (got %s)", b.p ? b.p : "", show(v, buf, sizeof buf));
  free(b.p);
  return 0;
}

static void unknown_key(ctx_t *c, const node_t *key, const char *path, const section_t *s)
{
  char kp[PATH_LEN];
  join(kp, path, key->str);
  if (strcmp(key->str, "remove") == 0) {
    report(c, key, kp, "unknown key 'remove': 'remove: true' only deletes a named item inherited through "
                       "'extends', and no such item was inherited here");
    return;
  }
  sbuf_t b = {0};
  const char *best = NULL;
  int best_d = 3;
  for (int i = 0; i < s->n; i++) {
    suggest(key->str, s->f[i].key, &best, &best_d);
    sb_printf(&b, "%s%s", i ? ", " : "", s->f[i].key);
  }
  if (best)
    report(c, key, kp, "unknown key '%s'; did you mean '%s'? (allowed: %s)", key->str, best, b.p ? b.p : "");
  else
    report(c, key, kp, "unknown key '%s' (allowed: %s)", key->str, b.p ? b.p : "");
  free(b.p);
}

static void set_default(const field_t *f, void *out)
{
  if (f->off == NOFF)
    return;
  char *p = (char *)out + f->off;
  switch (f->type) {
  case T_NUM: *(double *)p = f->def; break;
  case T_INT:
  case T_BOOL:
  case T_ENUM: *(int *)p = (int)f->def; break;
  case T_LONG: *(long *)p = (long)f->def; break;
  case T_ULONG: *(unsigned long *)p = (unsigned long)f->def; break;
  case T_STR:
  case T_SENUM: snprintf(p, f->size, "%s", f->sdef ? f->sdef : ""); break;
  default: break;
  }
}

static void apply_defaults(const section_t *s, void *out)
{
  for (int i = 0; i < s->n; i++)
    set_default(&s->f[i], out);
}

static void convert_value(ctx_t *c, const node_t *v, const char *path, const field_t *f, void *out)
{
  char *p = (char *)out + f->off;
  double x;
  switch (f->type) {
  case T_NUM:
    if (get_num(c, v, path, &x) && check_range(c, v, path, f, x))
      *(double *)p = x;
    break;
  case T_INT:
    if (get_integer(c, v, path, f, INT_MAX, &x))
      *(int *)p = (int)x;
    break;
  case T_LONG:
    if (get_integer(c, v, path, f, 9007199254740992.0 /* 2^53: exact in a double */, &x))
      *(long *)p = (long)x;
    break;
  case T_ULONG: get_ulong(c, v, path, (unsigned long *)p); break;
  case T_BOOL: get_bool(c, v, path, (int *)p); break;
  case T_STR: get_str(c, v, path, p, f->size, f->check); break;
  case T_ENUM: get_enum(c, v, path, f->enums, (int *)p); break;
  case T_SENUM: {
    int k;
    if (get_enum(c, v, path, f->enums, &k))
      snprintf(p, f->size, "%s", f->enums[k]);
    break;
  }
  default: break;
  }
}

/* Maps the fields of section `s` found in mapping `m` into `out` (defaults first), reporting unknown
 * keys, wrong types, out-of-range values and missing required keys. Fields without an offset are left
 * to the caller. Returns a mask of the fields present (bit i = s->f[i]). */
static uint64_t map_fields(ctx_t *c, const node_t *m, const char *path, const section_t *s, void *out)
{
  uint64_t present = 0;
  apply_defaults(s, out);
  for (int k = 0; k < m->n; k++)
    if (!find_field(s, m->keys[k]->str))
      unknown_key(c, m->keys[k], path, s);
  for (int i = 0; i < s->n; i++) {
    const field_t *f = &s->f[i];
    const node_t *v = map_get(m, f->key);
    if (!v) {
      if (f->req)
        report(c, m, path, "missing required key '%s'", f->key);
      continue;
    }
    present |= (uint64_t)1 << i;
    if (f->off != NOFF) {
      char kp[PATH_LEN];
      join(kp, path, f->key);
      convert_value(c, v, kp, f, out);
    }
  }
  return present;
}

/* The mapping under `key`, NULL when absent or null; reports a value that is not a mapping. */
static const node_t *get_map(ctx_t *c, const node_t *parent, const char *key, const char *kp, const char *hint)
{
  const node_t *v = map_get(parent, key);
  char buf[80];
  if (!v || is_null(v))
    return NULL;
  if (v->kind != N_MAP) {
    report(c, v, kp, "expected a mapping%s, got %s", hint, show(v, buf, sizeof buf));
    return NULL;
  }
  return v;
}

/* A list of items of one section, mapped into a calloc'd array of `elem`-byte structs. */
typedef struct {
  const node_t *list;    /* NULL when absent */
  int n;
  void *arr;
  const node_t **items;  /* the item mappings (NULL where an item is not a mapping) */
  uint64_t *present;     /* map_fields() masks */
} list_t;

static void list_free(list_t *l)
{
  free(l->items);
  free(l->present);
}

static int map_list(ctx_t *c, const node_t *parent, const char *key, const char *path, const section_t *s,
                    size_t elem, list_t *l)
{
  char buf[80];
  memset(l, 0, sizeof *l);
  const node_t *v = map_get(parent, key);
  if (!v || is_null(v))
    return 0;
  if (v->kind != N_SEQ) {
    report(c, v, path, "expected a list (lines starting with '- '), got %s", show(v, buf, sizeof buf));
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
    list_free(l);
    memset(l, 0, sizeof *l);
    c->oom = 1;
    return -1;
  }
  l->n = v->n;
  for (int i = 0; i < v->n; i++) {
    char ip[PATH_LEN];
    join_index(ip, path, i);
    void *out = (char *)l->arr + (size_t)i * elem;
    if (v->vals[i]->kind != N_MAP) {
      report(c, v->vals[i], ip, "expected a mapping of keys (like {name: ...}), got %s",
             show(v->vals[i], buf, sizeof buf));
      apply_defaults(s, out);
      continue;
    }
    l->items[i] = v->vals[i];
    l->present[i] = map_fields(c, v->vals[i], ip, s, out);
  }
  return 0;
}

/* The name of item i of a list, or "" (a struct's `name` is its first member in every section). */
static const char *item_name(const list_t *l, size_t elem, size_t name_off, int i)
{
  return (const char *)l->arr + (size_t)i * elem + name_off;
}

static void check_unique_names(ctx_t *c, const list_t *l, size_t elem, size_t name_off, const char *path,
                               const char *what)
{
  for (int i = 0; i < l->n; i++) {
    const char *ni = item_name(l, elem, name_off, i);
    if (!l->items[i] || !ni[0])
      continue;
    for (int j = 0; j < i; j++) {
      if (l->items[j] && strcmp(ni, item_name(l, elem, name_off, j)) == 0) {
        char ip[PATH_LEN];
        /* A defaulted name (a pool named after its accel) has no node: point at the item. */
        const node_t *first = map_get(l->items[j], "name"), *at = map_get(l->items[i], "name");
        first = first ? first : l->items[j];
        pathf(ip, "%s[%d].name", path, i);
        report(c, at ? at : l->items[i], ip, "duplicate %s name '%s' (first defined at %s:%d:%d)%s", what, ni,
               first->file, first->line, first->col, at ? "" : "; give the items different 'name's");
        break;
      }
    }
  }
}

/* Shares of a list must not all be zero (they are normalised by their sum). */
static void check_shares(ctx_t *c, const list_t *l, size_t elem, size_t share_off, const char *path)
{
  double sum = 0;
  for (int i = 0; i < l->n; i++)
    sum += *(const double *)((const char *)l->arr + (size_t)i * elem + share_off);
  if (l->n > 0 && !(sum > 0))
    report(c, l->list, path, "every share is 0; at least one must be > 0");
}

static void require_items(ctx_t *c, const list_t *l, const char *path, const char *what)
{
  if (l->list && l->n == 0)
    report(c, l->list, path, "must list at least one %s", what);
}

/* ------------------------------------------------------------------------------------------------
 * Mapping of the sections. */

static void map_diurnal(ctx_t *c, const node_t *demand, cpn_demand_spec_t *d)
{
  char buf[80];
  d->diurnal = CPN_DIURNAL_FLAT;
  d->diurnal_enabled = 0;
  const node_t *v = demand ? map_get(demand, "diurnal") : NULL;
  if (!v)
    return;
  if (v->kind == N_SCALAR && strcmp(v->str, "flat") == 0)
    return;
  if (v->kind == N_SCALAR && strcmp(v->str, "default") == 0) {
    d->diurnal = CPN_DIURNAL_DEFAULT;
    d->diurnal_enabled = 1;
    return;
  }
  if (v->kind != N_SEQ) {
    report(c, v, "demand.diurnal", "must be 'flat', 'default' or a list of 24 hourly multipliers (got %s)",
           show(v, buf, sizeof buf));
    return;
  }
  if (v->n != 24) {
    report(c, v, "demand.diurnal", "must list exactly 24 hourly multipliers, one per hour from 00:00 (got %d)",
           v->n);
    return;
  }
  static const field_t nonneg = {.key = "diurnal", .type = T_NUM, GE(0)};
  double x[24], sum = 0;
  int ok = 1;
  for (int i = 0; i < 24; i++) {
    char ip[PATH_LEN];
    join_index(ip, "demand.diurnal", i);
    if (get_num(c, v->vals[i], ip, &x[i]) && check_range(c, v->vals[i], ip, &nonneg, x[i]))
      sum += x[i];
    else
      ok = 0;
  }
  if (!ok)
    return;
  if (!(sum > 0)) {
    report(c, v, "demand.diurnal", "every multiplier is 0; at least one must be > 0");
    return;
  }
  /* Normalised to mean 1 so demand.scale and the origins' rates keep their meaning. */
  double mean = sum / 24;
  for (int i = 0; i < 24; i++)
    d->diurnal.hourly[i] = x[i] / mean;
  d->diurnal_enabled = 1;
}

/* run.policy_params / run.autoscaler_params: a mapping of names to numbers, kept in file order. */
static void map_params(ctx_t *c, const node_t *run, const char *key, char (**keys_out)[CPN_NAME_MAX],
                       double **values_out, int *n_out)
{
  char kp[PATH_LEN];
  join(kp, "run", key);
  const node_t *m = run ? get_map(c, run, key, kp, " of parameter names to numbers, like {w_cost: 2}") : NULL;
  if (!m || m->n == 0)
    return;
  if (m->n > MAX_PARAMS) {
    report(c, m, kp, "at most %d parameters (got %d)", MAX_PARAMS, m->n);
    return;
  }
  char (*keys)[CPN_NAME_MAX] = calloc((size_t)m->n, sizeof *keys);
  double *values = calloc((size_t)m->n, sizeof *values);
  if (!keys || !values) {
    free(keys);
    free(values);
    c->oom = 1;
    return;
  }
  int n = 0;
  for (int i = 0; i < m->n; i++) {
    char ip[PATH_LEN];
    join(ip, kp, m->keys[i]->str);
    if (get_str(c, m->keys[i], ip, keys[n], CPN_NAME_MAX, S_NAME) && get_num(c, m->vals[i], ip, &values[n]))
      n++;
  }
  *keys_out = keys;
  *values_out = values;
  *n_out = n;
}

/* Resolves a file named in the scenario: relative to the directory of the file that holds the value (a
 * --set value: relative to the current directory), then made absolute so that a printed scenario loads
 * from anywhere. Checks that it is a readable regular file. Returns 1, or 0 after reporting. */
static int resolve_input_file(ctx_t *c, const node_t *v, const char *path, const char *what, char *out,
                              size_t size)
{
  char buf[80];
  if (v->kind != N_SCALAR || is_null(v) || v->str[0] == '\0') {
    report(c, v, path, "a file name expected, got %s", show(v, buf, sizeof buf));
    return 0;
  }
  sbuf_t b = {0};
  const char *slash = strrchr(v->file, '/');
  if (v->str[0] == '/' || v->file == c->set_file || !slash)
    sb_printf(&b, "%s", v->str);
  else
    sb_printf(&b, "%.*s/%s", (int)(slash - v->file), v->file, v->str);
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
    report(c, v, path, "cannot read %s '%s': %s", what, b.p, why);
  } else {
    memcpy(out, abs, strlen(abs) + 1);
  }
  free(abs);
  free(b.p);
  return why == NULL;
}

/* demand.trace: the trace_* fields of the demand spec; absent = generated workload. */
static void map_trace(ctx_t *c, const node_t *demand, cpn_demand_spec_t *d)
{
  apply_defaults(&trace_section, d);
  d->trace_file[0] = '\0';
  const node_t *m = demand ? get_map(c, demand, "trace", "demand.trace", " like {file: trace.csv}") : NULL;
  if (!m)
    return;
  uint64_t p = map_fields(c, m, "demand.trace", &trace_section, d);
  const node_t *fv = map_get(m, "file");
  if (fv)
    resolve_input_file(c, fv, "demand.trace.file", "the trace", d->trace_file, sizeof d->trace_file);
  int custom = strcmp(d->trace_mapping, "custom") == 0;
  static const char *const custom_only[] = {"format", "time_unit"};
  static const char *const custom_required[] = {"time_col", "prompt_col", "output_col"};
  if (!custom) {
    for (int i = 0; i < 2; i++) {
      const node_t *k = map_key(m, custom_only[i]);
      char kp[PATH_LEN];
      join(kp, "demand.trace", custom_only[i]);
      if (k)
        report(c, k, kp, "'%s' is only used by mapping 'custom' (mapping '%s' fixes it)", custom_only[i],
               d->trace_mapping);
    }
    return;
  }
  if (!(p & bit(&trace_section, "format")))
    snprintf(d->trace_format, sizeof d->trace_format, "csv");
  if (!(p & bit(&trace_section, "time_unit")))
    snprintf(d->trace_time_unit, sizeof d->trace_time_unit, "s");
  for (int i = 0; i < 3; i++)
    if (!(p & bit(&trace_section, custom_required[i])))
      report(c, m, "demand.trace", "missing required key '%s' (mapping 'custom' needs time_col, prompt_col and "
             "output_col)", custom_required[i]);
}

static void map_dist(ctx_t *c, const node_t *cls, const char *key, const char *path, cpn_dist_t *out,
                     const cpn_dist_t *def)
{
  char kp[PATH_LEN];
  join(kp, path, key);
  *out = *def;
  const node_t *m = get_map(c, cls, key, kp, " like {dist: lognormal, mu: 7, sigma: 1}");
  if (!m)
    return;
  cpn_dist_t d;
  uint64_t p = map_fields(c, m, kp, &dist_section, &d);
  const node_t *dv = map_get(m, "dist");
  int kind;
  char dp[PATH_LEN];
  join(dp, kp, "dist");
  if (!dv || !get_enum(c, dv, dp, DISTS, &kind))
    return;
  /* Parameters the chosen distribution does not use are mistakes, not silently ignored. */
  static const char *const params[] = {"mu", "sigma", "mean"};
  const char *uses = kind == CPN_DIST_LOGNORMAL ? "mu, sigma, min, max"
                     : kind < N_PLAIN_DISTS     ? "mean, min, max"
                                                : "min, max";
  for (int i = 0; i < 3; i++) {
    int used = kind == CPN_DIST_LOGNORMAL ? i < 2 : kind < N_PLAIN_DISTS ? i == 2 : 0;
    const node_t *k = map_key(m, params[i]);
    if (k && !used) {
      char pp[PATH_LEN];
      join(pp, kp, params[i]);
      report(c, k, pp, "'%s' is not used by dist '%s' (it uses: %s)", params[i], DISTS[kind], uses);
    } else if (!k && used) {
      report(c, m, kp, "missing required key '%s' (dist '%s' uses: %s)", params[i], DISTS[kind], uses);
    }
  }
  if (kind == CPN_DIST_GEOMETRIC && (p & bit(&dist_section, "mean")) && d.mean < 1) {
    char pp[PATH_LEN];
    join(pp, kp, "mean");
    report(c, map_get(m, "mean"), pp, "must be >= 1 for dist 'geometric' (got %s)", map_get(m, "mean")->str);
  }
  if (kind < N_PLAIN_DISTS) {
    d.kind = (cpn_dist_kind_t)kind;
  } else {
    cpn_dist_t a = *AZURE_DISTS[kind - N_PLAIN_DISTS];
    if (p & bit(&dist_section, "min"))
      a.min = d.min;
    if (p & bit(&dist_section, "max"))
      a.max = d.max;
    d = a;
  }
  if (d.max > 0 && d.max < d.min) {
    const node_t *mx = map_get(m, "max") ? map_get(m, "max") : m;
    char pp[PATH_LEN];
    join(pp, kp, "max");
    report(c, mx, pp, "must be >= min (%g), or 0 for no upper clamp (got %g)", d.min, d.max);
  }
  *out = d;
}

/* A site or node found by name. */
typedef struct {
  int site, node;   /* index, or -1 */
} endpoint_t;

typedef struct {
  cpn_scenario_t *sc;
  unsigned char *site_geo, *node_geo; /* 1 where both lat and lon were given */
} mapping_t;

static endpoint_t find_endpoint(const cpn_scenario_t *sc, const char *name)
{
  endpoint_t e = {-1, -1};
  for (int i = 0; i < sc->n_sites && e.site < 0; i++)
    if (strcmp(sc->sites[i].name, name) == 0)
      e.site = i;
  for (int i = 0; i < sc->n_nodes && e.site < 0 && e.node < 0; i++)
    if (strcmp(sc->nodes[i].name, name) == 0)
      e.node = i;
  return e;
}

/* Reports a reference to a site or node that does not exist, with a suggestion. */
static int resolve_endpoint(ctx_t *c, const cpn_scenario_t *sc, const node_t *v, const char *path, const char *name,
                            endpoint_t *e)
{
  *e = find_endpoint(sc, name);
  if (e->site >= 0 || e->node >= 0)
    return 1;
  const char *best = NULL;
  int best_d = 3;
  for (int i = 0; i < sc->n_sites; i++)
    suggest(name, sc->sites[i].name, &best, &best_d);
  for (int i = 0; i < sc->n_nodes; i++)
    suggest(name, sc->nodes[i].name, &best, &best_d);
  if (best)
    report(c, v, path, "no site or node named '%s'; did you mean '%s'?", name, best);
  else
    report(c, v, path, "no site or node named '%s'", name);
  return 0;
}

double cpn_scenario_great_circle_m(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg)
{
  /* Haversine formula: numerically sound at short distances, where the law of cosines is not. */
  double p1 = lat1_deg * PI / 180, p2 = lat2_deg * PI / 180;
  double dp = p2 - p1, dl = (lon2_deg - lon1_deg) * PI / 180;
  double h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
  if (h > 1)
    h = 1;
  return 2 * EARTH_RADIUS_M * asin(sqrt(h));
}

static void map_sites(ctx_t *c, const node_t *root, mapping_t *mp)
{
  cpn_scenario_t *sc = mp->sc;
  list_t l;
  if (map_list(c, root, "sites", "sites", &site_section, sizeof(cpn_site_spec_t), &l))
    return;
  sc->sites = l.arr;
  sc->n_sites = l.n;
  require_items(c, &l, "sites", "site");
  if (l.n && !(mp->site_geo = calloc((size_t)l.n, 1))) {
    c->oom = 1;
    list_free(&l);
    return;
  }
  for (int i = 0; i < l.n; i++) {
    cpn_site_spec_t *s = &sc->sites[i];
    const node_t *it = l.items[i];
    char sp[PATH_LEN];
    join_index(sp, "sites", i);
    if (!it)
      continue;
    s->line = it->line;
    if (!(l.present[i] & bit(&site_section, "region")))
      snprintf(s->region, sizeof s->region, "%s", s->name);
    mp->site_geo[i] = (l.present[i] & bit(&site_section, "lat")) && (l.present[i] & bit(&site_section, "lon"));

    char pp[PATH_LEN];
    join(pp, sp, "pools");
    list_t pl;
    if (map_list(c, it, "pools", pp, &pool_section, sizeof(cpn_pool_spec_t), &pl))
      continue;
    s->pools = pl.arr;
    s->n_pools = pl.n;
    for (int j = 0; j < pl.n; j++)
      if (pl.items[j] && !(pl.present[j] & bit(&pool_section, "name")))
        snprintf(s->pools[j].name, sizeof s->pools[j].name, "%s", s->pools[j].accel);
    check_unique_names(c, &pl, sizeof(cpn_pool_spec_t), offsetof(cpn_pool_spec_t, name), pp, "pool");

    char rp[PATH_LEN];
    join(rp, sp, "replicas");
    list_t rl;
    if (map_list(c, it, "replicas", rp, &replica_section, sizeof(cpn_replica_spec_t), &rl)) {
      list_free(&pl);
      continue;
    }
    s->replicas = rl.arr;
    s->n_replicas = rl.n;
    for (int j = 0; j < rl.n; j++) {
      cpn_replica_spec_t *r = &s->replicas[j];
      const node_t *ri = rl.items[j];
      r->model = -1;
      r->pool = -1;
      if (!ri)
        continue;
      char ip[PATH_LEN], kp[PATH_LEN];
      join_index(ip, rp, j);
      if (r->unloaded > r->count && r->count >= 0) {
        join(kp, ip, "unloaded");
        report(c, map_get(ri, "unloaded"), kp, "must be <= count (%d): unloaded replicas are some of the "
               "count replicas (got %d)", r->count, r->unloaded);
      }
      char name[CPN_NAME_MAX];
      const node_t *mv = map_get(ri, "model"), *pv = map_get(ri, "pool");
      join(kp, ip, "model");
      if (mv && get_str(c, mv, kp, name, sizeof name, S_NAME)) {
        r->model = cpn_scenario_model_index(sc, name);
        if (r->model < 0) {
          const char *best = NULL;
          int best_d = 3;
          for (int k = 0; k < sc->n_models; k++)
            suggest(name, sc->models[k].name, &best, &best_d);
          if (best)
            report(c, mv, kp, "no model named '%s' in 'models'; did you mean '%s'?", name, best);
          else
            report(c, mv, kp, "no model named '%s' in 'models'", name);
        }
      }
      join(kp, ip, "pool");
      if (!pv) {
        if (s->n_pools > 0)
          r->pool = 0;
        else
          report(c, ri, ip, "site '%s' has no pools to place this replica in", s->name);
      } else if (get_str(c, pv, kp, name, sizeof name, S_NAME)) {
        for (int k = 0; k < s->n_pools && r->pool < 0; k++)
          if (strcmp(s->pools[k].name, name) == 0)
            r->pool = k;
        if (r->pool < 0) {
          const char *best = NULL;
          int best_d = 3;
          sbuf_t b = {0};
          for (int k = 0; k < s->n_pools; k++) {
            suggest(name, s->pools[k].name, &best, &best_d);
            sb_printf(&b, "%s%s", k ? ", " : "", s->pools[k].name);
          }
          report(c, pv, kp, "site '%s' has no pool named '%s'%s%s%s (pools: %s)", s->name, name,
                 best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "", b.p ? b.p : "none");
          free(b.p);
        }
      }
    }
    /* Replicas must fit in their pool: sum of tp x count over the pool's replicas <= its count. */
    for (int k = 0; k < s->n_pools; k++) {
      long need = 0;
      for (int j = 0; j < s->n_replicas; j++)
        if (s->replicas[j].pool == k)
          need += (long)s->replicas[j].tp * s->replicas[j].count;
      if (pl.items[k] && s->pools[k].count >= 1 && need > s->pools[k].count) { /* count 0: already reported */
        char kp[PATH_LEN];
        pathf(kp, "%s[%d].count", pp, k);
        const node_t *cv = map_get(pl.items[k], "count");
        report(c, cv ? cv : pl.items[k], kp,
               "pool '%s' of site '%s' has %d accelerators but its replicas need %ld (sum of tp x count)",
               s->pools[k].name, s->name, s->pools[k].count, need);
      }
    }
    list_free(&pl);
    list_free(&rl);
  }
  check_unique_names(c, &l, sizeof(cpn_site_spec_t), offsetof(cpn_site_spec_t, name), "sites", "site");
  list_free(&l);
}

/* models[].store must name a site (sites are mapped after models). */
static void check_stores(ctx_t *c, const node_t *root, const cpn_scenario_t *sc)
{
  const node_t *ml = map_get(root, "models");
  if (!ml || ml->kind != N_SEQ || ml->n != sc->n_models)
    return;
  for (int i = 0; i < sc->n_models; i++) {
    const char *store = sc->models[i].store;
    const node_t *v = map_get(ml->vals[i], "store");
    if (!store[0] || !v || cpn_scenario_site_index(sc, store) >= 0)
      continue;
    char kp[PATH_LEN];
    pathf(kp, "models[%d].store", i);
    const char *best = NULL;
    int best_d = 3;
    for (int k = 0; k < sc->n_sites; k++)
      suggest(store, sc->sites[k].name, &best, &best_d);
    report(c, v, kp, "no site named '%s' (the store holds the weights cold starts fetch)%s%s%s", store,
           best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
  }
}

static void map_nodes(ctx_t *c, const node_t *root, mapping_t *mp)
{
  cpn_scenario_t *sc = mp->sc;
  list_t l;
  if (map_list(c, root, "nodes", "nodes", &node_section, sizeof(cpn_node_spec_t), &l))
    return;
  sc->nodes = l.arr;
  sc->n_nodes = l.n;
  if (l.n && !(mp->node_geo = calloc((size_t)l.n, 1))) {
    c->oom = 1;
    list_free(&l);
    return;
  }
  for (int i = 0; i < l.n; i++)
    mp->node_geo[i] = (l.present[i] & bit(&node_section, "lat")) && (l.present[i] & bit(&node_section, "lon"));
  check_unique_names(c, &l, sizeof(cpn_node_spec_t), offsetof(cpn_node_spec_t, name), "nodes", "node");
  /* Sites and nodes share one namespace: links and origins name either. */
  for (int i = 0; i < l.n; i++) {
    if (!l.items[i] || !sc->nodes[i].name[0])
      continue;
    for (int j = 0; j < sc->n_sites; j++) {
      if (strcmp(sc->nodes[i].name, sc->sites[j].name) == 0) {
        char ip[PATH_LEN];
        pathf(ip, "nodes[%d].name", i);
        report(c, map_get(l.items[i], "name"), ip, "name '%s' is already used by site %d (sites and nodes share names)",
               sc->nodes[i].name, j);
        break;
      }
    }
  }
  list_free(&l);
}

static void map_links(ctx_t *c, const node_t *root, mapping_t *mp)
{
  cpn_scenario_t *sc = mp->sc;
  list_t l;
  if (map_list(c, root, "links", "links", &link_section, sizeof(cpn_link_spec_t), &l))
    return;
  sc->links = l.arr;
  sc->n_links = l.n;
  for (int i = 0; i < l.n; i++) {
    cpn_link_spec_t *k = &sc->links[i];
    const node_t *it = l.items[i];
    if (!it)
      continue;
    k->line = it->line;
    char ip[PATH_LEN], kp[PATH_LEN];
    join_index(ip, "links", i);
    endpoint_t ea, eb;
    int ok = 1;
    join(kp, ip, "a");
    if (k->a[0])
      ok &= resolve_endpoint(c, sc, map_get(it, "a"), kp, k->a, &ea);
    else
      ok = 0;
    join(kp, ip, "b");
    if (k->b[0])
      ok &= resolve_endpoint(c, sc, map_get(it, "b"), kp, k->b, &eb);
    else
      ok = 0;
    if (!ok)
      continue;
    if (strcmp(k->a, k->b) == 0) {
      report(c, map_get(it, "b"), kp, "a link must join two different places (a and b are both '%s')", k->a);
      continue;
    }
    for (int j = 0; j < i; j++) {
      const cpn_link_spec_t *o = &sc->links[j];
      if (l.items[j] && ((strcmp(o->a, k->a) == 0 && strcmp(o->b, k->b) == 0) ||
                         (strcmp(o->a, k->b) == 0 && strcmp(o->b, k->a) == 0))) {
        report(c, it, ip, "a second link between '%s' and '%s' (the first is links[%d], line %d)", k->a, k->b, j,
               o->line);
        break;
      }
    }
    if (!(l.present[i] & bit(&link_section, "latency_s"))) {
      int ga = ea.site >= 0 ? mp->site_geo[ea.site] : mp->node_geo[ea.node];
      int gb = eb.site >= 0 ? mp->site_geo[eb.site] : mp->node_geo[eb.node];
      if (ga && gb) {
        double la = ea.site >= 0 ? sc->sites[ea.site].lat_deg : sc->nodes[ea.node].lat_deg;
        double oa = ea.site >= 0 ? sc->sites[ea.site].lon_deg : sc->nodes[ea.node].lon_deg;
        double lb = eb.site >= 0 ? sc->sites[eb.site].lat_deg : sc->nodes[eb.node].lat_deg;
        double ob = eb.site >= 0 ? sc->sites[eb.site].lon_deg : sc->nodes[eb.node].lon_deg;
        k->latency_s = cpn_scenario_great_circle_m(la, oa, lb, ob) / LIGHT_SPEED_FIBRE_M_S;
      } else {
        report(c, it, ip, "missing required key 'latency_s' (it may be left out only when both '%s' and '%s' "
                          "have lat and lon)", k->a, k->b);
      }
    }
  }
  list_free(&l);
}

/* Union-find over sites and nodes, to find origins that no link connects to any site. */
static int uf_find(int *parent, int i)
{
  while (parent[i] != i)
    i = parent[i] = parent[parent[i]];
  return i;
}

static void map_origins(ctx_t *c, const node_t *root, mapping_t *mp)
{
  cpn_scenario_t *sc = mp->sc;
  list_t l;
  if (map_list(c, root, "origins", "origins", &origin_section, sizeof(cpn_origin_spec_t), &l))
    return;
  sc->origins = l.arr;
  sc->n_origins = l.n;
  require_items(c, &l, "origins", "origin");
  int nv = sc->n_sites + sc->n_nodes;
  int *parent = malloc((size_t)(nv > 0 ? nv : 1) * sizeof *parent);
  unsigned char *has_site = calloc((size_t)(nv > 0 ? nv : 1), 1);
  if (!parent || !has_site) {
    free(parent);
    free(has_site);
    list_free(&l);
    c->oom = 1;
    return;
  }
  for (int i = 0; i < nv; i++)
    parent[i] = i;
  for (int i = 0; i < sc->n_links; i++) {
    endpoint_t a = find_endpoint(sc, sc->links[i].a), b = find_endpoint(sc, sc->links[i].b);
    if ((a.site < 0 && a.node < 0) || (b.site < 0 && b.node < 0))
      continue;
    int ia = a.site >= 0 ? a.site : sc->n_sites + a.node, ib = b.site >= 0 ? b.site : sc->n_sites + b.node;
    parent[uf_find(parent, ia)] = uf_find(parent, ib);
  }
  for (int i = 0; i < sc->n_sites; i++)
    has_site[uf_find(parent, i)] = 1;

  for (int i = 0; i < l.n; i++) {
    cpn_origin_spec_t *o = &sc->origins[i];
    const node_t *it = l.items[i];
    if (!it)
      continue;
    o->line = it->line;
    char ip[PATH_LEN], kp[PATH_LEN];
    join_index(ip, "origins", i);
    join(kp, ip, "node");
    endpoint_t e = {-1, -1};
    int found = o->node[0] && resolve_endpoint(c, sc, map_get(it, "node"), kp, o->node, &e);
    if (!(l.present[i] & bit(&origin_section, "country"))) {
      const char *cc = !found ? "CN" : e.site >= 0 ? sc->sites[e.site].country : sc->nodes[e.node].country;
      snprintf(o->country, sizeof o->country, "%s", cc);
    }
    if (!(l.present[i] & bit(&origin_section, "tz_h")))
      o->tz_h = found && e.site >= 0 ? sc->sites[e.site].tz_h : 8;
    if (found && e.site < 0 && !has_site[uf_find(parent, sc->n_sites + e.node)])
      report(c, map_get(it, "node"), kp, "node '%s' is not connected by links to any site", o->node);

    const node_t *rv = map_get(it, "residency");
    join(kp, ip, "residency");
    char buf[80];
    if (!rv || is_null(rv))
      continue;
    if (rv->kind != N_SEQ) {
      report(c, rv, kp, "expected a list of regions or country codes like [CN], got %s", show(rv, buf, sizeof buf));
      continue;
    }
    if (rv->n == 0)
      continue;
    if (!(o->allowed = calloc((size_t)rv->n, sizeof *o->allowed))) {
      c->oom = 1;
      break;
    }
    for (int j = 0; j < rv->n; j++) {
      char ep[PATH_LEN];
      join_index(ep, kp, j);
      char *dst = o->allowed[o->n_allowed];
      if (!get_str(c, rv->vals[j], ep, dst, CPN_NAME_MAX, S_NAME))
        continue;
      /* An entry that no site matches would silently leave the origin with fewer (or no) sites. */
      int match = 0;
      for (int k = 0; k < sc->n_sites && !match; k++)
        match = strcmp(sc->sites[k].region, dst) == 0 || strcmp(sc->sites[k].country, dst) == 0;
      if (!match) {
        const char *best = NULL;
        int best_d = 3;
        for (int k = 0; k < sc->n_sites; k++)
          suggest(dst, sc->sites[k].region, &best, &best_d);
        report(c, rv->vals[j], ep, "'%s' is neither the region nor the country of any site%s%s%s", dst,
               best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
        continue;
      }
      o->n_allowed++;
    }
  }
  check_unique_names(c, &l, sizeof(cpn_origin_spec_t), offsetof(cpn_origin_spec_t, name), "origins", "origin");
  free(parent);
  free(has_site);
  list_free(&l);
}

/* ------------------------------------------------------------------------------------------------
 * topology: nodes and links from GraphML, a SimGrid platform or a generator, added to the tree before
 * it is mapped, so that they are validated like written ones. Each value made here carries the location
 * of the topology key that made it. */

static node_t *gen_scalar(ctx_t *c, const node_t *at, const char *text, int plain)
{
  return scalar_new(c, text, strlen(text), plain, at->file, at->line, at->col);
}

static int gen_put(ctx_t *c, node_t *m, const node_t *at, const char *key, node_t *val)
{
  return val ? map_put(c, m, key, at->file, at->line, at->col, val) : -1;
}

static int gen_put_num(ctx_t *c, node_t *m, const node_t *at, const char *key, double x)
{
  char buf[40];
  snprintf(buf, sizeof buf, "%.17g", x); /* reads back to the same double */
  return gen_put(c, m, at, key, gen_scalar(c, at, buf, 1));
}

/* The root's list under `key`, created when absent or null; NULL when it is something else (mapping
 * reports that) or out of memory. */
static node_t *root_list(ctx_t *c, node_t *root, const char *key, const node_t *at)
{
  node_t *v = map_get(root, key);
  if (v && !is_null(v))
    return v->kind == N_SEQ ? v : NULL;
  node_t *l = node_new(c, N_SEQ, at->file, at->line, at->col);
  if (!l || map_put(c, root, key, at->file, at->line, at->col, l))
    return NULL;
  return l;
}

/* A node or site item: name (quoted: a label such as "null" or "1" stays a name), then lat/lon when
 * known, country when known. */
static node_t *gen_place(ctx_t *c, const node_t *at, const cpn_node_spec_t *nd)
{
  node_t *m = node_new(c, N_MAP, at->file, at->line, at->col);
  if (!m || gen_put(c, m, at, "name", gen_scalar(c, at, nd->name, 0)))
    return NULL;
  if (isfinite(nd->lat_deg) && isfinite(nd->lon_deg) &&
      (gen_put_num(c, m, at, "lat", nd->lat_deg) || gen_put_num(c, m, at, "lon", nd->lon_deg)))
    return NULL;
  if (nd->country[0] && gen_put(c, m, at, "country", gen_scalar(c, at, nd->country, 0)))
    return NULL;
  return m;
}

static node_t *gen_link(ctx_t *c, const node_t *at, const cpn_link_spec_t *l)
{
  node_t *m = node_new(c, N_MAP, at->file, at->line, at->col);
  if (!m || gen_put(c, m, at, "a", gen_scalar(c, at, l->a, 0)) || gen_put(c, m, at, "b", gen_scalar(c, at, l->b, 0)) ||
      gen_put_num(c, m, at, "latency_s", l->latency_s) || gen_put_num(c, m, at, "bw_bps", l->bw_bps) ||
      (l->shared && gen_put(c, m, at, "shared", gen_scalar(c, at, "true", 1))))
    return NULL;
  return m;
}

/* Reports a problem the SimGrid platform reader found, at its place in the XML file. */
static void platform_problem(void *arg, const char *file, int line, int col, const char *message)
{
  ctx_t *c = arg;
  report_at(c, intern(c, file), line, col, "topology.simgrid_xml", "%s", message);
}

static void expand_topology(ctx_t *c, node_t *root)
{
  if (!get_map(c, root, "topology", "topology", " like {graphml: FILE} or {generate: waxman, n: 100}"))
    return;
  node_t *t = map_get(root, "topology");
  /* A key set to null is absent, so that an extending file can drop an inherited one (`n: ~`). */
  for (int i = t->n - 1; i >= 0; i--)
    if (is_null(t->vals[i]))
      node_remove(t, i);
  int problems = c->n_msgs + c->n_dropped;
  topo_spec_t ts;
  uint64_t p = map_fields(c, t, "topology", &topology_section, &ts);
  static const char *const sources[] = {"graphml", "simgrid_xml", "generate"};
  const node_t *src = NULL;
  int which = -1, n_src = 0;
  for (int i = 0; i < 3; i++) {
    const node_t *v = map_get(t, sources[i]);
    if (v) {
      if (!src) {
        src = v;
        which = i;
      }
      n_src++;
    }
  }
  if (n_src == 0)
    report(c, t, "topology", "missing the source: one of graphml, simgrid_xml or generate");
  else if (n_src > 1)
    report(c, t, "topology", "give only one of graphml, simgrid_xml and generate (got %d; set the others to null "
           "to replace an inherited source)", n_src);
  const struct {
    const char *key;
    int ok;
    const char *why;
  } rules[] = {{"n", which == 2, "only used by generate"},
               {"seed", which == 2, "only used by generate"},
               {"bw_bps", which != 1, "not used with simgrid_xml, whose links carry their bandwidth"},
               {"site_template", ts.sites == 1, "only used with sites: all"},
               {"origins_per_site_rps", ts.sites == 1, "only used with sites: all"}};
  for (size_t i = 0; i < sizeof rules / sizeof rules[0] && n_src == 1; i++) {
    const node_t *k = map_key(t, rules[i].key);
    char kp[PATH_LEN];
    join(kp, "topology", rules[i].key);
    if (k && !rules[i].ok)
      report(c, k, kp, "'%s' is %s", rules[i].key, rules[i].why);
  }
  if (which == 2 && !(p & bit(&topology_section, "n")))
    report(c, t, "topology", "missing required key 'n' (generate makes n nodes)");
  const node_t *tmpl = NULL;
  if (ts.sites == 1) {
    tmpl = get_map(c, t, "site_template", "topology.site_template", " of site keys such as {pools: [...]}");
    if (!map_get(t, "site_template"))
      report(c, t, "topology", "missing required key 'site_template' (sites: all makes every node a site from it)");
    if (tmpl) { /* checked once here, so that its problems are not reported for every site */
      cpn_site_spec_t dummy;
      list_t l;
      map_fields(c, tmpl, "topology.site_template", &site_template_section, &dummy);
      if (!map_list(c, tmpl, "pools", "topology.site_template.pools", &pool_section, sizeof(cpn_pool_spec_t), &l)) {
        free(l.arr);
        list_free(&l);
      }
      if (!map_list(c, tmpl, "replicas", "topology.site_template.replicas", &replica_section,
                    sizeof(cpn_replica_spec_t), &l)) {
        free(l.arr);
        list_free(&l);
      }
    }
  }
  if (c->n_msgs + c->n_dropped > problems || c->oom || n_src != 1) {
    /* The sites and origins this section would have made are not missing as well: a null value counts
     * as present for the required-key check and as an empty list for mapping. */
    static const char *const made[] = {"sites", "origins"};
    for (int i = 0; i < 2 && ts.sites == 1; i++)
      if (!map_get(root, made[i]))
        map_put(c, root, made[i], t->file, t->line, t->col, gen_scalar(c, t, "", 1));
    return;
  }

  cpn_node_spec_t *nodes = NULL;
  cpn_link_spec_t *links = NULL;
  int nn = 0, nl = 0;
  char kp[PATH_LEN], path[4096];
  join(kp, "topology", sources[which]);
  cpn_err_t err = CPN_OK;
  if (which == 2) {
    int kind;
    if (!get_enum(c, src, kp, TOPO_GENERATORS, &kind))
      return;
    err = cpn_topology_generate(TOPO_GENERATORS[kind], ts.n, ts.seed, &nodes, &nn, &links, &nl);
    for (int i = 0; i < nl && !err; i++)
      links[i].bw_bps = ts.bw_bps;
  } else {
    if (!resolve_input_file(c, src, kp, which == 0 ? "the GraphML file" : "the SimGrid platform", path, sizeof path))
      return;
    if (which == 0)
      err = cpn_topology_graphml_read(path, &nodes, &nn, &links, &nl, ts.bw_bps);
    else if ((err = cpn_topology_simgrid_xml_read(path, &nodes, &nn, &links, &nl, platform_problem, c))) {
      c->io_error |= err == CPN_EIO;
      c->oom |= err == CPN_ENOMEM;
      return;
    }
  }
  if (err) {
    report(c, src, kp, "%s", cpn_error_message());
    c->io_error |= err == CPN_EIO;
    return;
  }

  int all = ts.sites == 1, with_origins = all && (p & bit(&topology_section, "origins_per_site_rps"));
  node_t *places = root_list(c, root, all ? "sites" : "nodes", src);
  node_t *lk = nl ? root_list(c, root, "links", src) : NULL;
  node_t *orig = with_origins ? root_list(c, root, "origins", src) : NULL;
  char rate[40];
  snprintf(rate, sizeof rate, "%.17g", ts.origins_per_site_rps);
  for (int i = 0; places && i < nn && !c->oom; i++) {
    node_t *m = gen_place(c, src, &nodes[i]);
    for (int k = 0; m && tmpl && k < tmpl->n; k++) /* the template's values are shared, not copied */
      if (map_put(c, m, tmpl->keys[k]->str, tmpl->keys[k]->file, tmpl->keys[k]->line, tmpl->keys[k]->col,
                  tmpl->vals[k]))
        m = NULL;
    if (!m || node_add(c, places, NULL, m))
      break;
    if (orig) {
      node_t *o = node_new(c, N_MAP, src->file, src->line, src->col);
      if (!o || gen_put(c, o, src, "name", gen_scalar(c, src, nodes[i].name, 0)) ||
          gen_put(c, o, src, "node", gen_scalar(c, src, nodes[i].name, 0)) ||
          gen_put(c, o, src, "rate_rps", gen_scalar(c, src, rate, 1)) || node_add(c, orig, NULL, o))
        break;
    }
  }
  for (int i = 0; lk && i < nl && !c->oom; i++) {
    node_t *m = gen_link(c, src, &links[i]);
    if (!m || node_add(c, lk, NULL, m))
      break;
  }
  free(nodes);
  free(links);
}

static void default_name(const char *path, char *out, size_t size)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  if (len >= size)
    len = size - 1;
  memcpy(out, base, len);
  out[len] = '\0';
}

static void map_scenario(ctx_t *c, node_t *root, const char *path, cpn_scenario_t *sc)
{
  char buf[80];
  if (root->kind != N_MAP) {
    report(c, root, "", "the top level must be a mapping of sections (name, run, demand, models, ...), got %s",
           show(root, buf, sizeof buf));
    return;
  }
  expand_topology(c, root);
  mapping_t mp = {sc, NULL, NULL};
  uint64_t p = map_fields(c, root, "", &root_section, sc);
  if (!(p & bit(&root_section, "name")))
    default_name(path, sc->name, sizeof sc->name);
  const node_t *dv = map_get(root, "description");
  if (dv && !is_null(dv))
    get_str(c, dv, "description", NULL, 0, S_ANY);

  const node_t *run = get_map(c, root, "run", "run", "");
  if (run)
    map_fields(c, run, "run", &run_section, &sc->run);
  else
    apply_defaults(&run_section, &sc->run);
  map_params(c, run, "policy_params", &sc->run.policy_param_keys, &sc->run.policy_param_values,
             &sc->run.n_policy_params);
  map_params(c, run, "autoscaler_params", &sc->run.autoscaler_param_keys, &sc->run.autoscaler_param_values,
             &sc->run.n_autoscaler_params);
  if (sc->run.warmup_s > 0 && sc->run.warmup_s >= sc->run.duration_s)
    report(c, map_get(run, "warmup_s") ? map_get(run, "warmup_s") : run ? run : root, "run.warmup_s",
           "must be < run.duration_s (%g), or no request would be measured (got %g)", sc->run.duration_s,
           sc->run.warmup_s);

  const node_t *demand = get_map(c, root, "demand", "demand", "");
  if (demand)
    map_fields(c, demand, "demand", &demand_section, &sc->demand);
  else
    apply_defaults(&demand_section, &sc->demand);
  map_diurnal(c, demand, &sc->demand);
  map_trace(c, demand, &sc->demand);

  list_t l;
  if (!map_list(c, root, "models", "models", &model_section, sizeof(cpn_model_spec_t), &l)) {
    sc->models = l.arr;
    sc->n_models = l.n;
    require_items(c, &l, "models", "model");
    check_unique_names(c, &l, sizeof(cpn_model_spec_t), offsetof(cpn_model_spec_t, name), "models", "model");
    check_shares(c, &l, sizeof(cpn_model_spec_t), offsetof(cpn_model_spec_t, share), "models");
    list_free(&l);
  }

  if (!map_list(c, root, "classes", "classes", &class_section, sizeof(cpn_class_spec_t), &l)) {
    sc->classes = l.arr;
    sc->n_classes = l.n;
    require_items(c, &l, "classes", "class");
    for (int i = 0; i < l.n; i++) {
      char ip[PATH_LEN];
      join_index(ip, "classes", i);
      sc->classes[i].prompt_tokens = CPN_AZURE_CONV_PROMPT;
      sc->classes[i].output_tokens = CPN_AZURE_CONV_OUTPUT;
      if (!l.items[i])
        continue;
      map_dist(c, l.items[i], "prompt_tokens", ip, &sc->classes[i].prompt_tokens, &CPN_AZURE_CONV_PROMPT);
      map_dist(c, l.items[i], "output_tokens", ip, &sc->classes[i].output_tokens, &CPN_AZURE_CONV_OUTPUT);
    }
    check_unique_names(c, &l, sizeof(cpn_class_spec_t), offsetof(cpn_class_spec_t, name), "classes", "class");
    check_shares(c, &l, sizeof(cpn_class_spec_t), offsetof(cpn_class_spec_t, share), "classes");
    list_free(&l);
  }
  if (!l.list && !c->oom) { /* absent: one class with every default */
    if (!(sc->classes = calloc(1, sizeof *sc->classes))) {
      c->oom = 1;
    } else {
      sc->n_classes = 1;
      apply_defaults(&class_section, &sc->classes[0]);
      snprintf(sc->classes[0].name, sizeof sc->classes[0].name, "default");
      sc->classes[0].prompt_tokens = CPN_AZURE_CONV_PROMPT;
      sc->classes[0].output_tokens = CPN_AZURE_CONV_OUTPUT;
    }
  }

  if (!map_list(c, root, "tenants", "tenants", &tenant_section, sizeof(cpn_tenant_spec_t), &l)) {
    sc->tenants = l.arr;
    sc->n_tenants = l.n;
    require_items(c, &l, "tenants", "tenant");
    check_unique_names(c, &l, sizeof(cpn_tenant_spec_t), offsetof(cpn_tenant_spec_t, name), "tenants", "tenant");
    check_shares(c, &l, sizeof(cpn_tenant_spec_t), offsetof(cpn_tenant_spec_t, share), "tenants");
    list_free(&l);
  }
  if (!l.list && !c->oom) { /* absent: one tenant */
    if (!(sc->tenants = calloc(1, sizeof *sc->tenants))) {
      c->oom = 1;
    } else {
      sc->n_tenants = 1;
      snprintf(sc->tenants[0].name, sizeof sc->tenants[0].name, "default");
      sc->tenants[0].share = 1;
    }
  }

  map_sites(c, root, &mp);
  check_stores(c, root, sc);
  map_nodes(c, root, &mp);
  map_links(c, root, &mp);
  map_origins(c, root, &mp);
  free(mp.site_geo);
  free(mp.node_geo);
}

/* ------------------------------------------------------------------------------------------------
 * --set overrides. */

typedef struct {
  char text[PATH_LEN];
  int col;   /* 1-based column of the segment in the --set string */
  int end;   /* offset just past the segment, for the path shown in messages */
} segment_t;

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
    if (stop == start || stop - start >= PATH_LEN)
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


static void apply_set(ctx_t *c, node_t *root, const char *set, int index)
{
  const char *file = c->set_file;
  int line = index + 1;
  const char *eq = strchr(set, '=');
  segment_t seg[MAX_SEGMENTS];
  int nseg = eq ? split_path(set, (size_t)(eq - set), seg, MAX_SEGMENTS) : -1;
  if (nseg <= 0) {
    report_at(c, file, line, 1, NULL, "'%s': expected key.path=value, e.g. demand.scale=2 or "
              "sites.east.pools.h100.count=16", set);
    return;
  }
  char shown[PATH_LEN];
  snprintf(shown, sizeof shown, "%.*s", (int)(eq - set), set);
  node_t *val;
  size_t vlen = strlen(eq + 1);
  if (parse_yaml(c, eq + 1, vlen, file, index, (int)(eq - set) + 1, shown, 1, &val))
    return;
  if (vlen == 0 || (val->kind == N_MAP && val->n == 0 && strspn(eq + 1, " \t") == vlen))
    val = scalar_new(c, "", 0, 1, file, line, (int)(eq - set) + 2); /* "key=" sets an empty value */
  if (!val)
    return;

  node_t *m = root;
  const section_t *s = &root_section;
  for (int i = 0; i < nseg; i++) {
    char at[PATH_LEN];
    pathf(at, "%.*s", seg[i].end, set);
    const field_t *f = find_field(s, seg[i].text);
    if (!f || strcmp(f->key, "extends") == 0) {
      sbuf_t b = {0};
      const char *best = NULL;
      int best_d = 3;
      for (int k = 0; k < s->n; k++) {
        if (s == &root_section && strcmp(s->f[k].key, "extends") == 0)
          continue;
        suggest(seg[i].text, s->f[k].key, &best, &best_d);
        sb_printf(&b, "%s%s", b.len ? ", " : "", s->f[k].key);
      }
      report_at(c, file, line, seg[i].col, at, "no such key in --set '%s'%s%s%s (allowed here: %s)", set,
                best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "", b.p ? b.p : "");
      free(b.p);
      return;
    }
    if (i == nseg - 1) {
      map_put(c, m, f->key, file, line, seg[i].col, val);
      return;
    }
    if (f->type == T_MAP) {
      node_t *child = map_get(m, f->key);
      if (!child || is_null(child)) {
        if (!(child = node_new(c, N_MAP, file, line, seg[i].col)) ||
            map_put(c, m, f->key, file, line, seg[i].col, child))
          return;
      } else if (child->kind != N_MAP) {
        report_at(c, file, line, seg[i].col, at, "cannot apply --set '%s': '%s' is not a mapping in the scenario",
                  set, at);
        return;
      }
      m = child;
      s = f->sub;
      continue;
    }
    if (f->type == T_PARAMS) {
      /* Parameters are free-form: the next segment names one, which is added when absent. */
      if (i + 2 != nseg) {
        pathf(at, "%.*s", seg[i + 1].end, set);
        report_at(c, file, line, seg[i + 2].col, at, "cannot apply --set '%s': parameter '%s' is a number, it has "
                  "no '%s'", set, seg[i + 1].text, seg[i + 2].text);
        return;
      }
      node_t *child = map_get(m, f->key);
      if (!child || is_null(child)) {
        if (!(child = node_new(c, N_MAP, file, line, seg[i].col)) ||
            map_put(c, m, f->key, file, line, seg[i].col, child))
          return;
      } else if (child->kind != N_MAP) {
        report_at(c, file, line, seg[i].col, at, "cannot apply --set '%s': '%s' is not a mapping in the scenario",
                  set, at);
        return;
      }
      map_put(c, child, seg[i + 1].text, file, line, seg[i + 1].col, val);
      return;
    }
    if (f->type != T_LIST) {
      report_at(c, file, line, seg[i + 1].col, at, "cannot apply --set '%s': '%s' is a single value, it has no '%s'",
                set, at, seg[i + 1].text);
      return;
    }
    /* A list: the next segment picks an item by name, or by 0-based index. */
    node_t *list = map_get(m, f->key);
    const segment_t *sel = &seg[++i];
    pathf(at, "%.*s", sel->end, set);
    int k = -1;
    if (list && list->kind == N_SEQ) {
      for (int j = 0; j < list->n && k < 0; j++) {
        const node_t *nm = map_get(list->vals[j], "name");
        if (nm && nm->kind == N_SCALAR && strcmp(nm->str, sel->text) == 0)
          k = j;
      }
      if (k < 0 && strspn(sel->text, "0123456789") == strlen(sel->text)) {
        long x = strtol(sel->text, NULL, 10);
        if (x < list->n)
          k = (int)x;
      }
    }
    if (k < 0) {
      sbuf_t b = {0};
      const char *best = NULL;
      int best_d = 3;
      for (int j = 0; list && list->kind == N_SEQ && j < list->n; j++) {
        const node_t *nm = map_get(list->vals[j], "name");
        if (nm && nm->kind == N_SCALAR) {
          suggest(sel->text, nm->str, &best, &best_d);
          sb_printf(&b, "%s%s", b.len ? ", " : "", nm->str);
        }
      }
      int n_items = list && list->kind == N_SEQ ? list->n : 0;
      report_at(c, file, line, sel->col, at, "no such item in --set '%s': '%s' has no item named '%s'%s%s%s "
                "(%d items%s%s%s)", set, f->key, sel->text, best ? "; did you mean '" : "", best ? best : "",
                best ? "'?" : "", n_items, b.p ? ": " : "", b.p ? b.p : "", n_items ? ", or index from 0" : "");
      free(b.p);
      return;
    }
    if (i == nseg - 1) {
      list->vals[k] = val;
      return;
    }
    if (list->vals[k]->kind != N_MAP) {
      report_at(c, file, line, sel->col, at, "cannot apply --set '%s': item '%s' is not a mapping", set, sel->text);
      return;
    }
    m = list->vals[k];
    s = f->sub;
  }
}

/* ------------------------------------------------------------------------------------------------
 * Public functions. */

static int msg_cmp(const void *pa, const void *pb)
{
  const msg_t *a = pa, *b = pb;
  if (a->rank != b->rank)
    return a->rank < b->rank ? -1 : 1;
  if (a->line != b->line)
    return a->line < b->line ? -1 : 1;
  if (a->col != b->col)
    return a->col < b->col ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sets the error message from the recorded problems, in file/line order, one per line. */
static cpn_err_t fail(ctx_t *c, cpn_err_t code)
{
  if (c->n_msgs > 1)
    qsort(c->msgs, (size_t)c->n_msgs, sizeof *c->msgs, msg_cmp);
  sbuf_t b = {0};
  int shown = 0;
  for (int i = 0; i < c->n_msgs; i++) {
    if (b.len + strlen(c->msgs[i].text) + 80 > MESSAGE_BUDGET)
      break;
    sb_printf(&b, "%s%s", i ? "\n" : "", c->msgs[i].text);
    if (c->msgs[i].repeats)
      sb_printf(&b, " (and for %d more items made from the same text)", c->msgs[i].repeats);
    shown++;
  }
  int hidden = c->n_msgs - shown + c->n_dropped;
  if (hidden > 0)
    sb_printf(&b, "\n(%d more problems not shown)", hidden);
  if (c->oom) {
    sb_printf(&b, "%sout of memory while loading the scenario", b.len ? "\n" : "");
    code = CPN_ENOMEM;
  }
  if (c->too_big)
    sb_printf(&b, "%s%s: the scenario expands to more than %ld YAML nodes (aliases?)", b.len ? "\n" : "",
              c->n_files ? c->files[0] : "?", MAX_NODES);
  cpn_error_set(code, "%s", b.p ? b.p : "out of memory");
  free(b.p);
  return code;
}

cpn_err_t cpn_scenario_load(cpn_scenario_t *sc, const char *path, const char *const *sets, int n_sets)
{
  ctx_t c = {0};
  cpn_scenario_t tmp = {0};
  file_id_t chain[MAX_EXTENDS];
  assert(sc && path && n_sets >= 0 && (n_sets == 0 || sets));
  memset(sc, 0, sizeof *sc);
  c.set_file = "--set";
  node_t *root = load_tree(&c, path, NULL, chain, 0, &tmp.text);
  c.set_file = intern(&c, "--set");
  if (root) {
    if (root->kind == N_MAP)
      for (int i = 0; i < n_sets; i++)
        apply_set(&c, root, sets[i], i);
    if (!c.oom && !c.too_big)
      map_scenario(&c, root, path, &tmp);
  }
  snprintf(tmp.file, sizeof tmp.file, "%s", path);
  if (c.n_msgs || c.n_dropped || c.oom || c.too_big || !root) {
    cpn_err_t code = fail(&c, c.io_error ? CPN_EIO : CPN_EINVAL);
    ctx_free(&c);
    cpn_scenario_destroy(&tmp);
    return code;
  }
  ctx_free(&c);
  *sc = tmp;
  return CPN_OK;
}

void cpn_scenario_destroy(cpn_scenario_t *sc)
{
  if (!sc)
    return;
  for (int i = 0; sc->sites && i < sc->n_sites; i++) {
    free(sc->sites[i].pools);
    free(sc->sites[i].replicas);
  }
  for (int i = 0; sc->origins && i < sc->n_origins; i++)
    free(sc->origins[i].allowed);
  free(sc->sites);
  free(sc->nodes);
  free(sc->links);
  free(sc->models);
  free(sc->classes);
  free(sc->tenants);
  free(sc->origins);
  free(sc->text);
  free(sc->run.policy_param_keys);
  free(sc->run.policy_param_values);
  free(sc->run.autoscaler_param_keys);
  free(sc->run.autoscaler_param_values);
  memset(sc, 0, sizeof *sc);
}

int cpn_scenario_site_index(const cpn_scenario_t *sc, const char *name)
{
  for (int i = 0; i < sc->n_sites; i++)
    if (strcmp(sc->sites[i].name, name) == 0)
      return i;
  return -1;
}

int cpn_scenario_model_index(const cpn_scenario_t *sc, const char *name)
{
  for (int i = 0; i < sc->n_models; i++)
    if (strcmp(sc->models[i].name, name) == 0)
      return i;
  return -1;
}

/* ------------------------------------------------------------------------------------------------
 * Known keys. */

#define KNOWN_MAX 256
static const char *known_ptr[KNOWN_MAX + 1];
static char known_text[KNOWN_MAX * 56];
static size_t n_known;
static once_flag known_once = ONCE_FLAG_INIT;

static void collect_keys(const section_t *s, const char *prefix, size_t *used)
{
  for (int i = 0; i < s->n; i++) {
    const field_t *f = &s->f[i];
    char path[PATH_LEN];
    if (f->sub && (f->type == T_LIST || f->type == T_MAP)) {
      snprintf(path, sizeof path, "%s%s%s", prefix, f->key, f->type == T_LIST ? "[]." : ".");
      collect_keys(f->sub, path, used);
      continue;
    }
    int len = snprintf(known_text + *used, sizeof known_text - *used, "%s%s", prefix, f->key);
    if (n_known >= KNOWN_MAX || len < 0 || *used + (size_t)len + 1 > sizeof known_text)
      abort(); /* the tables outgrew the buffers: a programming error */
    known_ptr[n_known++] = known_text + *used;
    *used += (size_t)len + 1;
  }
}

static void init_known_keys(void)
{
  size_t used = 0;
  collect_keys(&root_section, "", &used);
  known_ptr[n_known] = NULL;
}

const char *const *cpn_scenario_known_keys(size_t *n)
{
  call_once(&known_once, init_known_keys);
  if (n)
    *n = n_known;
  return known_ptr;
}

/* ------------------------------------------------------------------------------------------------
 * Printing. */

static void put_str(FILE *f, const char *s)
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
static void put_num(FILE *f, double x)
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

static void put_value(FILE *f, const field_t *fl, const void *obj)
{
  const char *p = (const char *)obj + fl->off;
  switch (fl->type) {
  case T_NUM: put_num(f, *(const double *)p); break;
  case T_INT: fprintf(f, "%d", *(const int *)p); break;
  case T_LONG: fprintf(f, "%ld", *(const long *)p); break;
  case T_ULONG: fprintf(f, "%lu", *(const unsigned long *)p); break;
  case T_BOOL: fputs(*(const int *)p ? "true" : "false", f); break;
  case T_STR:
  case T_SENUM: put_str(f, p); break;
  case T_ENUM: fputs(fl->enums[*(const int *)p], f); break;
  default: break;
  }
}

/* Block style: one "key: value" line per field, the first prefixed with `first` (e.g. "  - "). */
static void put_block(FILE *f, const section_t *s, const void *obj, const char *first, const char *indent)
{
  int k = 0;
  for (int i = 0; i < s->n; i++) {
    if (s->f[i].off == NOFF)
      continue;
    fprintf(f, "%s%s: ", k++ ? indent : first, s->f[i].key);
    put_value(f, &s->f[i], obj);
    fputc('\n', f);
  }
}

/* Flow style: "key: value, key: value" (no braces). */
static void put_flow(FILE *f, const section_t *s, const void *obj, int comma)
{
  for (int i = 0; i < s->n; i++) {
    if (s->f[i].off == NOFF)
      continue;
    fprintf(f, "%s%s: ", comma++ ? ", " : "", s->f[i].key);
    put_value(f, &s->f[i], obj);
  }
}

/* A top-level list of flow-style items: "key:" then "  - {...}" per item (or "key: []"). */
static void put_flow_list(FILE *f, const char *key, const section_t *sec, const void *items, size_t stride, int n)
{
  fprintf(f, "%s:%s", key, n ? "\n" : " []\n");
  for (int i = 0; i < n; i++) {
    fputs("  - {", f);
    put_flow(f, sec, (const char *)items + (size_t)i * stride, 0);
    fputs("}\n", f);
  }
}

static void put_dist(FILE *f, const cpn_dist_t *d)
{
  for (int i = 0; i < 4; i++) {
    const cpn_dist_t *a = AZURE_DISTS[i];
    if (d->kind == a->kind && d->mu == a->mu && d->sigma == a->sigma && d->mean == a->mean) {
      fprintf(f, "{dist: %s, min: ", DISTS[N_PLAIN_DISTS + i]);
      put_num(f, d->min);
      fputs(", max: ", f);
      put_num(f, d->max);
      fputs("}", f);
      return;
    }
  }
  int kind = (int)d->kind;
  fprintf(f, "{dist: %s, ", kind >= 0 && kind < N_PLAIN_DISTS ? DISTS[kind] : "?");
  if (d->kind == CPN_DIST_LOGNORMAL) {
    fputs("mu: ", f);
    put_num(f, d->mu);
    fputs(", sigma: ", f);
    put_num(f, d->sigma);
  } else {
    fputs("mean: ", f);
    put_num(f, d->mean);
  }
  fputs(", min: ", f);
  put_num(f, d->min);
  fputs(", max: ", f);
  put_num(f, d->max);
  fputs("}", f);
}

static void put_params(FILE *f, const char *key, const char (*keys)[CPN_NAME_MAX], const double *values, int n)
{
  fprintf(f, "  %s: {", key);
  for (int i = 0; i < n; i++) {
    fputs(i ? ", " : "", f);
    put_str(f, keys[i]);
    fputs(": ", f);
    put_num(f, values[i]);
  }
  fputs("}\n", f);
}

/* demand.trace, when a trace is replayed: format and time_unit only for mapping custom, empty column
 * names not at all (both would be rejected on reload). */
static void put_trace(FILE *f, const cpn_demand_spec_t *d)
{
  if (!d->trace_file[0])
    return;
  int custom = strcmp(d->trace_mapping, "custom") == 0;
  fputs("  trace:\n    file: ", f);
  put_str(f, d->trace_file);
  fputc('\n', f);
  for (int i = 0; i < trace_section.n; i++) {
    const field_t *fl = &trace_section.f[i];
    if (fl->off == NOFF || (fl->type == T_STR && !((const char *)d + fl->off)[0]))
      continue;
    if (!custom && (strcmp(fl->key, "format") == 0 || strcmp(fl->key, "time_unit") == 0))
      continue;
    fprintf(f, "    %s: ", fl->key);
    put_value(f, fl, d);
    fputc('\n', f);
  }
}

cpn_err_t cpn_scenario_print(const cpn_scenario_t *sc, FILE *f)
{
  fputs("# cpnsim scenario, fully resolved: defaults filled in, extends and --set applied.\n# from: ", f);
  for (const char *p = sc->file; *p; p++)
    fputc((unsigned char)*p < 0x20 ? '?' : *p, f);
  fputs("\nname: ", f);
  put_str(f, sc->name);
  fputs("\nrun:\n", f);
  put_block(f, &run_section, &sc->run, "  ", "  ");
  put_params(f, "policy_params", sc->run.policy_param_keys, sc->run.policy_param_values, sc->run.n_policy_params);
  put_params(f, "autoscaler_params", sc->run.autoscaler_param_keys, sc->run.autoscaler_param_values,
             sc->run.n_autoscaler_params);
  fputs("demand:\n", f);
  put_block(f, &demand_section, &sc->demand, "  ", "  ");
  put_trace(f, &sc->demand);
  fputs("  diurnal: ", f);
  if (!sc->demand.diurnal_enabled) {
    fputs("flat", f);
  } else if (memcmp(&sc->demand.diurnal, &CPN_DIURNAL_DEFAULT, sizeof CPN_DIURNAL_DEFAULT) == 0) {
    fputs("default", f);
  } else {
    fputc('[', f);
    for (int h = 0; h < 24; h++) {
      if (h)
        fputs(", ", f);
      put_num(f, sc->demand.diurnal.hourly[h]);
    }
    fputc(']', f);
  }
  fputs("\nmodels:", f);
  fputs(sc->n_models ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_models; i++)
    put_block(f, &model_section, &sc->models[i], "  - ", "    ");
  fputs("classes:", f);
  fputs(sc->n_classes ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_classes; i++) {
    put_block(f, &class_section, &sc->classes[i], "  - ", "    ");
    fputs("    prompt_tokens: ", f);
    put_dist(f, &sc->classes[i].prompt_tokens);
    fputs("\n    output_tokens: ", f);
    put_dist(f, &sc->classes[i].output_tokens);
    fputc('\n', f);
  }
  put_flow_list(f, "tenants", &tenant_section, sc->tenants, sizeof *sc->tenants, sc->n_tenants);
  fputs("sites:", f);
  fputs(sc->n_sites ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_sites; i++) {
    const cpn_site_spec_t *s = &sc->sites[i];
    put_block(f, &site_section, s, "  - ", "    ");
    fputs(s->n_pools ? "    pools:\n" : "    pools: []\n", f);
    for (int j = 0; j < s->n_pools; j++) {
      fputs("      - {", f);
      put_flow(f, &pool_section, &s->pools[j], 0);
      fputs("}\n", f);
    }
    fputs(s->n_replicas ? "    replicas:\n" : "    replicas: []\n", f);
    for (int j = 0; j < s->n_replicas; j++) {
      const cpn_replica_spec_t *r = &s->replicas[j];
      fputs("      - {model: ", f);
      put_str(f, r->model >= 0 && r->model < sc->n_models ? sc->models[r->model].name : "");
      fputs(", pool: ", f);
      put_str(f, r->pool >= 0 && r->pool < s->n_pools ? s->pools[r->pool].name : "");
      put_flow(f, &replica_section, r, 1);
      fputs("}\n", f);
    }
  }
  put_flow_list(f, "nodes", &node_section, sc->nodes, sizeof *sc->nodes, sc->n_nodes);
  put_flow_list(f, "links", &link_section, sc->links, sizeof *sc->links, sc->n_links);
  fputs("origins:", f);
  fputs(sc->n_origins ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_origins; i++) {
    const cpn_origin_spec_t *o = &sc->origins[i];
    fputs("  - {", f);
    put_flow(f, &origin_section, o, 0);
    if (o->n_allowed) {
      fputs(", residency: [", f);
      for (int j = 0; j < o->n_allowed; j++) {
        if (j)
          fputs(", ", f);
        put_str(f, o->allowed[j]);
      }
      fputc(']', f);
    }
    fputs("}\n", f);
  }
  if (fflush(f) != 0 || ferror(f))
    return cpn_error_set(CPN_EIO, "cannot write the scenario: %s", strerror(errno));
  return CPN_OK;
}
