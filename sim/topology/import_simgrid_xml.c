/* import_simgrid_xml: a minimal XML reader (libc only) for flat SimGrid platforms, turned into the plain
 * nodes and links of a scenario's topology section. Hosts and routers become nodes; each <route> with
 * exactly one <link_ctn> makes its link a scenario link between the route's ends. Anything else that
 * carries topology (clusters, nested zones, multi-link routes, links no route places) is an error
 * rather than a silent approximation.
 *
 * Owns nothing beyond one call: the file text, the element stack and the host and link lists read so
 * far. It knows nothing of the scenario file: problems go to the caller's sink with the XML file's
 * line and column, and the caller decides how to report them.
 * Invariants: problems of meaning are all reported, a syntax error ends the reading; on failure no
 * output is written. */
#include "topology/import_simgrid_xml.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XML_MAX_BYTES (256L << 20)
#define XML_MAX_ATTRS 16
#define XML_MAX_DEPTH 16
#define XML_VALUE_MAX 256

typedef struct {
  char name[32];
  int n_attrs;
  char keys[XML_MAX_ATTRS][32];
  char vals[XML_MAX_ATTRS][XML_VALUE_MAX];
  int line, col;
} xml_elem_t;

typedef struct {
  char id[CPN_NAME_MAX];
  double bw_bps, latency_s;
  int shared, line;
  int a, b;             /* hosts it joins (-1 until a one-link route places it) */
  int route_line;
} xml_link_t;

typedef struct {
  cpn_topology_problem_fn *problem;
  void *arg;
  const char *file;
  const char *p, *end;
  int line, col;
  int failed;           /* problems reported so far */
  int oom;              /* an allocation failed (not reported as a problem) */
  char (*hosts)[CPN_NAME_MAX];
  int n_hosts, cap_hosts;
  xml_link_t *links;
  int n_links, cap_links;
} xml_t;

/* Formats a problem and hands it to the caller's sink. */
static void problem_v(cpn_topology_problem_fn *problem, void *arg, const char *file, int line, int col,
                      int *oom, const char *fmt, va_list ap)
{
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  char *msg = n < 0 ? NULL : malloc((size_t)n + 1);
  if (!msg) {
    *oom = 1;
    return;
  }
  vsnprintf(msg, (size_t)n + 1, fmt, ap);
  problem(arg, file, line, col, msg);
  free(msg);
}

