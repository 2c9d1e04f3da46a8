/* cpn_error: the error codes every fallible cpnsim function returns, and the last-error message.
 *
 * A fallible function returns a cpn_err_t and writes its outputs only on success. On failure it records
 * a message naming the input's file:line:key (not only the code's location) with cpn_error_set();
 * the caller reads it with cpn_error_message(). The message is per thread and is overwritten by the
 * next failure. */
#ifndef CPN_CORE_ERROR_H
#define CPN_CORE_ERROR_H

#include <stdarg.h>

typedef enum {
  CPN_OK = 0,
  CPN_EINVAL = 1,   /* bad input: scenario, trace, command line */
  CPN_EIO = 2,      /* file could not be read or written */
  CPN_ENOMEM = 3,   /* allocation failed */
  CPN_ENOTFOUND = 4,/* a name (site, policy, model) is unknown */
  CPN_EABI = 5,     /* a plug-in was built for another ABI version */
  CPN_EINVARIANT = 6/* the run broke an invariant it checks (conservation) */
} cpn_err_t;

/* Records the message for the failure `code` and returns `code`, so callers can write
 * `return cpn_error_set(CPN_EINVAL, "%s:%d: key '%s' ...", file, line, key);`. */
cpn_err_t cpn_error_set(cpn_err_t code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
cpn_err_t cpn_error_vset(cpn_err_t code, const char *fmt, va_list ap);
/* The message of the last failure on this thread ("" if none). */
const char *cpn_error_message(void);
/* A short name for the code ("invalid input", ...). */
const char *cpn_error_name(cpn_err_t code);
void cpn_error_clear(void);

#endif
