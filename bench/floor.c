/* floor: the cost floor cpnsim's default scenario is compared against.
 *
 * A bare discrete-event loop doing the default scenario's queueing in spirit, with nothing else: 11
 * sites, 13 origins with Poisson arrivals (the national-2026 origin rates), least-queued placement over
 * all sites, a one-way upload latency from a fixed origin x site table, a FIFO queue per site in front of
 * a few identical servers, and a fixed service time per site (no token model, no output, no SimGrid).
 * Three events per request: arrival at the origin, arrival at the site, end of service.
 *
 * What it owns: one binary heap of 16-byte events, a request pool with a free list and one ring buffer
 * per site, all grown by doubling, so nothing is allocated per request once they have reached their
 * peak size. Events at equal times pop in the order they were pushed (a sequence number), so a run is a
 * function of N and the seed.
 *
 * Usage: bench_floor N [SEED]
 * Prints one line of key=value pairs: requests, events, wall_s (the loop, set-up included), cpu_s,
 * req_per_s (N / wall_s), req_per_cpu_s, mean_response_s and peak_live (a check that the queueing is
 * sane). Build: bench/CMakeLists.txt (target bench_floor). */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N_SITES = 11, N_ORIGINS = 13, SERVERS_PER_SITE = 4 };
enum { EV_ARRIVAL, EV_AT_SITE, EV_DONE };

/* Origins of national-2026 (req/s before the diurnal profile) and the site each one enters at. */
static const double origin_rate_rps[N_ORIGINS] = {80, 80, 30, 30, 50, 55, 35, 20, 20, 10, 30, 15, 15};
static const int origin_home[N_ORIGINS] = {0, 1, 1, 1, 2, 2, 3, 3, 6, 2, 8, 9, 10};

/* An event: the time, and a key whose high bits order equal times (sequence) and low bits say what. */
typedef struct {
  double t_s;
  uint64_t key; /* seq << 26 | kind << 24 | index (origin or request) */
} event_t;

typedef struct {
  double t_arrival_s;
  int origin, site;
  uint32_t next_free;
} req_t;

typedef struct {
  uint32_t *ring;
  uint32_t cap, head, len; /* cap is a power of two */
  int busy;
  long placed; /* placed here and not done: in transit, queued or in service */
  double service_s;
} site_t;

typedef struct {
  event_t *heap;
  size_t n, cap;
  uint64_t seq;
  req_t *reqs;
  uint32_t n_reqs, cap_reqs, free_head;
  site_t sites[N_SITES];
  double latency_s[N_ORIGINS][N_SITES];
} floor_t;

static void die(const char *what)
{
  fprintf(stderr, "bench_floor: out of memory (%s)\n", what);
  exit(1);
}

static int before(const event_t *a, const event_t *b) { return a->t_s < b->t_s || (a->t_s == b->t_s && a->key < b->key); }

static void push(floor_t *f, double t_s, int kind, uint32_t idx)
{
  if (f->n == f->cap) {
    f->cap = f->cap ? 2 * f->cap : 1024;
    f->heap = realloc(f->heap, f->cap * sizeof *f->heap);
    if (!f->heap)
      die("heap");
  }
  event_t e = {t_s, (f->seq++ << 26) | ((uint64_t)kind << 24) | idx};
  size_t i = f->n++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(&e, &f->heap[p]))
      break;
    f->heap[i] = f->heap[p];
    i = p;
  }
  f->heap[i] = e;
}

static event_t pop(floor_t *f)
{
  event_t top = f->heap[0], last = f->heap[--f->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= f->n)
      break;
    if (c + 1 < f->n && before(&f->heap[c + 1], &f->heap[c]))
      c++;
    if (!before(&f->heap[c], &last))
      break;
    f->heap[i] = f->heap[c];
    i = c;
  }
  if (f->n > 0)
    f->heap[i] = last;
  return top;
}

static uint32_t req_alloc(floor_t *f)
{
  if (f->free_head != UINT32_MAX) {
    uint32_t r = f->free_head;
    f->free_head = f->reqs[r].next_free;
    return r;
  }
  if (f->n_reqs == f->cap_reqs) {
    f->cap_reqs = f->cap_reqs ? 2 * f->cap_reqs : 1024;
    f->reqs = realloc(f->reqs, f->cap_reqs * sizeof *f->reqs);
    if (!f->reqs)
      die("requests");
  }
  if (f->n_reqs == 0xffffff) {
    fprintf(stderr, "bench_floor: more than 2^24 requests in flight\n");
    exit(1);
  }
  return f->n_reqs++;
}

static void req_free(floor_t *f, uint32_t r)
{
  f->reqs[r].next_free = f->free_head;
  f->free_head = r;
}

static void enqueue(site_t *s, uint32_t r)
{
  if (s->len == s->cap) {
    uint32_t cap = s->cap ? 2 * s->cap : 64;
    uint32_t *ring = malloc(cap * sizeof *ring);
    if (!ring)
      die("queue");
    for (uint32_t i = 0; i < s->len; i++)
      ring[i] = s->ring[(s->head + i) & (s->cap - 1)];
    free(s->ring);
    s->ring = ring, s->cap = cap, s->head = 0;
  }
  s->ring[(s->head + s->len++) & (s->cap - 1)] = r;
}