static void xml_error(xml_t *x, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void xml_error(xml_t *x, int line, int col, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  problem_v(x->problem, x->arg, x->file, line, col, &x->oom, fmt, ap);
  va_end(ap);
  x->failed++;
}

/* A problem with the whole file (no line): it cannot be read. */
static void file_error(xml_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void file_error(xml_t *x, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  problem_v(x->problem, x->arg, x->file, 0, 0, &x->oom, fmt, ap);
  va_end(ap);
  x->failed++;
}

static void xml_advance(xml_t *x, size_t n)
{
  for (size_t i = 0; i < n && x->p < x->end; i++, x->p++) {
    if (*x->p == '\n') {
      x->line++;
      x->col = 1;
    } else {
      x->col++;
    }
  }
}

/* Moves past the next occurrence of `s`; returns 0, or -1 at the end of the text. */
static int xml_skip_past(xml_t *x, const char *s)
{
  size_t len = strlen(s);
  while (x->p + len <= x->end) {
    if (memcmp(x->p, s, len) == 0) {
      xml_advance(x, len);
      return 0;
    }
    xml_advance(x, 1);
  }
  return -1;
}

static int xml_name_char(char ch)
{
  return isalnum((unsigned char)ch) || ch == '_' || ch == ':' || ch == '-' || ch == '.';
}

static void xml_skip_space(xml_t *x)
{
  while (x->p < x->end && isspace((unsigned char)*x->p))
    xml_advance(x, 1);
}

/* Reads a name into out (size bytes); returns its length, 0 when there is none or it is too long. */
static size_t xml_name(xml_t *x, char *out, size_t size)
{
  size_t k = 0;
  while (x->p < x->end && xml_name_char(*x->p)) {
    if (k + 1 >= size)
      return 0;
    out[k++] = *x->p;
    xml_advance(x, 1);
  }
  out[k] = '\0';
  return k;
}

/* Decodes the five predefined entities and character references below 128. */
static int xml_unescape(const char *s, size_t len, char *out, size_t size)
{
  static const struct {
    const char *name;
    char ch;
  } ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
  size_t k = 0;
  for (size_t i = 0; i < len; i++) {
    char ch = s[i];
    if (ch == '&') {
      int found = 0;
      for (size_t e = 0; e < sizeof ents / sizeof ents[0] && !found; e++) {
        size_t el = strlen(ents[e].name);
        if (i + 1 + el <= len && memcmp(s + i + 1, ents[e].name, el) == 0) {
          ch = ents[e].ch;
          i += el;
          found = 1;
        }
      }
      if (!found && i + 2 < len && s[i + 1] == '#') {
        char *stop;
        long v = s[i + 2] == 'x' ? strtol(s + i + 3, &stop, 16) : strtol(s + i + 2, &stop, 10);
        if (*stop != ';' || v <= 0 || v > 127 || stop >= s + len)
          return -1;
        ch = (char)v;
        i = (size_t)(stop - s);
        found = 1;
      }
      if (!found)
        return -1;
    }
    if (k + 1 >= size)
      return -1;
    out[k++] = ch;
  }
  out[k] = '\0';
  return 0;
}

/* Parses "<name attr='v' ...>" or "... />" after the '<'. Returns 1 for an element, 2 for a self-closing
 * one, 0 after an error. */
static int xml_start_tag(xml_t *x, xml_elem_t *e)
{
  memset(e, 0, sizeof *e);
  e->line = x->line;
  e->col = x->col - 1;
  if (!xml_name(x, e->name, sizeof e->name)) {
    xml_error(x, e->line, e->col, "malformed or unsupported tag");
    return 0;
  }
  for (;;) {
    xml_skip_space(x);
    if (x->p >= x->end) {
      xml_error(x, e->line, e->col, "<%s> is not closed", e->name);
      return 0;
    }
    if (*x->p == '>') {
      xml_advance(x, 1);
      return 1;
    }
    if (*x->p == '/' && x->p + 1 < x->end && x->p[1] == '>') {
      xml_advance(x, 2);
      return 2;
    }
    int line = x->line, col = x->col;
    if (e->n_attrs == XML_MAX_ATTRS) {
      xml_error(x, line, col, "<%s>: more than %d attributes", e->name, XML_MAX_ATTRS);
      return 0;
    }
    char *key = e->keys[e->n_attrs];
    if (!xml_name(x, key, sizeof e->keys[0])) {
      xml_error(x, line, col, "<%s>: malformed attribute", e->name);
      return 0;
    }
    xml_skip_space(x);
    if (x->p >= x->end || *x->p != '=') {
      xml_error(x, line, col, "<%s>: attribute '%s' has no value", e->name, key);
      return 0;
    }
    xml_advance(x, 1);
    xml_skip_space(x);
    char q = x->p < x->end ? *x->p : '\0';
    if (q != '"' && q != '\'') {
      xml_error(x, line, col, "<%s>: the value of '%s' is not quoted", e->name, key);
      return 0;
    }
    xml_advance(x, 1);
    const char *v = x->p;
    while (x->p < x->end && *x->p != q)
      xml_advance(x, 1);
    if (x->p >= x->end) {
      xml_error(x, line, col, "<%s>: the value of '%s' is not closed", e->name, key);
      return 0;
    }
    if (xml_unescape(v, (size_t)(x->p - v), e->vals[e->n_attrs], XML_VALUE_MAX)) {
      xml_error(x, line, col, "<%s>: the value of '%s' is too long or has an unknown entity", e->name, key);
      return 0;
    }
    xml_advance(x, 1);
    e->n_attrs++;
  }
}

static const char *xml_attr(const xml_elem_t *e, const char *key)
{
  for (int i = 0; i < e->n_attrs; i++)
    if (strcmp(e->keys[i], key) == 0)
      return e->vals[i];
  return NULL;
}

/* 1 when s is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF). The
 * names end up in the result file's UTF-8 strings, so bytes that are not UTF-8 are refused here, with
 * their place in the XML file, rather than when the result is written. */
static int utf8_ok(const char *str)
{
  const unsigned char *s = (const unsigned char *)str;
  while (*s) {
    unsigned c = *s;
    int n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : -1;
    if (n < 0)
      return 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c == 0xE0)
      lo = 0xA0;
    else if (c == 0xED)
      hi = 0x9F;
    else if (c == 0xF0)
      lo = 0x90;
    else if (c == 0xF4)
      hi = 0x8F;
    s++;
    for (int i = 0; i < n; i++, s++) {
      if (*s < (i ? 0x80 : lo) || *s > (i ? 0xBF : hi))
        return 0;
    }
  }
  return 1;
}

/* v with every byte outside printable ASCII written as \xNN, for a message. */
static const char *escaped(const char *v, char *buf, size_t size)
{
  size_t o = 0;
  for (const unsigned char *s = (const unsigned char *)v; *s && o + 5 < size; s++)
    o += (size_t)snprintf(buf + o, size - o, *s >= 0x20 && *s < 0x7F ? "%c" : "\\x%02x", *s);
  buf[o] = 0;
  return buf;
}

/* A required attribute that is a scenario name (<= 63 bytes of UTF-8); NULL after reporting. */
static const char *xml_id(xml_t *x, const xml_elem_t *e, const char *key)
{
  const char *v = xml_attr(e, key);
  char esc[4 * CPN_NAME_MAX + 8];
  if (!v || !v[0])
    xml_error(x, e->line, e->col, "<%s> needs a '%s' attribute", e->name, key);
  else if (strlen(v) >= CPN_NAME_MAX)
    xml_error(x, e->line, e->col, "<%s> %s '%s' is longer than %d bytes", e->name, key, escaped(v, esc, sizeof esc),
              CPN_NAME_MAX - 1);
  else if (!utf8_ok(v))
    xml_error(x, e->line, e->col, "<%s> %s '%s' is not valid UTF-8 (bytes outside ASCII shown as \\xNN)", e->name,
              key, escaped(v, esc, sizeof esc));
  else
    return v;
  return NULL;
}

static int xml_host_index(const xml_t *x, const char *id)
{
  for (int i = 0; i < x->n_hosts; i++)
    if (strcmp(x->hosts[i], id) == 0)
      return i;
  return -1;
}

static int xml_link_index(const xml_t *x, const char *id)
{
  for (int i = 0; i < x->n_links; i++)
    if (strcmp(x->links[i].id, id) == 0)
      return i;
  return -1;
}

/* SimGrid's units. Bandwidth: bytes/s by default ("Bps") or bits ("bps"), with a decimal (k, K, M, G, T,
 * P, E) or binary (Ki, Mi, ...) prefix. Latency: seconds by default, or w, d, h, m, s, ms, us, ns, ps.
 * Returns 0, or -1 when the value is not understood. */
static int parse_bandwidth_bps(const char *s, double *out)
{
  static const struct {
    const char *p;
    double m;
  } pre[] = {{"Ki", 1024.0},   {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
             {"Pi", 1125899906842624.0}, {"Ei", 1152921504606846976.0}, {"k", 1e3}, {"K", 1e3},
             {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18}};
  char *u;
  double x = strtod(s, &u);
  if (u == s || !isfinite(x) || x <= 0)
    return -1;
  double m = 1;
  for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
    size_t len = strlen(pre[i].p);
    if (strncmp(u, pre[i].p, len) == 0 && (u[len] == 'B' || u[len] == 'b')) {
      m = pre[i].m;
      u += len;
      break;
    }
  }
  if (*u == '\0' || strcmp(u, "Bps") == 0)
    *out = x * m * 8;
  else if (strcmp(u, "bps") == 0)
    *out = x * m;
  else
    return -1;
  /* Below 1 bit/s (subnormal values included) SimGrid's own parser aborts: refused here. */
  return isfinite(*out) && *out >= CPN_MIN_BW_BPS ? 0 : -1;
}

static int parse_latency_s(const char *s, double *out)
{
  static const struct {
    const char *u;
    double m;
  } units[] = {{"", 1}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"ns", 1e-9}, {"ps", 1e-12},
               {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800}};
  char *u;
  double x = strtod(s, &u);
  if (u == s || !isfinite(x) || x < 0)
    return -1;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcmp(u, units[i].u) == 0) {
      *out = x * units[i].m;
      return 0;
    }
  }
  return -1;
}

