/* cpn_error: last-error message storage (thread-local) and code names. */
#include "core/error.h"

#include <stdio.h>

/* Large enough for a scenario loader report listing every problem in a file, one per line. */
static _Thread_local char last_message[16384];

cpn_err_t cpn_error_vset(cpn_err_t code, const char *fmt, va_list ap)
{
  vsnprintf(last_message, sizeof last_message, fmt, ap);
  return code;
}

cpn_err_t cpn_error_set(cpn_err_t code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cpn_error_vset(code, fmt, ap);
  va_end(ap);
  return code;
}

const char *cpn_error_message(void) { return last_message; }

void cpn_error_clear(void) { last_message[0] = '\0'; }

const char *cpn_error_name(cpn_err_t code)
{
  switch (code) {
  case CPN_OK: return "ok";
  case CPN_EINVAL: return "invalid input";
  case CPN_EIO: return "input/output error";
  case CPN_ENOMEM: return "out of memory";
  case CPN_ENOTFOUND: return "not found";
  case CPN_EABI: return "incompatible plug-in ABI";
  case CPN_EINVARIANT: return "invariant broken";
  }
  return "unknown error";
}
