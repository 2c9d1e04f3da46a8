/* import_graphml: GraphML (Internet Topology Zoo) to scenario nodes and links, through igraph's GraphML
 * reader.
 *
 * Owns nothing beyond one call: the igraph graph lives while the file is converted. igraph's attribute
 * table and error and warning handlers are global; they are set for the read and restored before
 * returning, whatever happens.
 * Invariants: node names are unique and non-empty; a link's latency comes from its ends' coordinates
 * (or NO_COORD_LATENCY_S when one end has none); no self-loops. */
#include "topology/import_graphml.h"

#include <ctype.h>
#include <errno.h>
#include <igraph.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xbt/log.h>

#include "topology/geo.h"

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(cpn_topology_graphml, cpn_topology, "cpnsim GraphML topology import");

/* Links touching a GraphML node without coordinates get this latency. */
#define NO_COORD_LATENCY_S 1e-3

/* Topology Zoo's Country attribute holds English country names: the ones its files use, with their ISO
 * 3166-1 alpha-2 codes. A 2-letter value is taken as a code. */
static const char *const COUNTRIES[][2] = {
    {"Afghanistan", "AF"}, {"Albania", "AL"}, {"Algeria", "DZ"}, {"Argentina", "AR"}, {"Armenia", "AM"},
    {"Australia", "AU"}, {"Austria", "AT"}, {"Azerbaijan", "AZ"}, {"Bahrain", "BH"}, {"Bangladesh", "BD"},
    {"Belarus", "BY"}, {"Belgium", "BE"}, {"Bolivia", "BO"}, {"Bosnia and Herzegovina", "BA"}, {"Brazil", "BR"},
    {"Bulgaria", "BG"}, {"Cambodia", "KH"}, {"Canada", "CA"}, {"Chile", "CL"}, {"China", "CN"},
    {"Colombia", "CO"}, {"Costa Rica", "CR"}, {"Croatia", "HR"}, {"Cuba", "CU"}, {"Cyprus", "CY"},
    {"Czech Republic", "CZ"}, {"Czechia", "CZ"}, {"Denmark", "DK"}, {"Ecuador", "EC"}, {"Egypt", "EG"},
    {"Estonia", "EE"}, {"Ethiopia", "ET"}, {"Finland", "FI"}, {"France", "FR"}, {"Georgia", "GE"},
    {"Germany", "DE"}, {"Ghana", "GH"}, {"Greece", "GR"}, {"Hong Kong", "HK"}, {"Hungary", "HU"},
    {"Iceland", "IS"}, {"India", "IN"}, {"Indonesia", "ID"}, {"Iran", "IR"}, {"Iraq", "IQ"}, {"Ireland", "IE"},
    {"Israel", "IL"}, {"Italy", "IT"}, {"Japan", "JP"}, {"Jordan", "JO"}, {"Kazakhstan", "KZ"}, {"Kenya", "KE"},
    {"Kuwait", "KW"}, {"Latvia", "LV"}, {"Lebanon", "LB"}, {"Lithuania", "LT"}, {"Luxembourg", "LU"},
    {"Macau", "MO"}, {"Macedonia", "MK"}, {"Malaysia", "MY"}, {"Malta", "MT"}, {"Mexico", "MX"},
    {"Moldova", "MD"}, {"Mongolia", "MN"}, {"Montenegro", "ME"}, {"Morocco", "MA"}, {"Myanmar", "MM"},
    {"Nepal", "NP"}, {"Netherlands", "NL"}, {"New Zealand", "NZ"}, {"Nigeria", "NG"}, {"Norway", "NO"},
    {"Oman", "OM"}, {"Pakistan", "PK"}, {"Panama", "PA"}, {"Peru", "PE"}, {"Philippines", "PH"},
    {"Poland", "PL"}, {"Portugal", "PT"}, {"Qatar", "QA"}, {"Romania", "RO"}, {"Russia", "RU"},
    {"Saudi Arabia", "SA"}, {"Serbia", "RS"}, {"Singapore", "SG"}, {"Slovakia", "SK"}, {"Slovenia", "SI"},
    {"South Africa", "ZA"}, {"South Korea", "KR"}, {"Korea", "KR"}, {"Spain", "ES"}, {"Sri Lanka", "LK"},
    {"Sweden", "SE"}, {"Switzerland", "CH"}, {"Taiwan", "TW"}, {"Tanzania", "TZ"}, {"Thailand", "TH"},
    {"Tunisia", "TN"}, {"Turkey", "TR"}, {"Ukraine", "UA"}, {"United Arab Emirates", "AE"}, {"UAE", "AE"},
    {"United Kingdom", "GB"}, {"UK", "GB"}, {"United States", "US"}, {"USA", "US"}, {"Uruguay", "UY"},
    {"Uzbekistan", "UZ"}, {"Venezuela", "VE"}, {"Vietnam", "VN"}, {"Viet Nam", "VN"}};

