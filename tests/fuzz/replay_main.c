/* replay_main: runs a fuzz target's LLVMFuzzerTestOneInput over files and directories given as
 * arguments, so the regression inputs and seeds of tests/fuzz/ run in every build (gcc, sanitizers)
 * without libFuzzer. A finding crashes or aborts, as under the fuzzer; exit 0 means every input passed. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: %s: cannot open\n", path);
    return 1;
  }
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      uint8_t *b = realloc(buf, cap *= 2);
      if (!b) {
        free(buf);
        buf = NULL;
      }
      buf = b;
    }
  }
  fclose(f);
  if (!buf)
    return 1;
  LLVMFuzzerTestOneInput(buf, n);
  free(buf);
  return 0;
}


int main(int argc, char **argv)
{
  int bad = 0, n_run = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st)) {
      fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
      bad = 1;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      bad |= run_file(argv[i]);
      n_run++;
      continue;
    }
    struct dirent **ents;
    int n = scandir(argv[i], &ents, NULL, alphasort);
    for (int k = 0; k < n; k++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], ents[k]->d_name);
      if (ents[k]->d_name[0] != '.' && !stat(path, &st) && S_ISREG(st.st_mode)) {
        printf("replay: %s\n", path);
        fflush(stdout);
        bad |= run_file(path);
        n_run++;
      }
      free(ents[k]);
    }
    free(ents);
  }
  printf("replay: %d inputs, %s\n", n_run, bad ? "some could not be read" : "all passed");
  return bad;
}
