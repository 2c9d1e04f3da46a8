/* A library that, like OpenBLAS, starts a thread from its constructor, before cpnsim's main() runs: that
 * thread blocks no signal, so a SIGINT sent to the process may be delivered there. test_interrupt.py
 * loads it with LD_PRELOAD, to see on any machine what a machine whose BLAS is OpenBLAS shows (SimGrid's
 * SIGINT handler called exit() from that thread while the engine ran: a segfault, exit -11). */
#include <pthread.h>
#include <unistd.h>

static void *idle_worker(void *arg)
{
  (void)arg;
  for (;;)
    pause();
  return NULL;
}

__attribute__((constructor)) static void start_foreign_thread(void)
{
  pthread_t t;
  if (pthread_create(&t, NULL, idle_worker, NULL) == 0)
    pthread_detach(t);
}