/* The ISO code of a Country value into out[3]; 0 when it is not known. */
static int country_code(const char *value, char *out)
{
  while (*value && isspace((unsigned char)*value))
    value++;
  size_t len = strlen(value);
  while (len > 0 && isspace((unsigned char)value[len - 1]))
    len--;
  if (len == 2 && isalpha((unsigned char)value[0]) && isalpha((unsigned char)value[1])) {
    out[0] = (char)toupper((unsigned char)value[0]);
    out[1] = (char)toupper((unsigned char)value[1]);
    out[2] = '\0';
    return 1;
  }
  for (size_t i = 0; i < sizeof COUNTRIES / sizeof COUNTRIES[0]; i++)
    if (strlen(COUNTRIES[i][0]) == len && strncasecmp(COUNTRIES[i][0], value, len) == 0) {
      memcpy(out, COUNTRIES[i][1], 3);
      return 1;
    }
  return 0;
}

/* Multipliers of Topology Zoo's LinkSpeedUnits. */
static double unit_factor(const char *u)
{
  switch (toupper((unsigned char)(u[0]))) {
  case 'K': return 1e3;
  case 'M': return 1e6;
  case 'G': return 1e9;
  case 'T': return 1e12;
  default: return u[0] ? NAN : 1.0;
  }
}

/* igraph's C attribute table stores each attribute as the type its GraphML key declares (attr.type:
 * string, double/float/int/long, boolean), and its accessors (VAS, VAN, EAS, EAN) do not check it: VAS on
 * a numeric attribute reads a number vector as a string vector (a wild pointer: the fuzzer's SEGV in
 * name_from_label). So every attribute is read through its type, found once per read. */

/* The type of a vertex or edge attribute (IGRAPH_ATTRIBUTE_UNSPECIFIED when absent or on out of
 * memory, so it is then treated as absent). */
static int attr_type(const igraph_t *g, igraph_attribute_elemtype_t elem, const char *name)
{
  igraph_strvector_t gn, vn, en;
  igraph_vector_int_t gt, vt, et;
  int type = IGRAPH_ATTRIBUTE_UNSPECIFIED;
  /* Made in order; on a failure only those made are destroyed. */
  int made = 0;
  if (!igraph_strvector_init(&gn, 0) && ++made && !igraph_strvector_init(&vn, 0) && ++made &&
      !igraph_strvector_init(&en, 0) && ++made && !igraph_vector_int_init(&gt, 0) && ++made &&
      !igraph_vector_int_init(&vt, 0) && ++made && !igraph_vector_int_init(&et, 0) && ++made &&
      igraph_cattribute_list(g, &gn, &gt, &vn, &vt, &en, &et) == IGRAPH_SUCCESS) {
    const igraph_strvector_t *names = elem == IGRAPH_ATTRIBUTE_VERTEX ? &vn : &en;
    const igraph_vector_int_t *types = elem == IGRAPH_ATTRIBUTE_VERTEX ? &vt : &et;
    for (igraph_integer_t i = 0; i < igraph_strvector_size(names); i++)
      if (strcmp(igraph_strvector_get(names, i), name) == 0)
        type = (int)VECTOR(*types)[i];
  }
  if (made > 5) igraph_vector_int_destroy(&et);
  if (made > 4) igraph_vector_int_destroy(&vt);
  if (made > 3) igraph_vector_int_destroy(&gt);
  if (made > 2) igraph_strvector_destroy(&en);
  if (made > 1) igraph_strvector_destroy(&vn);
  if (made > 0) igraph_strvector_destroy(&gn);
  return type;
}