/* Handles an element's start. `route`, `route_links` and `route_link` hold the route being read: its
 * start tag, how many links it lists, and the first of them. */
static void xml_open(xml_t *x, const xml_elem_t *e, const xml_elem_t *parent, xml_elem_t *route, int *route_links,
                     int *route_link)
{
  const char *pn = parent ? parent->name : "";
  int in_zone = !strcmp(pn, "zone") || !strcmp(pn, "AS") || !strcmp(pn, "platform");
  if (!strcmp(e->name, "platform")) {
    if (parent)
      xml_error(x, e->line, e->col, "<platform> inside <%s>", pn);
  } else if (!strcmp(e->name, "zone") || !strcmp(e->name, "AS")) {
    if (strcmp(pn, "platform"))
      xml_error(x, e->line, e->col, "<%s> inside <%s>: nested zones are not supported, flatten the platform into "
                "one zone", e->name, parent ? pn : "nothing");
  } else if (!strcmp(e->name, "host") || !strcmp(e->name, "router")) {
    const char *id = xml_id(x, e, "id");
    if (!in_zone)
      xml_error(x, e->line, e->col, "<%s> inside <%s>", e->name, pn);
    else if (id && xml_host_index(x, id) >= 0)
      xml_error(x, e->line, e->col, "a second host or router with id '%s'", id);
    else if (id) {
      if (x->n_hosts == x->cap_hosts) {
        int cap = x->cap_hosts ? 2 * x->cap_hosts : 64;
        char(*h)[CPN_NAME_MAX] = realloc(x->hosts, (size_t)cap * sizeof *h);
        if (!h) {
          x->oom = 1;
          x->failed = 1;
          return;
        }
        x->hosts = h;
        x->cap_hosts = cap;
      }
      snprintf(x->hosts[x->n_hosts++], CPN_NAME_MAX, "%s", id);
    }
  } else if (!strcmp(e->name, "link")) {
    const char *id = xml_id(x, e, "id"), *bw = xml_attr(e, "bandwidth"), *lat = xml_attr(e, "latency");
    const char *sp = xml_attr(e, "sharing_policy");
    int problems = x->failed;
    xml_link_t l = {.shared = 1, .line = e->line, .a = -1, .b = -1};
    if (!in_zone)
      xml_error(x, e->line, e->col, "<link> inside <%s>", pn);
    if (!bw)
      xml_error(x, e->line, e->col, "<link> needs a 'bandwidth' attribute");
    else if (parse_bandwidth_bps(bw, &l.bw_bps))
      xml_error(x, e->line, e->col, "<link> bandwidth '%s' is not a number of at least 1 bps with a SimGrid unit "
                "(Bps, bps, with prefixes k, M, G, T, Ki, Mi, ...)", bw);
    if (lat && parse_latency_s(lat, &l.latency_s))
      xml_error(x, e->line, e->col, "<link> latency '%s' is not a number >= 0 with a SimGrid unit (s, ms, us, ns, "
                "...)", lat);
    /* SimGrid's default policy is SHARED. FATPIPE and WIFI have no scenario equivalent. */
    if (sp && !strcmp(sp, "SPLITDUPLEX"))
      l.shared = 0;
    else if (sp && strcmp(sp, "SHARED"))
      xml_error(x, e->line, e->col, "<link> sharing_policy '%s' cannot be mapped (SHARED or SPLITDUPLEX only)", sp);
    if (id && xml_link_index(x, id) >= 0)
      xml_error(x, e->line, e->col, "a second link with id '%s'", id);
    if (!id || x->failed > problems)
      return;
    snprintf(l.id, sizeof l.id, "%s", id);
    if (x->n_links == x->cap_links) {
      int cap = x->cap_links ? 2 * x->cap_links : 64;
      xml_link_t *v = realloc(x->links, (size_t)cap * sizeof *v);
      if (!v) {
        x->oom = 1;
        x->failed = 1;
        return;
      }
      x->links = v;
      x->cap_links = cap;
    }
    x->links[x->n_links++] = l;
  } else if (!strcmp(e->name, "route")) {
    if (!in_zone || !parent || !strcmp(pn, "platform"))
      xml_error(x, e->line, e->col, "<route> inside <%s>", parent ? pn : "nothing");
    xml_id(x, e, "src");
    xml_id(x, e, "dst");
    *route = *e;
    *route_links = 0;
    *route_link = -1;
  } else if (!strcmp(e->name, "link_ctn")) {
    if (strcmp(pn, "route"))
      xml_error(x, e->line, e->col, "<link_ctn> inside <%s>: only routes may list links", parent ? pn : "nothing");
    const char *id = xml_id(x, e, "id");
    int li = id ? xml_link_index(x, id) : -1;
    if (id && li < 0)
      xml_error(x, e->line, e->col, "<link_ctn> names link '%s', which is not defined before it", id);
    if (++*route_links == 1)
      *route_link = li;
  } else if (!strcmp(e->name, "prop")) {
    if (strcmp(pn, "host") && strcmp(pn, "router") && strcmp(pn, "link") && strcmp(pn, "zone") && strcmp(pn, "AS"))
      xml_error(x, e->line, e->col, "<prop> inside <%s>", parent ? pn : "nothing");
  } else {
    xml_error(x, e->line, e->col, "element <%s> cannot be mapped to scenario nodes and links (supported: platform, "
              "one zone, host, router, link, route with one link_ctn, prop)", e->name);
  }
}

