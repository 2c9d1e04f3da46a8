/* reader: the strict YAML reader the configuration sections are read with. Internal to sim/config/.
 *
 * It turns YAML text into a tree of nodes that keep the file:line:column of every key and value, loads
 * `extends:` chains and deep-merges a child over its base, applies `--set key.path=value` overrides,
 * and maps a node into a plain struct through a schema table (key, type, struct offset, default,
 * range). It also checks lists of named items, resolves file names found in a file, and prints values
 * back as YAML that reads again. Problems are recorded with their input location and key path and the
 * reading goes on, so that one pass reports every problem; cpn_reader_fail() turns the record into the
 * error message, sorted by file and line.
 *
 * It knows no section of the scenario: the tables, their meaning and the checks across sections belong
 * to the section files (schema_*.c) and scenario.c.
 *
 * Ownership: a cpn_reader_t (caller-owned, cpn_reader_init/cpn_reader_destroy) owns every node made
 * while it lives, the interned file names and the recorded problems; nodes and names stay valid until
 * cpn_reader_destroy(). Its fields are the reader's own: use the functions.
 * Conventions: functions that check a value return 1 when it is good and 0 after reporting it; key
 * paths ("sites[3].pools[0].count") are formatted into CPN_PATH_LEN buffers and only shown in
 * messages, so truncation is harmless. */
#ifndef CPN_CONFIG_READER_H
#define CPN_CONFIG_READER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define CPN_PATH_LEN 512 /* key paths in messages ("sites[3].pools[0].count") */

/* ---- Growable string ------------------------------------------------------------------------------ */

/* Zero-initialise; p is NULL until something is written; oom is set (and writing stops) when an
 * allocation fails. The owner frees p. */
typedef struct {
  char *p;
  size_t len, cap;
  int oom;
} cpn_reader_buf_t;