/* A vertex (elem IGRAPH_ATTRIBUTE_VERTEX) or edge attribute of type `type` (from attr_type) as a number:
 * a numeric one as it is, a string one parsed (NAN when it is no number); NAN when absent, empty or of
 * another type (boolean). */
static double attr_num(const igraph_t *g, igraph_attribute_elemtype_t elem, const char *name, int type,
                       igraph_integer_t i)
{
  if (type == IGRAPH_ATTRIBUTE_NUMERIC)
    return elem == IGRAPH_ATTRIBUTE_VERTEX ? VAN(g, name, i) : EAN(g, name, i);
  if (type == IGRAPH_ATTRIBUTE_STRING) {
    const char *v = elem == IGRAPH_ATTRIBUTE_VERTEX ? VAS(g, name, i) : EAS(g, name, i);
    char *end;
    double x = strtod(v, &end);
    return end == v ? NAN : x;
  }
  return NAN;
}

/* The same attribute as text: a string one as it is, a numeric one written with %.15g into buf (a
 * GraphML label declared attr.type="double" is still a label), "" when absent or of another type. */
static const char *attr_str(const igraph_t *g, igraph_attribute_elemtype_t elem, const char *name, int type,
                            igraph_integer_t i, char *buf, size_t buf_len)
{
  if (type == IGRAPH_ATTRIBUTE_STRING) {
    const char *v = elem == IGRAPH_ATTRIBUTE_VERTEX ? VAS(g, name, i) : EAS(g, name, i);
    return v ? v : "";
  }
  if (type == IGRAPH_ATTRIBUTE_NUMERIC) {
    double x = elem == IGRAPH_ATTRIBUTE_VERTEX ? VAN(g, name, i) : EAN(g, name, i);
    if (isnan(x)) /* igraph's value for a node without this attribute */
      return "";
    snprintf(buf, buf_len, "%.15g", x);
    return buf;
  }
  return "";
}

/* Makes a node name from a label: trimmed, lowercased, each run of white space turned into one '-';
 * "node-<id>" when nothing is left. Cuts at CPN_NAME_MAX - 1 bytes without splitting a UTF-8
 * character. */
static void name_from_label(char *out, const char *label, long id)
{
  size_t k = 0;
  const char *p = label;
  while (*p && isspace((unsigned char)*p))
    p++;
  while (*p && k < CPN_NAME_MAX - 1) {
    unsigned char c = (unsigned char)*p;
    if (isspace(c)) {
      while (*p && isspace((unsigned char)*p))
        p++;
      if (*p)
        out[k++] = '-';
      continue;
    }
    out[k++] = (char)tolower(c);
    p++;
  }
  if (((unsigned char)*p & 0xC0) == 0x80) { /* cut inside a character: drop its first bytes too */
    while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
      k--;
    if (k > 0)
      k--;
  }
  out[k] = '\0';
  if (k == 0)
    snprintf(out, CPN_NAME_MAX, "node-%ld", id);
}

static int name_taken(const cpn_node_spec_t *nodes, int n, const char *name)
{
  for (int i = 0; i < n; i++)
    if (strcmp(nodes[i].name, name) == 0)
      return 1;
  return 0;
}