/* A route ends: with exactly one link, it places that link between its two ends. */
static void xml_route_done(xml_t *x, const xml_elem_t *route, int n_links, int k)
{
  const char *src = xml_attr(route, "src"), *dst = xml_attr(route, "dst");
  if (n_links != 1) {
    xml_error(x, route->line, route->col, "route %s -> %s lists %d links: only routes of exactly one link map to a "
              "scenario link (cpnsim computes multi-link routes itself)", src ? src : "?", dst ? dst : "?", n_links);
    return;
  }
  if (!src || !dst)
    return;
  int a = xml_host_index(x, src), b = xml_host_index(x, dst);
  if (a < 0 || b < 0) {
    xml_error(x, route->line, route->col, "route %s -> %s: no host or router '%s' defined before it", src, dst,
              a < 0 ? src : dst);
    return;
  }
  if (a == b) {
    xml_error(x, route->line, route->col, "route from '%s' to itself", src);
    return;
  }
  if (k < 0 || k >= x->n_links)
    return;
  xml_link_t *l = &x->links[k];
  if (l->a < 0) {
    l->a = a;
    l->b = b;
    l->route_line = route->line;
  } else if (!((l->a == a && l->b == b) || (l->a == b && l->b == a))) {
    xml_error(x, route->line, route->col, "link '%s' is on routes between different hosts (%s - %s at line %d, %s - "
              "%s here): a scenario link joins two places", l->id, x->hosts[l->a], x->hosts[l->b], l->route_line,
              src, dst);
  }
}