static uint32_t dequeue(site_t *s)
{
  uint32_t r = s->ring[s->head];
  s->head = (s->head + 1) & (s->cap - 1);
  s->len--;
  return r;
}

/* Least queued: fewest requests placed and not done (in transit, waiting or in service); ties go to the
 * lower upload latency. */
static int place(const floor_t *f, int origin)
{
  int best = 0;
  for (int s = 1; s < N_SITES; s++) {
    long a = f->sites[s].placed, b = f->sites[best].placed;
    if (a < b || (a == b && f->latency_s[origin][s] < f->latency_s[origin][best]))
      best = s;
  }
  return best;
}

static double seconds(clockid_t clk)
{
  struct timespec ts;
  clock_gettime(clk, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: bench_floor N [SEED]\n");
    return 2;
  }
  long n_target = strtol(argv[1], NULL, 10);
  unsigned long seed = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
  if (n_target <= 0 || n_target >= (1L << 38)) {
    fprintf(stderr, "bench_floor: N must be in [1, 2^38)\n");
    return 2;
  }
  double w0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);

  floor_t *f = calloc(1, sizeof *f);
  if (!f)
    die("state");
  f->free_head = UINT32_MAX;
  /* Upload latency: 2-4 ms at the origin's own site, 6-16 ms to other mainland sites, more overseas
   * (a stand-in for the scenario's access + route latencies). Service: 40-60 ms on 4 servers per site,
   * about 50% utilisation at the scenario's 470 req/s. */
  for (int o = 0; o < N_ORIGINS; o++)
    for (int s = 0; s < N_SITES; s++)
      f->latency_s[o][s] = s == origin_home[o] ? 0.002 + 0.001 * (o % 3)
                           : (s >= 8 || origin_home[o] >= 8) ? 0.02 + 0.015 * ((o + s) % 8)
                                                             : 0.006 + 0.002 * ((o + s) % 6);
  for (int s = 0; s < N_SITES; s++)
    f->sites[s].service_s = 0.040 + 0.002 * s;

  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!rng)
    die("rng");
  gsl_rng_set(rng, seed);
  for (int o = 0; o < N_ORIGINS; o++)
    push(f, gsl_ran_exponential(rng, 1.0 / origin_rate_rps[o]), EV_ARRIVAL, (uint32_t)o);

  long arrived = 0, done = 0, events = 0, live = 0, peak_live = 0;
  double sum_response_s = 0;
  while (f->n > 0) {
    event_t e = pop(f);
    events++;
    int kind = (int)((e.key >> 24) & 3);
    uint32_t idx = (uint32_t)(e.key & 0xffffff);
    switch (kind) {
    case EV_ARRIVAL: {
      int o = (int)idx;
      if (arrived >= n_target) { /* the budget is spent: the other origins' pending arrivals are dropped */
        events--;
        break;
      }
      uint32_t r = req_alloc(f);
      int s = place(f, o);
      f->reqs[r].t_arrival_s = e.t_s, f->reqs[r].origin = o, f->reqs[r].site = s;
      f->sites[s].placed++;
      push(f, e.t_s + f->latency_s[o][s], EV_AT_SITE, r);
      if (++live > peak_live)
        peak_live = live;
      if (++arrived < n_target)
        push(f, e.t_s + gsl_ran_exponential(rng, 1.0 / origin_rate_rps[o]), EV_ARRIVAL, (uint32_t)o);
      break;
    }
    case EV_AT_SITE: {
      site_t *s = &f->sites[f->reqs[idx].site];
      if (s->busy < SERVERS_PER_SITE) {
        s->busy++;
        push(f, e.t_s + s->service_s, EV_DONE, idx);
      } else {
        enqueue(s, idx);
      }
      break;
    }
    case EV_DONE: {
      site_t *s = &f->sites[f->reqs[idx].site];
      sum_response_s += e.t_s + f->latency_s[f->reqs[idx].origin][f->reqs[idx].site] - f->reqs[idx].t_arrival_s;
      req_free(f, idx);
      s->placed--, live--, done++;
      if (s->len > 0)
        push(f, e.t_s + s->service_s, EV_DONE, dequeue(s));
      else
        s->busy--;
      break;
    }
    }
  }
  double wall_s = seconds(CLOCK_MONOTONIC) - w0, cpu_s = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
  printf("requests=%ld events=%ld wall_s=%.4f cpu_s=%.4f req_per_s=%.0f req_per_cpu_s=%.0f mean_response_s=%.4f "
         "peak_live=%ld\n",
         done, events, wall_s, cpu_s, done / wall_s, done / cpu_s, done ? sum_response_s / done : 0.0, peak_live);
  gsl_rng_free(rng);
  for (int s = 0; s < N_SITES; s++)
    free(f->sites[s].ring);
  free(f->reqs);
  free(f->heap);
  free(f);
  return done == n_target ? 0 : 1;
}