/* Makes nodes[n].name unique among nodes[0..n-1] by appending "-2", "-3", ... */
static void make_unique(cpn_node_spec_t *nodes, int n)
{
  char base[CPN_NAME_MAX];
  if (!name_taken(nodes, n, nodes[n].name))
    return;
  memcpy(base, nodes[n].name, sizeof base);
  for (int k = 2;; k++) {
    char suffix[16];
    int len = snprintf(suffix, sizeof suffix, "-%d", k);
    size_t keep = strlen(base);
    if (keep + (size_t)len > CPN_NAME_MAX - 1)
      keep = CPN_NAME_MAX - 1 - (size_t)len;
    snprintf(nodes[n].name, CPN_NAME_MAX, "%.*s%s", (int)keep, base, suffix);
    if (!name_taken(nodes, n, nodes[n].name))
      return;
  }
}

/* igraph's GraphML reader warns about things that do not matter here (e.g. "Could not add vertex ids,
 * there is already an 'id' vertex attribute"): keep them, at debug level. */
static void igraph_warning_to_log(const char *reason, const char *file, int line)
{
  XBT_DEBUG("igraph warning (%s:%d): %s", file, line, reason);
}

cpn_err_t cpn_topology_graphml_read(const char *path, cpn_node_spec_t **nodes_out, int *n_nodes_out,
                                    cpn_link_spec_t **links_out, int *n_links_out, double default_bw_bps,
                                    double route_factor)
{
  if (!(isfinite(route_factor) && route_factor >= 1))
    return cpn_error_set(CPN_EINVAL, "%s: route factor %g is not a finite value >= 1", path, route_factor);
  if (!(isfinite(default_bw_bps) && default_bw_bps > 0))
    return cpn_error_set(CPN_EINVAL, "%s: default bandwidth %g bps is not a finite value > 0", path, default_bw_bps);
  FILE *f = fopen(path, "r");
  if (!f)
    return cpn_error_set(CPN_EIO, "%s: cannot open: %s", path, strerror(errno));

  cpn_err_t err = CPN_OK;
  cpn_node_spec_t *nodes = NULL;
  cpn_link_spec_t *links = NULL;
  igraph_t g;
  /* Without the C attribute handler igraph drops every GraphML attribute. Both settings are global
   * to igraph, so they are restored before returning; the graph is destroyed under the table that
   * built it. */
  igraph_attribute_table_t *old_table = igraph_set_attribute_table(&igraph_cattribute_table);
  igraph_error_handler_t *old_handler = igraph_set_error_handler(igraph_error_handler_ignore);
  igraph_warning_handler_t *old_warning = igraph_set_warning_handler(igraph_warning_to_log);
  igraph_error_t rc = igraph_read_graph_graphml(&g, f, 0);
  fclose(f);
  if (rc != IGRAPH_SUCCESS) {
    err = cpn_error_set(CPN_EINVAL, "%s: not a readable GraphML graph: %s", path, igraph_strerror(rc));
    goto restore;
  }

  int n = (int)igraph_vcount(&g), m = (int)igraph_ecount(&g);
  const igraph_attribute_elemtype_t V = IGRAPH_ATTRIBUTE_VERTEX, E = IGRAPH_ATTRIBUTE_EDGE;
  int t_label = attr_type(&g, V, "label"), t_country = attr_type(&g, V, "Country");
  int t_lat = attr_type(&g, V, "Latitude"), t_lon = attr_type(&g, V, "Longitude");
  int t_raw = attr_type(&g, E, "LinkSpeedRaw"), t_speed = attr_type(&g, E, "LinkSpeed");
  int t_units = attr_type(&g, E, "LinkSpeedUnits");
  char text[64];
  int merged = 0;
  nodes = calloc((size_t)n + 1, sizeof *nodes);
  links = calloc((size_t)m + 1, sizeof *links);
  if (!nodes || !links) {
    err = cpn_error_set(CPN_ENOMEM, "%s: out of memory for %d nodes and %d links", path, n, m);
    goto destroy;
  }
  for (int v = 0; v < n; v++) {
    name_from_label(nodes[v].name, attr_str(&g, V, "label", t_label, v, text, sizeof text), v);
    make_unique(nodes, v);
    nodes[v].lat_deg = attr_num(&g, V, "Latitude", t_lat, v);
    nodes[v].lon_deg = attr_num(&g, V, "Longitude", t_lon, v);
    const char *cv = attr_str(&g, V, "Country", t_country, v, text, sizeof text);
    if (cv[0] && !country_code(cv, nodes[v].country)) {
      err = cpn_error_set(CPN_EINVAL, "%s: node %d '%s': Country '%.60s' is no country name known to the importer "
                          "(give a 2-letter ISO 3166 code instead)", path, v, nodes[v].name, cv);
      goto destroy;
    }
    if (!isfinite(nodes[v].lat_deg) || !isfinite(nodes[v].lon_deg)) {
      nodes[v].lat_deg = nodes[v].lon_deg = NAN;
      XBT_WARN("%s: node %d '%s' has no coordinates: its links get latency %g ms", path, v, nodes[v].name,
               NO_COORD_LATENCY_S * 1e3);
    }
  }
  int k = 0;
  for (int e = 0; e < m; e++) {
    int a = (int)IGRAPH_FROM(&g, e), b = (int)IGRAPH_TO(&g, e);
    if (a == b) {
      XBT_WARN("%s: edge %d joins '%s' to itself: skipped", path, e, nodes[a].name);
      continue;
    }
    /* Bandwidth: LinkSpeedRaw (bit/s) when given, else LinkSpeed x LinkSpeedUnits (K, M, G, T), else
     * the default. */
    double bw = attr_num(&g, E, "LinkSpeedRaw", t_raw, e);
    if (!(bw > 0)) {
      double x = attr_num(&g, E, "LinkSpeed", t_speed, e);
      bw = x * unit_factor(attr_str(&g, E, "LinkSpeedUnits", t_units, e, text, sizeof text));
    }
    if (!(isfinite(bw) && bw > 0))
      bw = default_bw_bps;
    double lat = isnan(nodes[a].lat_deg) || isnan(nodes[b].lat_deg)
                     ? NO_COORD_LATENCY_S
                     : cpn_topology_fibre_latency_s(&nodes[a], &nodes[b], route_factor);
    /* Parallel edges (several cables between two places, common in the Topology Zoo) become one link:
     * their bandwidths add, and its latency is the least of theirs. */
    int dup = -1;
    for (int j = 0; j < k && dup < 0; j++)
      if ((strcmp(links[j].a, nodes[a].name) == 0 && strcmp(links[j].b, nodes[b].name) == 0) ||
          (strcmp(links[j].a, nodes[b].name) == 0 && strcmp(links[j].b, nodes[a].name) == 0))
        dup = j;
    if (dup >= 0) {
      links[dup].bw_bps += bw;
      if (lat < links[dup].latency_s)
        links[dup].latency_s = lat;
      merged++;
      continue;
    }
    cpn_link_spec_t *l = &links[k++];
    memcpy(l->a, nodes[a].name, CPN_NAME_MAX);
    memcpy(l->b, nodes[b].name, CPN_NAME_MAX);
    l->latency_s = lat;
    l->bw_bps = bw;
    l->shared = 0;
    l->line = 0;
  }
  if (merged)
    XBT_INFO("%s: %d parallel edges merged into their links (bandwidths added, least latency kept)", path, merged);
  XBT_DEBUG("%s: %d nodes, %d links", path, n, k);
  *nodes_out = nodes;
  *n_nodes_out = n;
  *links_out = links;
  *n_links_out = k;
  nodes = NULL;
  links = NULL;
destroy:
  igraph_destroy(&g);
restore:
  free(nodes);
  free(links);
  igraph_set_warning_handler(old_warning);
  igraph_set_error_handler(old_handler);
  igraph_set_attribute_table(old_table);
  return err;
}