cpn_err_t cpn_topology_simgrid_xml_read(const char *path, cpn_node_spec_t **nodes_out, int *n_nodes,
                                        cpn_link_spec_t **links_out, int *n_links, cpn_topology_problem_fn *problem,
                                        void *arg)
{
  xml_t x = {.problem = problem, .arg = arg, .file = path, .line = 1, .col = 1};
  FILE *f = fopen(path, "rb");
  char *text = NULL;
  size_t len = 0, cap = 0;
  if (!f) {
    int saved = errno;
    file_error(&x, "cannot read: %s", strerror(saved));
    return cpn_error_set(CPN_EIO, "%s: cannot read: %s", path, strerror(saved));
  }
  for (;;) {
    if (len + 65536 + 1 > cap) {
      cap = cap ? 2 * cap : 1 << 20;
      char *t = cap > (size_t)XML_MAX_BYTES + 65537 ? NULL : realloc(text, cap);
      if (!t)
        break;
      text = t;
    }
    size_t got = fread(text + len, 1, cap - len - 1, f);
    len += got;
    if (got == 0)
      break;
  }
  int read_error = ferror(f) || !feof(f);
  fclose(f);
  if (read_error || !text) {
    free(text);
    file_error(&x, "cannot read the whole file (larger than %ld MiB?)", XML_MAX_BYTES >> 20);
    return cpn_error_set(CPN_EIO, "%s: cannot read the whole file (larger than %ld MiB?)", path,
                         XML_MAX_BYTES >> 20);
  }
  x.p = text;
  x.end = text + len;

  xml_elem_t *stack = calloc(XML_MAX_DEPTH, sizeof *stack), route = {0};
  int depth = 0, route_links = 0, route_link = -1, seen_platform = 0, syntax = 0;
  if (!stack) {
    free(text);
    return cpn_error_set(CPN_ENOMEM, "%s: out of memory", path);
  }
  /* Problems of meaning are all reported; a syntax error ends the reading (syntax = 1). */
  while (x.p < x.end && !syntax) {
    if (*x.p != '<') {
      if (!isspace((unsigned char)*x.p)) {
        xml_error(&x, x.line, x.col, "text outside tags is not supported");
        syntax = 1;
        break;
      }
      xml_advance(&x, 1);
      continue;
    }
    int line = x.line, col = x.col;
    if (x.end - x.p >= 4 && !memcmp(x.p, "<!--", 4)) {
      if (xml_skip_past(&x, "-->"))
        xml_error(&x, line, col, "comment not closed");
    } else if (x.end - x.p >= 2 && !memcmp(x.p, "<?", 2)) {
      if (xml_skip_past(&x, "?>"))
        xml_error(&x, line, col, "<? not closed");
    } else if (x.end - x.p >= 2 && !memcmp(x.p, "<!", 2)) {
      int brackets = 0; /* a DOCTYPE, possibly with an internal subset [...] */
      while (x.p < x.end && !(*x.p == '>' && brackets == 0)) {
        brackets += *x.p == '[' ? 1 : *x.p == ']' ? -1 : 0;
        xml_advance(&x, 1);
      }
      if (x.p >= x.end)
        xml_error(&x, line, col, "<! not closed");
      xml_advance(&x, 1);
    } else if (x.end - x.p >= 2 && x.p[1] == '/') {
      char name[32];
      xml_advance(&x, 2);
      if (!xml_name(&x, name, sizeof name) || (xml_skip_space(&x), x.p >= x.end || *x.p != '>')) {
        xml_error(&x, line, col, "malformed end tag");
        syntax = 1;
        break;
      }
      xml_advance(&x, 1);
      if (depth == 0 || strcmp(stack[depth - 1].name, name)) {
        xml_error(&x, line, col, "</%s> does not close <%s>", name, depth ? stack[depth - 1].name : "anything");
        syntax = 1;
        break;
      }
      if (!strcmp(name, "route"))
        xml_route_done(&x, &route, route_links, route_link);
      depth--;
    } else {
      xml_elem_t e;
      xml_advance(&x, 1);
      int kind = xml_start_tag(&x, &e);
      if (!kind) {
        syntax = 1;
        break;
      }
      seen_platform |= !strcmp(e.name, "platform");
      xml_open(&x, &e, depth ? &stack[depth - 1] : NULL, &route, &route_links, &route_link);
      if (kind == 2 && !strcmp(e.name, "route"))
        xml_route_done(&x, &route, 0, -1);
      if (kind == 1) {
        if (depth == XML_MAX_DEPTH) {
          xml_error(&x, line, col, "elements nested deeper than %d", XML_MAX_DEPTH);
          syntax = 1;
          break;
        }
        stack[depth++] = e;
      }
    }
  }
  if (!syntax && depth > 0)
    xml_error(&x, stack[depth - 1].line, stack[depth - 1].col, "<%s> is not closed", stack[depth - 1].name);
  if (!syntax && !seen_platform)
    xml_error(&x, 1, 1, "no <platform> element: not a SimGrid platform");
  for (int i = 0; i < x.n_links && !syntax; i++)
    if (x.links[i].a < 0)
      xml_error(&x, x.links[i].line, 1, "link '%s' is on no one-link route, so it joins no two hosts", x.links[i].id);
  free(stack);
  free(text);
  cpn_node_spec_t *nodes = NULL;
  cpn_link_spec_t *links = NULL;
  if (!x.failed) {
    nodes = calloc((size_t)x.n_hosts + 1, sizeof *nodes);
    links = calloc((size_t)x.n_links + 1, sizeof *links);
    if (!nodes || !links) {
      x.oom = 1;
      x.failed = 1;
    }
  }
  if (!x.failed) {
    for (int i = 0; i < x.n_hosts; i++) {
      memcpy(nodes[i].name, x.hosts[i], CPN_NAME_MAX);
      nodes[i].lat_deg = nodes[i].lon_deg = NAN;
    }
    for (int i = 0; i < x.n_links; i++) {
      memcpy(links[i].a, x.hosts[x.links[i].a], CPN_NAME_MAX);
      memcpy(links[i].b, x.hosts[x.links[i].b], CPN_NAME_MAX);
      links[i].latency_s = x.links[i].latency_s;
      links[i].bw_bps = x.links[i].bw_bps;
      links[i].shared = x.links[i].shared;
    }
    *nodes_out = nodes;
    *links_out = links;
    *n_nodes = x.n_hosts;
    *n_links = x.n_links;
  } else {
    free(nodes);
    free(links);
  }
  free(x.hosts);
  free(x.links);
  if (x.oom)
    return cpn_error_set(CPN_ENOMEM, "%s: out of memory", path);
  if (x.failed)
    return cpn_error_set(CPN_EINVAL, "%s: %d problems in the SimGrid platform", path, x.failed);
  return CPN_OK;
}