void cpn_reader_buf_printf(cpn_reader_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Node tree and reader -------------------------------------------------------------------------- */

typedef enum { CPN_READER_SCALAR, CPN_READER_MAP, CPN_READER_SEQ } cpn_reader_kind_t;

typedef struct cpn_reader_node cpn_reader_node_t;
struct cpn_reader_node {
  cpn_reader_kind_t kind;
  const char *file;              /* interned in the reader */
  int line, col;                 /* 1-based */
  char *str;                     /* CPN_READER_SCALAR: the text */
  int plain;                     /* CPN_READER_SCALAR: unquoted; only plain scalars are numbers, booleans or null */
  int n, cap;                    /* CPN_READER_MAP: pairs; CPN_READER_SEQ: items */
  cpn_reader_node_t **keys;      /* CPN_READER_MAP: key scalars */
  cpn_reader_node_t **vals;      /* CPN_READER_MAP: values; CPN_READER_SEQ: items */
  cpn_reader_node_t *chain;      /* every node of one reader, for freeing */
};

typedef struct {
  int rank, line, col, seq;
  char *text;
  size_t tail;       /* offset of the message proper, after "file:line:col: path: " */
  int repeats;       /* further items that reported the same problem at the same place */
} cpn_reader_msg_t;

typedef struct {
  cpn_reader_node_t *nodes;
  long n_nodes;
  char **files;
  int n_files;
  cpn_reader_msg_t *msgs;
  int n_msgs, cap_msgs, n_dropped;
  int io_error, oom, too_big;
  const char *set_file; /* "--set", interned */
  const char *const *own_keys; /* top-level keys an extending file does not inherit */
} cpn_reader_t;

void cpn_reader_init(cpn_reader_t *r);
/* Frees every node, name and problem; accepts a reader that was only initialised. */
void cpn_reader_destroy(cpn_reader_t *r);

/* Loads `path` and, recursively, the files it `extends:` (a name relative to the extending file's
 * directory), each merged under the one that extends it: mappings key by key, lists of named items
 * (mappings with a `name`) item by item, where an item with `remove: true` deletes the inherited one;
 * anything else replaces. The top-level keys listed in `own_keys` (NULL-terminated, may be NULL) are
 * not inherited. *text receives the root file's text (malloc'd, the caller frees it) when it could be
 * read. Returns the merged tree, or NULL after reporting. */
cpn_reader_node_t *cpn_reader_load(cpn_reader_t *r, const char *path, const char *const *own_keys, char **text);

/* Applies one `--set key.path=value` override (the `index`-th, reported as --set:<index + 1>:<column>)
 * to the tree under `root`, read with `root_section`: key paths follow the table (mappings by key,
 * lists by item name or 0-based index, free-form parameter maps by parameter name); the value is YAML. */
typedef struct cpn_reader_section cpn_reader_section_t;
void cpn_reader_apply_set(cpn_reader_t *r, cpn_reader_node_t *root, const cpn_reader_section_t *root_section,
                          const char *set, int index);

/* Problems recorded so far (kept and dropped). */
int cpn_reader_problem_count(const cpn_reader_t *r);
/* 1 if a problem was recorded or memory or the node budget ran out: the reading failed. */
int cpn_reader_failed(const cpn_reader_t *r);
/* 1 if memory or the node budget ran out: what was read is incomplete. */
int cpn_reader_exhausted(const cpn_reader_t *r);
/* 1 if an allocation failed. */
int cpn_reader_out_of_memory(const cpn_reader_t *r);
/* Records that an allocation failed (the reading fails with CPN_ENOMEM). */
void cpn_reader_set_out_of_memory(cpn_reader_t *r);
/* Records that a file could not be read (the reading fails with CPN_EIO rather than CPN_EINVAL). */
void cpn_reader_set_io_error(cpn_reader_t *r);
/* Sets cpn_error's message to the recorded problems, sorted by file, line and column, one per line,
 * and returns the code: CPN_ENOMEM, CPN_EIO (a file could not be read) or CPN_EINVAL. */
cpn_err_t cpn_reader_fail(cpn_reader_t *r);

/* The reader's copy of a file name: equal names give the same pointer, and names are ranked (for
 * sorting problems) in the order they were first interned. */
const char *cpn_reader_intern(cpn_reader_t *r, const char *name);

/* Records a problem located at node `at`, under key path `path`. */
void cpn_reader_report(cpn_reader_t *r, const cpn_reader_node_t *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Records a problem at file:line:col (line 0: the file as a whole); `file` must be interned. */
void cpn_reader_report_at(cpn_reader_t *r, const char *file, int line, int col, const char *path, const char *fmt,
                          ...) __attribute__((format(printf, 6, 7)));

/* Node making and editing. A node made here carries the location given, so that problems found in
 * values a section makes (topology expansion) point at the key that made them. NULL or -1 when out of
 * memory or over the node budget (recorded). */
cpn_reader_node_t *cpn_reader_node_new(cpn_reader_t *r, cpn_reader_kind_t kind, const char *file, int line, int col);
cpn_reader_node_t *cpn_reader_scalar_new(cpn_reader_t *r, const char *text, size_t len, int plain, const char *file,
                                         int line, int col);
/* Appends a pair (maps) or an item (sequences, key NULL). Returns 0, or -1 when out of memory. */
int cpn_reader_node_add(cpn_reader_t *r, cpn_reader_node_t *n, cpn_reader_node_t *key, cpn_reader_node_t *val);
void cpn_reader_node_remove(cpn_reader_node_t *n, int i);
/* Lookups in a mapping (NULL / -1 when `m` is not a mapping or has no such key). */
int cpn_reader_map_index(const cpn_reader_node_t *m, const char *key);
cpn_reader_node_t *cpn_reader_map_get(const cpn_reader_node_t *m, const char *key);
const cpn_reader_node_t *cpn_reader_map_key(const cpn_reader_node_t *m, const char *key);
/* Sets key to val in mapping m, adding the key (located at file:line:col) when absent. 0, or -1. */
int cpn_reader_map_put(cpn_reader_t *r, cpn_reader_node_t *m, const char *key, const char *file, int line, int col,
                       cpn_reader_node_t *val);
/* A plain empty scalar, `~` or `null`: a key written with no value. */
int cpn_reader_is_null(const cpn_reader_node_t *v);
/* What a value looks like, for "expected X, got Y" messages: 'text' (cut to `size`), "a mapping",
 * "a list" or "nothing". Returns buf or a static string. */
const char *cpn_reader_show(const cpn_reader_node_t *v, char *buf, size_t size);

/* Key paths: printf into a CPN_PATH_LEN buffer; "path.key" ("key" at the top); "path[i]". */
void cpn_reader_pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cpn_reader_join(char *out, const char *path, const char *key);
void cpn_reader_join_index(char *out, const char *path, int i);

/* "Did you mean": call for each candidate with *best = NULL and *best_d = 3 first, then read *best: the
 * nearest candidate within edit distance 2 that shares something with the word. */
void cpn_reader_suggest(const char *word, const char *cand, const char **best, int *best_d);

/* ---- Schema tables -------------------------------------------------------------------------------- */

/* Field types. CPN_T_ENUM stores the index of the name in `enums` (as int); CPN_T_SENUM stores the name
 * itself (char array). CPN_T_MAP and CPN_T_LIST have a `sub` section (of the mapping / of each item).
 * CPN_T_PARAMS is a free-form mapping of names to numbers, CPN_T_STRLIST a list of strings, CPN_T_CUSTOM a
 * value of any shape; the caller maps all three (CPN_NOFF). */
enum {
  CPN_T_NUM, CPN_T_INT, CPN_T_LONG, CPN_T_ULONG, CPN_T_BOOL, CPN_T_STR, CPN_T_ENUM, CPN_T_MAP, CPN_T_LIST,
  CPN_T_CUSTOM, CPN_T_STRLIST, CPN_T_SENUM, CPN_T_PARAMS
};
/* Range flags: bounds lo / hi, open or closed; ZERO_OK: 0 is also allowed (a "use the default"). */
enum { CPN_RANGE_LO = 1, CPN_RANGE_LO_OPEN = 2, CPN_RANGE_HI = 4, CPN_RANGE_HI_OPEN = 8, CPN_RANGE_ZERO_OK = 16 };
/* String checks: any text, a name (not empty), an ISO 3166 alpha-2 country code (stored upper case). */
enum { CPN_STR_ANY = 0, CPN_STR_NAME, CPN_STR_COUNTRY };

typedef struct {
  const char *key;
  int type;
  size_t off;                /* offset in the target struct; CPN_NOFF when the caller maps the key */
  int req;                   /* missing key is an error */
  double def;                /* default (numbers, booleans, enum index) */
  const char *sdef;          /* default (strings) */
  int rng;                   /* CPN_RANGE_* flags */
  double lo, hi;
  const char *const *enums;  /* CPN_T_ENUM, CPN_T_SENUM: NULL-terminated names */
  size_t size;               /* CPN_T_STR, CPN_T_SENUM: capacity of the char array */
  int check;                 /* CPN_T_STR: CPN_STR_* */
  const cpn_reader_section_t *sub; /* CPN_T_MAP / CPN_T_LIST: the section of the mapping / of each item */
} cpn_reader_field_t;

/* A section: its fields, in the order they are read, printed and listed (at most 64). */
struct cpn_reader_section {
  const cpn_reader_field_t *f;
  int n;
};

/* Table helpers: {CPN_FLD("duration_s", CPN_T_NUM, cpn_run_spec_t, duration_s), .def = 3600, CPN_GT(0)}. */
#define CPN_NOFF ((size_t)-1)
#define CPN_FLD(k, t, st, m) .key = (k), .type = (t), .off = offsetof(st, m)
#define CPN_FLD_STR(k, st, m) .key = (k), .type = CPN_T_STR, .off = offsetof(st, m), .size = sizeof(((st *)0)->m)
#define CPN_FLD_SENUM(k, st, m, e)                                                                              \
  .key = (k), .type = CPN_T_SENUM, .off = offsetof(st, m), .size = sizeof(((st *)0)->m), .enums = (e)
#define CPN_FLD_CUSTOM(k, t) .key = (k), .type = (t), .off = CPN_NOFF
#define CPN_GT(x) .rng = CPN_RANGE_LO | CPN_RANGE_LO_OPEN, .lo = (x)
#define CPN_GE(x) .rng = CPN_RANGE_LO, .lo = (x)
#define CPN_IN(a, b) .rng = CPN_RANGE_LO | CPN_RANGE_HI, .lo = (a), .hi = (b)
#define CPN_SECTION(f) {f, (int)(sizeof f / sizeof f[0])}

const cpn_reader_field_t *cpn_reader_find_field(const cpn_reader_section_t *s, const char *key);
/* Bit of `key` in a presence mask returned by cpn_reader_map_fields() (0 for a key not in s). */
uint64_t cpn_reader_bit(const cpn_reader_section_t *s, const char *key);

/* Calls leaf(arg, path) for every key path of `s` that holds a value, in table order: "duration_s",
 * "pools[].count", "trace.file" (mappings add "key.", lists "key[]."). */
void cpn_reader_walk_keys(const cpn_reader_section_t *s, void (*leaf)(void *arg, const char *path), void *arg);

/* ---- Mapping values into structs ------------------------------------------------------------------ */

/* Scalars. Each returns 1 and writes *out when the value is good, 0 after reporting it. */
int cpn_reader_get_num(cpn_reader_t *r, const cpn_reader_node_t *v, const char *path, double *out);
int cpn_reader_check_range(cpn_reader_t *r, const cpn_reader_node_t *v, const char *path, const cpn_reader_field_t *f,
                           double x);
/* A string checked as `check` (CPN_STR_*), copied into dst (size bytes) when dst is not NULL. */
int cpn_reader_get_str(cpn_reader_t *r, const cpn_reader_node_t *v, const char *path, char *dst, size_t size,
                       int check);
/* One of the NULL-terminated `names`; *out = its index. */
int cpn_reader_get_enum(cpn_reader_t *r, const cpn_reader_node_t *v, const char *path, const char *const *names,
                        int *out);

/* Writes every default of `s` into `out` (fields with an offset only). */
void cpn_reader_apply_defaults(const cpn_reader_section_t *s, void *out);
/* Maps the fields of section `s` found in mapping `m` into `out` (defaults first), reporting unknown
 * keys, wrong types, out-of-range values and missing required keys. Fields without an offset are left
 * to the caller. Returns a mask of the fields present (bit i = s->f[i]). */
uint64_t cpn_reader_map_fields(cpn_reader_t *r, const cpn_reader_node_t *m, const char *path,
                               const cpn_reader_section_t *s, void *out);
/* The mapping under `key` of `parent` (key path kp), NULL when absent or null; reports a value that is
 * not a mapping ("expected a mapping<hint>, got ..."). */
const cpn_reader_node_t *cpn_reader_get_map(cpn_reader_t *r, const cpn_reader_node_t *parent, const char *key,
                                            const char *kp, const char *hint);

/* A list of items of one section, mapped into a calloc'd array of `elem`-byte structs. */
typedef struct {
  const cpn_reader_node_t *list;    /* NULL when absent */
  int n;
  void *arr;                        /* owned by the caller once mapped */
  const cpn_reader_node_t **items;  /* the item mappings (NULL where an item is not a mapping) */
  uint64_t *present;                /* cpn_reader_map_fields() masks */
} cpn_reader_list_t;

/* Maps the list under `key` of `parent`. Returns 0 (absent or null: l->list NULL, nothing allocated),
 * or -1 when out of memory (recorded). */
int cpn_reader_map_list(cpn_reader_t *r, const cpn_reader_node_t *parent, const char *key, const char *path,
                        const cpn_reader_section_t *s, size_t elem, cpn_reader_list_t *l);
/* Frees items and present (not arr). */
void cpn_reader_list_destroy(cpn_reader_list_t *l);
/* Reports items whose name (a char array at name_off) repeats an earlier item's. */
void cpn_reader_check_unique_names(cpn_reader_t *r, const cpn_reader_list_t *l, size_t elem, size_t name_off,
                                   const char *path, const char *what);
/* Shares of a list (a double at share_off) must not all be zero (they are normalised by their sum). */
void cpn_reader_check_shares(cpn_reader_t *r, const cpn_reader_list_t *l, size_t elem, size_t share_off,
                             const char *path);
/* A list that is present must not be empty. */
void cpn_reader_require_items(cpn_reader_t *r, const cpn_reader_list_t *l, const char *path, const char *what);

/* A free-form mapping of names to numbers under `key` of `parent` (path parent_path.key), kept in file
 * order: at most `max` entries, names at most key_size - 1 bytes. When present, *keys (n * key_size
 * bytes) and *values are calloc'd for the caller and *n set to the good entries. */
void cpn_reader_map_params(cpn_reader_t *r, const cpn_reader_node_t *parent, const char *parent_path,
                           const char *key, int max, size_t key_size, char **keys, double **values, int *n);

/* Resolves a file named in a value: relative to the directory of the file that holds the value (a
 * --set value: relative to the current directory), then made absolute so that a printed configuration
 * loads from anywhere. Checks that it is a readable regular file; `what` names it in messages ("the
 * trace"). Returns 1 with the path in out (size bytes), or 0 after reporting. */
int cpn_reader_resolve_file(cpn_reader_t *r, const cpn_reader_node_t *v, const char *path, const char *what,
                            char *out, size_t size);

/* ---- Printing ------------------------------------------------------------------------------------- */

/* A double-quoted YAML string, with \" \\ and \xNN escapes. */
void cpn_reader_print_str(FILE *f, const char *s);
/* The shortest decimal form that reads back to the same double; whole numbers below 1e9 without an
 * exponent (600, not 6e+02). */
void cpn_reader_print_num(FILE *f, double x);
/* The value of field `fl` in `obj`. */
void cpn_reader_print_value(FILE *f, const cpn_reader_field_t *fl, const void *obj);
/* Block style: one "key: value" line per field with an offset, the first prefixed with `first` (e.g.
 * "  - "), the others with `indent`. */
void cpn_reader_print_block(FILE *f, const cpn_reader_section_t *s, const void *obj, const char *first,
                            const char *indent);
/* Flow style: "key: value, key: value" (no braces), starting with ", " when `comma`. */
void cpn_reader_print_flow(FILE *f, const cpn_reader_section_t *s, const void *obj, int comma);
/* A top-level list of flow-style items: "key:" then "  - {...}" per item (or "key: []"). */
void cpn_reader_print_flow_list(FILE *f, const char *key, const cpn_reader_section_t *sec, const void *items,
                                size_t stride, int n);
/* A free-form parameter map on one line: <indent>key: {"name": value, ...}. keys holds n names of
 * key_size bytes each. */
void cpn_reader_print_params(FILE *f, const char *indent, const char *key, const char *keys, size_t key_size,
                             const double *values, int n);

#endif
