/* csv_line: see csv_line.h. */
#include "config/csv_line.h"

#include <errno.h>
#include <string.h>

char *cpn_csv_trim(char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
    *--e = '\0';
  return s;
}

int cpn_csv_split(char *line, char **f, int *col, int max)
{
  int k = 0;
  char *s = line;
  for (;;) {
    char *c = strchr(s, ',');
    if (c)
      *c = '\0';
    if (k < max) {
      col[k] = (int)(s - line) + 1;
      f[k] = cpn_csv_trim(s);
    }
    k++;
    if (!c)
      break;
    s = c + 1;
  }
  return k;
}

FILE *cpn_csv_open(cpn_reader_t *r, const char *file_abs, const char *path, const char **fn)
{
  *fn = cpn_reader_intern(r, file_abs);
  FILE *f = fopen(file_abs, "r");
  if (!f) {
    cpn_reader_report_at(r, *fn, 0, 0, path, "cannot open: %s", strerror(errno));
    cpn_reader_set_io_error(r);
  }
  return f;
}
