/* output: the HDF5 result file of one run (the only module that includes hdf5.h).
 *
 * Owns the HDF5 file id, the /requests dataset id, the memory datatype of cpn_record_t and a buffer of
 * ROWS_PER_CHUNK rows. Layout and column meanings are documented in README.md "HDF5 output".
 *
 * Invariants:
 * - The file is written as "<path>.tmp" and only renamed to <path> by a close that commits after every
 *   write succeeded, so a file at <path> is always whole.
 * - One writer per output path: open takes an exclusive flock on "<path>.lock" before touching anything
 *   else, and keeps it until close. A second run with the same path fails at open without having changed
 *   a byte of the first one's files. Holding the lock, any "<path>.tmp" is a leftover (of a killed run,
 *   or planted): it is removed, not opened, and the new one is created with O_CREAT|O_EXCL, so neither
 *   a stale file nor a symbolic link at that name is ever written through. Close removes the lock file.
 * - While the files exist they are registered with cpn_signal_track, so an interrupted run that has to
 *   exit at once still removes them.
 * - Every string stored with a UTF-8 datatype (names, table keys, string attributes, the scenario text)
 *   is valid UTF-8: anything else is refused with a message that shows the offending bytes.
 * - /requests exists from open onwards (0 rows if none is written); rows in the file are always a
 *   prefix of the rows appended, and the buffer holds the rest (fewer than ROWS_PER_CHUNK).
 * - Same calls with the same arguments give the same bytes: the file uses fixed little-endian types,
 *   packed compound types (no padding bytes from memory reach the file), and no object timestamps.
 * - Every HDF5 id opened by a function is closed before it returns, except the three held in
 *   cpn_output_t; cpn_output_close checks that nothing else is still open on the file.
 * - HDF5's automatic error printing is off; a failing HDF5 call becomes a cpn_error_set message that
 *   names the file and the object, followed by HDF5's innermost explanation. */
#include "output/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>
#include <pthread.h>
#include <libdeflate.h>
#include <zlib.h>

#include "core/signal.h"

_Static_assert(sizeof(hid_t) == sizeof(int64_t), "cpn_output_record_memtype returns an hid_t as int64_t");
/* A tripwire: a change to cpn_record_t must be mirrored in record_fields below and in README.md "HDF5 output". */
_Static_assert(sizeof(cpn_record_t) == 144, "cpn_record_t changed: update record_fields and README");

enum {
  ROWS_PER_CHUNK = 4096,       /* /requests chunk and buffer size, in rows */
  DEFLATE_LEVEL = 1,
  TABLE_CHUNK_BYTES = 1 << 20, /* upper bound for one chunk of a generic table */
};

struct cpn_output {
  int n_fields;          /* /requests columns: all, or all but the session ones */
  char *path;            /* final path */
  char *tmp_path;        /* "<path>.tmp", the file actually written */
  char *lock_path;       /* "<path>.lock", flocked for the life of the output */
  int lock_fd;           /* -1 when not locked (file system without locks) */
  int own_tmp;           /* 1 when whatever is at tmp_path is ours to remove */
  int track_tmp, track_lock; /* cpn_signal_track handles, -1 if none */
  hid_t file;
  hid_t requests;        /* the /requests dataset */
  hid_t record_mem;      /* memory datatype of cpn_record_t */
  cpn_record_t *buf;     /* rows not yet in the file (the slot being filled, with a compressor) */
  size_t n_buf;
  hsize_t n_written;     /* rows already in the file */
  struct compressor *z;  /* NULL: rows go through H5Dwrite on this thread */
};

/* ---- errors ------------------------------------------------------------------------------------ */

typedef struct {
  char text[512];
  int found;
} h5_detail_t;

static herr_t take_innermost(unsigned n, const H5E_error2_t *e, void *data)
{
  h5_detail_t *d = data;
  if (!d->found && e->desc && e->desc[0]) {
    /* The I/O failures read "file write failed: time = ..., filename = ..., errno = 28, error message =
     * 'No space left on device', buf = ...": keep what failed and the system's reason. */
    const char *m = strstr(e->desc, "error message = '");
    if (m) {
      m += strlen("error message = '");
      size_t what = strcspn(e->desc, ":,");
      size_t why = strcspn(m, "'");
      snprintf(d->text, sizeof d->text, "%.*s: %.*s", (int)what, e->desc, (int)why, m);
    } else {
      snprintf(d->text, sizeof d->text, "%s", e->desc);
    }
    d->found = 1;
  }
  return 0;
}

/* Turns HDF5's own error printing off and, before the library starts, its cleanup at exit: in HDF5 1.10
 * a file whose close failed (a full disk, a size limit) stays half-open inside the library, and that
 * cleanup then crashes on it (SIGSEGV after the error was reported). Every file this module opens is
 * closed by cpn_output_close, so the cleanup has nothing else to do. */
static void h5_quiet(void)
{
  static int done;
  if (!done) {
    H5dont_atexit(); /* fails harmlessly if the library was already started by someone else */
    done = 1;
  }
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* Records a failed HDF5 call: the caller's context (which file, which object) followed by the
 * innermost message on HDF5's error stack, which is the one that says what actually went wrong
 * ("No such file or directory", "name already exists"). Clears the stack. */
static cpn_err_t h5_fail(cpn_err_t code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cpn_err_t h5_fail(cpn_err_t code, const char *fmt, ...)
{
  char context[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(context, sizeof context, fmt, ap);
  va_end(ap);
  h5_detail_t d = {.found = 0};
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_innermost, &d);
  H5Eclear2(H5E_DEFAULT);
  if (d.found)
    return cpn_error_set(code, "%s: %s", context, d.text);
  return cpn_error_set(code, "%s", context);
}

static void close_id(hid_t *id, herr_t (*closer)(hid_t))
{
  if (*id >= 0)
    closer(*id);
  *id = H5I_INVALID_HID;
}

/* ---- UTF-8 -------------------------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at p (1 to 4), or 0 when p does not start one: a stray
 * continuation byte, an overlong form, a surrogate, a code point above U+10FFFF or a truncated sequence
 * (RFC 3629). NUL ends the string and is not looked at. */
static size_t utf8_seq(const unsigned char *p)
{
  unsigned c = p[0];
  if (c < 0x80)
    return 1;
  size_t n;
  unsigned min;
  unsigned cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, min = 0x80, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, min = 0x800, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0; /* also stops at the terminating NUL */
    cp = cp << 6 | (p[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

/* Offset of the first byte of s that is not well-formed UTF-8, or -1 when s is valid. */
static long utf8_invalid_at(const char *s)
{
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; p[i];) {
    size_t n = utf8_seq(p + i);
    if (n == 0)
      return (long)i;
    i += n;
  }
  return -1;
}

/* s for a message: printable ASCII as is, every other byte as \xHH, at most about 60 bytes of s. */
static void escaped(const char *s, char *out, size_t size)
{
  size_t o = 0;
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; p[i] && o + 8 < size; i++) {
    if (i == 60) {
      o += (size_t)snprintf(out + o, size - o, "...");
      break;
    }
    if (p[i] >= 0x20 && p[i] < 0x7F && p[i] != '\\')
      out[o++] = (char)p[i];
    else
      o += (size_t)snprintf(out + o, size - o, "\\x%02x", p[i]);
  }
  out[o < size ? o : size - 1] = '\0';
}

/* Refuses a string that would be stored under a UTF-8 datatype without being UTF-8: h5py and other
 * readers would fail to decode it, or silently replace bytes. `what` says where it was going. */
static cpn_err_t check_utf8(const cpn_output_t *o, const char *s, const char *what)
{
  long at = utf8_invalid_at(s);
  if (at < 0)
    return CPN_OK;
  char shown[320];
  escaped(s, shown, sizeof shown);
  return cpn_error_set(CPN_EINVAL, "%s: %s is not valid UTF-8 (byte 0x%02x at offset %ld): \"%s\"",
                       o ? o->path : "result file", what, (unsigned char)s[at], at, shown);
}

cpn_err_t cpn_output_default_path(const char *scenario_name, char *buf, size_t size)
{
  static const char suffix[] = ".h5";
  if (!buf || size < sizeof "x.h5")
    return cpn_error_set(CPN_EINVAL, "cpn_output_default_path: buffer too small");
  /* The name's part: at most NAME_MAX bytes for the whole file name, and what the buffer holds. */
  size_t room = size - sizeof suffix;
  if (room > 255 - (sizeof suffix - 1))
    room = 255 - (sizeof suffix - 1);
  const unsigned char *p = (const unsigned char *)(scenario_name ? scenario_name : "");
  size_t o = 0;
  for (size_t i = 0; p[i];) {
    size_t n = utf8_seq(p + i);
    /* A '.' first, last or next to another could make ".", "..", a hidden file or "x..h5". */
    int dot = p[i] == '.' && (o == 0 || p[i + 1] == '\0' || p[i + 1] == '.' || (i > 0 && p[i - 1] == '.'));
    int replace = n == 0 || p[i] < 0x20 || p[i] == 0x7F || p[i] == '/' || p[i] == '\\' || dot ||
                  (o == 0 && p[i] == '-');
    size_t take = replace ? 1 : n;
    if (o + take > room)
      break; /* never cut a character in two */
    if (replace)
      buf[o] = '_';
    else
      memcpy(buf + o, p + i, n);
    o += take;
    i += n ? n : 1;
  }
  if (o > 0 && buf[o - 1] == '.')
    buf[o - 1] = '_'; /* the name was cut right after a '.' */
  if (o == 0) {
    memcpy(buf, "cpnsim", sizeof "cpnsim" - 1);
    o = sizeof "cpnsim" - 1;
  }
  memcpy(buf + o, suffix, sizeof suffix);
  return CPN_OK;
}

/* ---- types ------------------------------------------------------------------------------------- */

typedef enum { K_U8, K_I32, K_U32, K_U64, K_F64, K_STATUS, K_REASON, K_I64 } kind_t;

typedef struct {
  const char *name;
  size_t offset;         /* in cpn_record_t */
  kind_t kind;
} field_t;

/* The /requests columns: cpn_record_t's fields in declaration order ("cls" is spelled "class"). */
static const field_t record_fields[] = {
  {"id", offsetof(cpn_record_t, id), K_U64},
  {"tenant", offsetof(cpn_record_t, tenant), K_I32},
  {"class", offsetof(cpn_record_t, cls), K_I32},
  {"origin", offsetof(cpn_record_t, origin), K_I32},
  {"model", offsetof(cpn_record_t, model), K_I32},
  {"site", offsetof(cpn_record_t, site), K_I32},
  {"replica", offsetof(cpn_record_t, replica), K_I32},
  {"t_arrival", offsetof(cpn_record_t, t_arrival), K_F64},
  {"t_dispatch", offsetof(cpn_record_t, t_dispatch), K_F64},
  {"t_first_token", offsetof(cpn_record_t, t_first_token), K_F64},
  {"t_done", offsetof(cpn_record_t, t_done), K_F64},
  {"prompt_tokens", offsetof(cpn_record_t, prompt_tokens), K_U32},
  {"output_tokens", offsetof(cpn_record_t, output_tokens), K_U32},
  {"net_in_s", offsetof(cpn_record_t, net_in_s), K_F64},
  {"net_out_s", offsetof(cpn_record_t, net_out_s), K_F64},
  {"status", offsetof(cpn_record_t, status), K_STATUS},
  {"reason", offsetof(cpn_record_t, reason), K_REASON},
  {"cross_border", offsetof(cpn_record_t, cross_border), K_U8},
  {"preempted", offsetof(cpn_record_t, preempted), K_U8},
  {"cost_usd", offsetof(cpn_record_t, cost_usd), K_F64},
  {"energy_j", offsetof(cpn_record_t, energy_j), K_F64},
  {"co2_g", offsetof(cpn_record_t, co2_g), K_F64},
  {"cached_tokens", offsetof(cpn_record_t, cached_tokens), K_U32},
  /* Only with CPN_OUTPUT_SESSIONS (the last N_SESSION_FIELDS): runs without sessions keep their bytes. */
  {"session", offsetof(cpn_record_t, session), K_I64},
  {"parent", offsetof(cpn_record_t, parent), K_I64},
};
enum { N_RECORD_FIELDS = sizeof record_fields / sizeof record_fields[0], N_SESSION_FIELDS = 2 };

static const char *status_name(int v) { return cpn_status_name((cpn_status_t)v); }
static const char *reason_name(int v) { return cpn_reason_name((cpn_reason_t)v); }

/* An enum over a uint8 base whose names are those of record.c, so readers see "timed_out", not 3. */
static hid_t enum_type(hid_t base, int count, const char *(*name)(int))
{
  hid_t t = H5Tenum_create(base);
  if (t < 0)
    return H5I_INVALID_HID;
  for (int v = 0; v < count; v++) {
    uint8_t value = (uint8_t)v;
    if (H5Tenum_insert(t, name(v), &value) < 0) {
      H5Tclose(t);
      return H5I_INVALID_HID;
    }
  }
  return t;
}

/* The record type in the file (packed, little-endian standard types) or in memory (native types at
 * cpn_record_t's offsets), of the first n_fields columns. Enum member types are built here and closed
 * after insertion, which copies. */
static hid_t record_type(int in_file, int n_fields)
{
  size_t size = 0;
  if (in_file) {
    for (int i = 0; i < n_fields; i++) {
      switch (record_fields[i].kind) {
      case K_U8: case K_STATUS: case K_REASON: size += 1; break;
      case K_I32: case K_U32: size += 4; break;
      case K_U64: case K_I64: case K_F64: size += 8; break;
      }
    }
  } else {
    size = sizeof(cpn_record_t);
  }
  hid_t t = H5Tcreate(H5T_COMPOUND, size);
  if (t < 0)
    return H5I_INVALID_HID;
  size_t offset = 0;
  for (int i = 0; i < n_fields; i++) {
    const field_t *f = &record_fields[i];
    hid_t member = H5I_INVALID_HID, owned = H5I_INVALID_HID;
    size_t member_size = 0;
    switch (f->kind) {
    case K_U8: member = in_file ? H5T_STD_U8LE : H5T_NATIVE_UINT8; member_size = 1; break;
    case K_I32: member = in_file ? H5T_STD_I32LE : H5T_NATIVE_INT32; member_size = 4; break;
    case K_U32: member = in_file ? H5T_STD_U32LE : H5T_NATIVE_UINT32; member_size = 4; break;
    case K_U64: member = in_file ? H5T_STD_U64LE : H5T_NATIVE_UINT64; member_size = 8; break;
    case K_I64: member = in_file ? H5T_STD_I64LE : H5T_NATIVE_INT64; member_size = 8; break;
    case K_F64: member = in_file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE; member_size = 8; break;
    case K_STATUS:
      owned = member = enum_type(in_file ? H5T_STD_U8LE : H5T_NATIVE_UINT8, CPN_STATUS_COUNT, status_name);
      member_size = 1;
      break;
    case K_REASON:
      owned = member = enum_type(in_file ? H5T_STD_U8LE : H5T_NATIVE_UINT8, CPN_REASON_COUNT, reason_name);
      member_size = 1;
      break;
    }
    herr_t rc = member < 0 ? -1 : H5Tinsert(t, f->name, in_file ? offset : f->offset, member);
    if (owned >= 0)
      H5Tclose(owned);
    if (rc < 0) {
      H5Tclose(t);
      return H5I_INVALID_HID;
    }
    offset += member_size;
  }
  return t;
}

int64_t cpn_output_record_memtype(void)
{
  h5_quiet();
  hid_t t = record_type(0, N_RECORD_FIELDS - N_SESSION_FIELDS);
  if (t < 0)
    h5_fail(CPN_EIO, "cannot build the HDF5 memory type of cpn_record_t");
  return t;
}

/* A fixed-length, NUL-padded UTF-8 string type: numpy reads it as a plain 'S<size>' column. */
static hid_t fixed_string_type(size_t size)
{
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0)
    return H5I_INVALID_HID;
  if (H5Tset_size(t, size > 0 ? size : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
      H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
    H5Tclose(t);
    return H5I_INVALID_HID;
  }
  return t;
}

/* ---- objects ----------------------------------------------------------------------------------- */

/* Dataset creation properties shared by every dataset: no timestamps (so identical runs give identical
 * bytes), and, when chunk_rows > 0, chunked, shuffled and deflated. */
static hid_t dataset_props(hsize_t chunk_rows)
{
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (dcpl < 0)
    return H5I_INVALID_HID;
  if (H5Pset_obj_track_times(dcpl, 0) < 0)
    goto fail;
  if (chunk_rows > 0) {
    if (H5Pset_chunk(dcpl, 1, &chunk_rows) < 0 || H5Pset_shuffle(dcpl) < 0 ||
        H5Pset_deflate(dcpl, DEFLATE_LEVEL) < 0)
      goto fail;
  }
  return dcpl;
fail:
  H5Pclose(dcpl);
  return H5I_INVALID_HID;
}

/* Creates the groups leading to `path` (every component but the last) that do not exist yet, without
 * timestamps. HDF5's own "create intermediate groups" would give them default (timestamped) props. */
static cpn_err_t make_parents(cpn_output_t *o, const char *path)
{
  size_t len = strlen(path);
  char *prefix = malloc(len + 1);
  if (!prefix)
    return cpn_error_set(CPN_ENOMEM, "%s: out of memory creating the groups of '%s'", o->path, path);
  cpn_err_t err = CPN_OK;
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  if (gcpl < 0 || H5Pset_obj_track_times(gcpl, 0) < 0) {
    err = h5_fail(CPN_EIO, "%s: cannot create the groups of '%s'", o->path, path);
    goto done;
  }
  for (size_t i = 1; i < len; i++) {
    if (path[i] != '/' || path[i - 1] == '/')
      continue;
    memcpy(prefix, path, i);
    prefix[i] = '\0';
    htri_t exists = H5Lexists(o->file, prefix, H5P_DEFAULT);
    if (exists < 0) {
      err = h5_fail(CPN_EIO, "%s: cannot look up group '%s'", o->path, prefix);
      goto done;
    }
    if (exists)
      continue;
    hid_t g = H5Gcreate2(o->file, prefix, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (g < 0) {
      err = h5_fail(CPN_EIO, "%s: cannot create group '%s'", o->path, prefix);
      goto done;
    }
    H5Gclose(g);
  }
done:
  if (gcpl >= 0)
    H5Pclose(gcpl);
  free(prefix);
  return err;
}

/* A path is usable when it is non-empty and does not end with '/' (the object needs a name). */
static int valid_object_path(const char *path)
{
  size_t len = path ? strlen(path) : 0;
  return len > 0 && path[len - 1] != '/';
}

/* Writes a dataset of fixed-length strings: a scalar if `scalar` (then n == 1), else 1-D of n. The
 * string length is that of the longest string, so nothing is truncated. */
static cpn_err_t write_strings(cpn_output_t *o, const char *path, const char *const *s, size_t n, int scalar)
{
  size_t width = 1;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(s[i]);
    if (len > width)
      width = len;
  }
  char *buf = calloc(n > 0 ? n : 1, width);
  if (!buf)
    return cpn_error_set(CPN_ENOMEM, "%s: out of memory writing '%s'", o->path, path);
  for (size_t i = 0; i < n; i++)
    memcpy(buf + i * width, s[i], strlen(s[i]));

  cpn_err_t err = CPN_OK;
  hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dset = H5I_INVALID_HID;
  hsize_t dims[1] = {n};
  if ((err = make_parents(o, path)) != CPN_OK)
    goto done;
  if ((type = fixed_string_type(width)) < 0 || (space = scalar ? H5Screate(H5S_SCALAR)
                                                                 : H5Screate_simple(1, dims, NULL)) < 0 ||
      (dcpl = dataset_props(0)) < 0) {
    err = h5_fail(CPN_EIO, "%s: cannot prepare dataset '%s'", o->path, path);
    goto done;
  }
  if ((dset = H5Dcreate2(o->file, path, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0) {
    err = h5_fail(CPN_EIO, "%s: cannot create dataset '%s'", o->path, path);
    goto done;
  }
  if (n > 0 && H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
    err = h5_fail(CPN_EIO, "%s: cannot write dataset '%s'", o->path, path);
done:
  close_id(&dset, H5Dclose);
  close_id(&dcpl, H5Pclose);
  close_id(&space, H5Sclose);
  close_id(&type, H5Tclose);
  free(buf);
  return err;
}

/* ---- compression off the simulation's thread ---------------------------------------------------
 *
 * /requests is chunked (ROWS_PER_CHUNK rows), shuffled and deflated. Deflating on the simulation's thread
 * cost about 40% of a run, so whole chunks are packed to the file's layout, shuffled and deflated by a
 * worker thread, as HDF5's shuffle and deflate filters would (a zlib stream at DEFLATE_LEVEL, made by
 * libdeflate, which is 2-3x faster than zlib's compress2 and any zlib reader inflates),
 * and the simulation's thread stores them with H5Dwrite_chunk. HDF5 is called from one thread only
 * (Debian's HDF5 is not thread-safe); the worker touches libdeflate and its own buffers only.
 *
 * Slots form a ring: the simulation fills slot `fill`, hands it to the worker, and before reusing a slot
 * writes it (in order: chunk k is written before chunk k + 1). Readers see the same values as with
 * H5Dwrite; a partial last chunk is padded with zeros (beyond the dataset's extent, never read). */
enum { N_SLOTS = 4 };
enum { SLOT_FREE, SLOT_QUEUED, SLOT_DONE };

typedef struct {
  cpn_record_t *rows;
  size_t n_rows;
  unsigned char *packed;  /* shuffled file-layout bytes of a whole chunk */
  unsigned char *zbuf;    /* deflated */
  uLongf z_size;
  int state, failed;
} slot_t;

struct compressor {
  pthread_t thread;
  struct libdeflate_compressor *deflater; /* the worker's (libdeflate: zlib format, 2-3x zlib's speed) */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  slot_t slot[N_SLOTS];
  size_t fill, next_write; /* slot being filled; next slot to write (ring indices) */
  size_t row_size;         /* packed file row */
  int n_fields;            /* columns written (record_fields[0 .. n_fields)) */
  size_t field_moff[N_RECORD_FIELDS], field_foff[N_RECORD_FIELDS], field_size[N_RECORD_FIELDS];
  int stop;
};

static size_t kind_size(kind_t k) { return k == K_U64 || k == K_I64 || k == K_F64 ? 8 : k == K_I32 || k == K_U32 ? 4 : 1; }

/* Packs rows to the file layout and shuffles the bytes: byte b of element i goes to b * n + i, over the
 * whole chunk (HDF5's shuffle filter, element size = the packed row). Little-endian hosts only. */
static void pack_shuffle(const struct compressor *z, const cpn_record_t *rows, size_t n_rows, unsigned char *out)
{
  const size_t n = ROWS_PER_CHUNK;
  memset(out, 0, n * z->row_size);
  for (int f = 0; f < z->n_fields; f++)
    for (size_t b = 0; b < z->field_size[f]; b++) {
      unsigned char *dst = out + (z->field_foff[f] + b) * n;
      size_t moff = z->field_moff[f] + b;
      for (size_t i = 0; i < n_rows; i++)
        dst[i] = ((const unsigned char *)&rows[i])[moff];
    }
}

static void *compress_worker(void *arg)
{
  struct compressor *z = arg;
  size_t k = 0;
  pthread_mutex_lock(&z->mu);
  for (;;) {
    while (!z->stop && z->slot[k].state != SLOT_QUEUED)
      pthread_cond_wait(&z->cv, &z->mu);
    if (z->slot[k].state != SLOT_QUEUED)
      break; /* stopping, and nothing left to do */
    slot_t *sl = &z->slot[k];
    pthread_mutex_unlock(&z->mu);
    pack_shuffle(z, sl->rows, sl->n_rows, sl->packed);
    sl->z_size = libdeflate_zlib_compress(z->deflater, sl->packed, ROWS_PER_CHUNK * z->row_size, sl->zbuf,
                                          compressBound(ROWS_PER_CHUNK * z->row_size));
    sl->failed = sl->z_size == 0;
    pthread_mutex_lock(&z->mu);
    sl->state = SLOT_DONE;
    pthread_cond_broadcast(&z->cv);
    k = (k + 1) % N_SLOTS;
  }
  pthread_mutex_unlock(&z->mu);
  return NULL;
}

static void compressor_free(struct compressor *z)
{
  if (!z)
    return;
  for (int i = 0; i < N_SLOTS; i++) {
    free(z->slot[i].rows);
    free(z->slot[i].packed);
    free(z->slot[i].zbuf);
  }
  if (z->deflater)
    libdeflate_free_compressor(z->deflater);
  free(z);
}

/* A compressor with its worker started, or NULL (then rows are written by H5Dwrite: same values). */
static struct compressor *compressor_new(int n_fields)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  struct compressor *z = calloc(1, sizeof *z);
  if (!z)
    return NULL;
  z->n_fields = n_fields;
  for (int f = 0; f < n_fields; f++) {
    z->field_moff[f] = record_fields[f].offset;
    z->field_foff[f] = z->row_size;
    z->field_size[f] = kind_size(record_fields[f].kind);
    z->row_size += z->field_size[f];
  }
  for (int i = 0; i < N_SLOTS; i++) {
    z->slot[i].rows = malloc(ROWS_PER_CHUNK * sizeof(cpn_record_t));
    z->slot[i].packed = malloc(ROWS_PER_CHUNK * z->row_size);
    z->slot[i].zbuf = malloc(compressBound(ROWS_PER_CHUNK * z->row_size));
    if (!z->slot[i].rows || !z->slot[i].packed || !z->slot[i].zbuf) {
      compressor_free(z);
      return NULL;
    }
  }
  z->deflater = libdeflate_alloc_compressor(DEFLATE_LEVEL);
  if (!z->deflater) {
    compressor_free(z);
    return NULL;
  }
  pthread_mutex_init(&z->mu, NULL);
  pthread_cond_init(&z->cv, NULL);
  if (pthread_create(&z->thread, NULL, compress_worker, z) != 0) {
    pthread_mutex_destroy(&z->mu);
    pthread_cond_destroy(&z->cv);
    compressor_free(z);
    return NULL;
  }
  return z;
#else
  (void)n_fields;
  return NULL;
#endif
}

/* Writes the oldest handed-over slot once it is compressed (waiting for it), and frees it. */
static cpn_err_t write_next_slot(cpn_output_t *o)
{
  struct compressor *z = o->z;
  slot_t *sl = &z->slot[z->next_write];
  pthread_mutex_lock(&z->mu);
  while (sl->state == SLOT_QUEUED)
    pthread_cond_wait(&z->cv, &z->mu);
  int done = sl->state == SLOT_DONE;
  pthread_mutex_unlock(&z->mu);
  if (!done)
    return CPN_OK;
  cpn_err_t err = CPN_OK;
  hsize_t total[1] = {o->n_written + sl->n_rows}, offset[1] = {o->n_written};
  if (sl->failed)
    err = cpn_error_set(CPN_EIO, "%s: cannot compress rows %llu to %llu of '/requests'", o->path,
                        (unsigned long long)o->n_written, (unsigned long long)(o->n_written + sl->n_rows - 1));
  else if (H5Dset_extent(o->requests, total) < 0 ||
           H5Dwrite_chunk(o->requests, H5P_DEFAULT, 0, offset, sl->z_size, sl->zbuf) < 0)
    err = h5_fail(CPN_EIO, "%s: cannot write rows %llu to %llu of '/requests'", o->path,
                  (unsigned long long)o->n_written, (unsigned long long)(o->n_written + sl->n_rows - 1));
  if (!err)
    o->n_written += sl->n_rows;
  pthread_mutex_lock(&z->mu);
  sl->state = SLOT_FREE;
  pthread_mutex_unlock(&z->mu);
  z->next_write = (z->next_write + 1) % N_SLOTS;
  return err;
}

/* Hands the filled slot to the worker and makes the next one current (writing it out first if it still
 * holds an older chunk). */
static cpn_err_t hand_over(cpn_output_t *o)
{
  struct compressor *z = o->z;
  slot_t *sl = &z->slot[z->fill];
  if (o->n_buf == 0)
    return CPN_OK;
  pthread_mutex_lock(&z->mu);
  sl->n_rows = o->n_buf;
  sl->state = SLOT_QUEUED;
  pthread_cond_broadcast(&z->cv);
  pthread_mutex_unlock(&z->mu);
  z->fill = (z->fill + 1) % N_SLOTS;
  cpn_err_t err = CPN_OK;
  for (;;) {
    pthread_mutex_lock(&z->mu);
    int busy = z->slot[z->fill].state != SLOT_FREE;
    pthread_mutex_unlock(&z->mu);
    if (err || !busy)
      break;
    err = write_next_slot(o);
  }
  o->buf = z->slot[z->fill].rows;
  o->n_buf = 0;
  return err;
}

/* Stops the worker after it has compressed what it was given; writes it all when `write`. */
static cpn_err_t compressor_finish(cpn_output_t *o, int write)
{
  struct compressor *z = o->z;
  cpn_err_t err = CPN_OK;
  if (!z)
    return CPN_OK;
  if (write)
    err = hand_over(o);
  for (int i = 0; !err && write && i < N_SLOTS; i++)
    err = write_next_slot(o);
  pthread_mutex_lock(&z->mu);
  z->stop = 1;
  pthread_cond_broadcast(&z->cv);
  pthread_mutex_unlock(&z->mu);
  pthread_join(z->thread, NULL);
  pthread_mutex_destroy(&z->mu);
  pthread_cond_destroy(&z->cv);
  o->buf = NULL; /* it was a slot's */
  o->n_buf = 0;
  compressor_free(z);
  o->z = NULL;
  return err;
}

/* ---- open and rows ----------------------------------------------------------------------------- */

static cpn_err_t create_requests(cpn_output_t *o)
{
  cpn_err_t err = CPN_OK;
  hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
  hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED};
  if ((o->record_mem = record_type(0, o->n_fields)) < 0 || (type = record_type(1, o->n_fields)) < 0 ||
      (space = H5Screate_simple(1, dims, maxdims)) < 0 || (dcpl = dataset_props(ROWS_PER_CHUNK)) < 0 ||
      H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0) {
    err = h5_fail(CPN_EIO, "%s: cannot prepare dataset '/requests'", o->path);
    goto done;
  }
  /* Rows are only ever written whole, so chunks need no fill value. */
  if ((o->requests = H5Dcreate2(o->file, "/requests", type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0)
    err = h5_fail(CPN_EIO, "%s: cannot create dataset '/requests'", o->path);
done:
  close_id(&dcpl, H5Pclose);
  close_id(&space, H5Sclose);
  close_id(&type, H5Tclose);
  return err;
}

/* "<path><suffix>", or NULL when out of memory. */
static char *with_suffix(const char *path, const char *suffix)
{
  size_t len = strlen(path), slen = strlen(suffix);
  char *s = malloc(len + slen + 1);
  if (s) {
    memcpy(s, path, len);
    memcpy(s + len, suffix, slen + 1);
  }
  return s;
}

/* Takes the exclusive lock on o->lock_path: open (creating it, never through a symbolic link), flock
 * without waiting, then check that the file locked is still the one at that name (a previous holder
 * unlinks it when it is done; locking the unlinked file would lock nothing). On a file system without
 * flock, goes on unlocked (lock_fd -1). */
static cpn_err_t take_lock(cpn_output_t *o)
{
  for (int attempt = 0; attempt < 100; attempt++) {
    int fd = open(o->lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd < 0) {
      if (errno == ELOOP)
        return cpn_error_set(CPN_EIO, "cannot create result file '%s': '%s' is a symbolic link, which is not "
                             "followed; remove it", o->path, o->lock_path);
      return cpn_error_set(CPN_EIO, "cannot create result file '%s': cannot create the lock file '%s': %s",
                           o->path, o->lock_path, strerror(errno));
    }
    struct stat held, named;
    if (fstat(fd, &held) != 0 || !S_ISREG(held.st_mode)) {
      close(fd);
      return cpn_error_set(CPN_EIO, "cannot create result file '%s': '%s' is not a regular file", o->path,
                           o->lock_path);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      if (e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS) {
        /* No locks here (some network or FUSE file systems): go on, but without the lock a stale
         * temporary file cannot be told from a live one, so it will be refused rather than removed. */
        close(fd);
        return CPN_OK;
      }
      close(fd);
      if (e == EWOULDBLOCK)
        return cpn_error_set(CPN_EIO, "cannot write result file '%s': another run is writing it (it holds '%s'); "
                             "wait for it to finish or choose another --out", o->path, o->lock_path);
      return cpn_error_set(CPN_EIO, "cannot lock '%s': %s", o->lock_path, strerror(e));
    }
    if (lstat(o->lock_path, &named) == 0 && named.st_dev == held.st_dev && named.st_ino == held.st_ino) {
      o->lock_fd = fd;
      return CPN_OK;
    }
    close(fd); /* the holder before us removed it after we opened it: take the new one */
  }
  return cpn_error_set(CPN_EIO, "cannot lock '%s': it keeps being replaced", o->lock_path);
}

/* Removes the lock file (while still holding it, so that nobody can lock the name in between) and
 * releases it. */
static void drop_lock(cpn_output_t *o)
{
  if (o->lock_fd >= 0) {
    unlink(o->lock_path);
    close(o->lock_fd);
    o->lock_fd = -1;
  }
  cpn_signal_untrack(o->track_lock);
  o->track_lock = -1;
}

/* Creates the temporary file exclusively. Called with the lock held (or on a file system without locks):
 * a file already at tmp_path is then a leftover of a run that was killed, or something planted; it is
 * removed (unlinking a symbolic link never touches its target) and a new file created with O_EXCL, which
 * refuses to go through a link planted in between. */
static cpn_err_t create_tmp(cpn_output_t *o, hid_t fcpl)
{
  struct stat st;
  if (lstat(o->tmp_path, &st) == 0) {
    if (o->lock_fd < 0)
      return cpn_error_set(CPN_EIO, "cannot create result file '%s': '%s' exists and this file system has no "
                           "locks to tell whether another run is writing it; remove it if none is", o->path,
                           o->tmp_path);
    if (S_ISDIR(st.st_mode) || unlink(o->tmp_path) != 0)
      return cpn_error_set(CPN_EIO, "cannot create result file '%s': cannot remove the leftover '%s': %s",
                           o->path, o->tmp_path, S_ISDIR(st.st_mode) ? "it is a directory" : strerror(errno));
  }
  o->own_tmp = o->lock_fd >= 0;
  if ((o->file = H5Fcreate(o->tmp_path, H5F_ACC_EXCL, fcpl, H5P_DEFAULT)) < 0) {
    if (lstat(o->tmp_path, &st) == 0 && o->lock_fd < 0)
      return cpn_error_set(CPN_EIO, "cannot create result file '%s': '%s' appeared meanwhile; not overwritten",
                           o->path, o->tmp_path);
    return h5_fail(CPN_EIO, "cannot create result file '%s'", o->tmp_path);
  }
  o->own_tmp = 1;
  return CPN_OK;
}

cpn_err_t cpn_output_open(cpn_output_t **out, const char *path) { return cpn_output_open_ex(out, path, 0); }

cpn_err_t cpn_output_open_ex(cpn_output_t **out, const char *path, unsigned flags)
{
  if (!out || !path || !path[0])
    return cpn_error_set(CPN_EINVAL, "cpn_output_open: no output path given");
  /* Failures are reported through cpn_error_set; HDF5's own stack dump on stderr would only confuse. */
  h5_quiet();

  cpn_err_t err = CPN_OK;
  hid_t fcpl = H5I_INVALID_HID;
  cpn_output_t *o = calloc(1, sizeof *o);
  if (!o)
    return cpn_error_set(CPN_ENOMEM, "%s: out of memory opening the result file", path);
  o->file = o->requests = o->record_mem = H5I_INVALID_HID;
  o->n_fields = flags & CPN_OUTPUT_SESSIONS ? N_RECORD_FIELDS : N_RECORD_FIELDS - N_SESSION_FIELDS;
  o->lock_fd = o->track_tmp = o->track_lock = -1;
  o->path = with_suffix(path, "");
  o->tmp_path = with_suffix(path, ".tmp");
  o->lock_path = with_suffix(path, ".lock");
  o->buf = malloc(ROWS_PER_CHUNK * sizeof *o->buf);
  if (!o->path || !o->tmp_path || !o->lock_path || !o->buf) {
    err = cpn_error_set(CPN_ENOMEM, "%s: out of memory opening the result file", path);
    goto fail;
  }
  /* A directory there would make the final rename fail after the whole run: say so now. */
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    err = cpn_error_set(CPN_EIO, "cannot create result file '%s': it is a directory", path);
    goto fail;
  }

  /* The file-creation list also governs the root group: no timestamp on it either. */
  if ((fcpl = H5Pcreate(H5P_FILE_CREATE)) < 0 || H5Pset_obj_track_times(fcpl, 0) < 0) {
    err = h5_fail(CPN_EIO, "%s: cannot prepare the result file", path);
    goto fail;
  }
  /* Nothing is created or truncated before the lock is ours. A forced exit (second Ctrl-C) waits until
   * the files are registered, so it cannot leave one behind. */
  cpn_signal_hold();
  err = take_lock(o);
  if (!err) {
    if (o->lock_fd >= 0)
      o->track_lock = cpn_signal_track(o->lock_path);
    err = create_tmp(o, fcpl);
    /* Only a file that is ours: without a lock, what is at tmp_path after a failure may be another's. */
    if (o->own_tmp)
      o->track_tmp = cpn_signal_track(o->tmp_path);
  }
  cpn_signal_release();
  if (err)
    goto fail;
  if ((err = create_requests(o)) != CPN_OK)
    goto fail;
  if ((o->z = compressor_new(o->n_fields)) != NULL) {
    free(o->buf);
    o->buf = o->z->slot[0].rows;
  }
  H5Pclose(fcpl);
  *out = o;
  return CPN_OK;

fail:
  close_id(&fcpl, H5Pclose);
  /* Without commit, close removes what this open made and sets no message of its own. */
  cpn_output_close(o, 0);
  return err;
}

/* Appends the buffered rows to /requests: grow the dataset, then write them as one hyperslab. */
static cpn_err_t flush_rows(cpn_output_t *o)
{
  if (o->n_buf == 0)
    return CPN_OK;
  if (o->z)
    return hand_over(o);
  cpn_err_t err = CPN_OK;
  hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
  hsize_t start[1] = {o->n_written}, count[1] = {o->n_buf}, total[1] = {o->n_written + o->n_buf};
  if (H5Dset_extent(o->requests, total) < 0 || (fspace = H5Dget_space(o->requests)) < 0 ||
      H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
      (mspace = H5Screate_simple(1, count, NULL)) < 0 ||
      H5Dwrite(o->requests, o->record_mem, mspace, fspace, H5P_DEFAULT, o->buf) < 0) {
    err = h5_fail(CPN_EIO, "%s: cannot write rows %llu to %llu of '/requests'", o->path,
                  (unsigned long long)o->n_written, (unsigned long long)(o->n_written + o->n_buf - 1));
    goto done;
  }
  o->n_written += o->n_buf;
  o->n_buf = 0;
done:
  close_id(&mspace, H5Sclose);
  close_id(&fspace, H5Sclose);
  return err;
}

cpn_err_t cpn_output_request(cpn_output_t *o, const cpn_record_t *r)
{
  if (!o || !r)
    return cpn_error_set(CPN_EINVAL, "cpn_output_request: no output or no record");
  /* An out-of-range code has no enum name: HDF5 would silently store 0xff. Refuse it instead. */
  if (r->status >= CPN_STATUS_COUNT || r->reason >= CPN_REASON_COUNT)
    return cpn_error_set(CPN_EINVAL, "%s: request %llu has status %u / reason %u, out of range", o->path,
                         (unsigned long long)r->id, (unsigned)r->status, (unsigned)r->reason);
  if (o->n_buf == ROWS_PER_CHUNK) {
    cpn_err_t err = flush_rows(o);
    if (err != CPN_OK)
      return err;
  }
  o->buf[o->n_buf++] = *r;
  /* Flushing as soon as the buffer is full keeps every write aligned on a whole chunk. */
  if (o->n_buf == ROWS_PER_CHUNK)
    return flush_rows(o);
  return CPN_OK;
}

/* ---- attributes, scenario, names, tables ------------------------------------------------------- */

/* Writes a scalar attribute on "/", replacing any attribute of that name. */
static cpn_err_t write_attr(cpn_output_t *o, const char *name, hid_t file_type, hid_t mem_type,
                            const void *value)
{
  if (!o || !name || !name[0])
    return cpn_error_set(CPN_EINVAL, "cpn_output_attr: no output or no attribute name");
  cpn_err_t err = CPN_OK;
  hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
  htri_t exists = H5Aexists(o->file, name);
  if (exists < 0 || (exists > 0 && H5Adelete(o->file, name) < 0) || (space = H5Screate(H5S_SCALAR)) < 0 ||
      (attr = H5Acreate2(o->file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
      H5Awrite(attr, mem_type, value) < 0)
    err = h5_fail(CPN_EIO, "%s: cannot write root attribute '%s'", o->path, name);
  close_id(&attr, H5Aclose);
  close_id(&space, H5Sclose);
  return err;
}

/* Strings are variable-length UTF-8 so that h5py returns them as str. */
cpn_err_t cpn_output_attr_str(cpn_output_t *o, const char *name, const char *value)
{
  if (!value)
    return cpn_error_set(CPN_EINVAL, "cpn_output_attr_str: no value for attribute '%s'", name ? name : "");
  char what[300];
  snprintf(what, sizeof what, "the value of root attribute '%s'", name ? name : "");
  cpn_err_t bad = check_utf8(o, value, what);
  if (bad)
    return bad;
  hid_t type = H5Tcopy(H5T_C_S1);
  if (type < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0) {
    close_id(&type, H5Tclose);
    return h5_fail(CPN_EIO, "%s: cannot build a string type for attribute '%s'", o ? o->path : "",
                   name ? name : "");
  }
  cpn_err_t err = write_attr(o, name, type, type, &value);
  H5Tclose(type);
  return err;
}

cpn_err_t cpn_output_attr_double(cpn_output_t *o, const char *name, double value)
{
  return write_attr(o, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

cpn_err_t cpn_output_attr_int(cpn_output_t *o, const char *name, int64_t value)
{
  return write_attr(o, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

cpn_err_t cpn_output_scenario_text(cpn_output_t *o, const char *text)
{
  if (!o || !text)
    return cpn_error_set(CPN_EINVAL, "cpn_output_scenario_text: no output or no text");
  cpn_err_t bad = check_utf8(o, text, "the scenario text ('/scenario')");
  if (bad)
    return bad;
  return write_strings(o, "/scenario", &text, 1, 1);
}

cpn_err_t cpn_output_names(cpn_output_t *o, const char *what, const char *const *names, size_t n)
{
  if (!o || !what || !what[0] || strchr(what, '/') || (n > 0 && !names))
    return cpn_error_set(CPN_EINVAL, "cpn_output_names: bad arguments for '/names/%s'", what ? what : "");
  for (size_t i = 0; i < n; i++) {
    if (!names[i])
      return cpn_error_set(CPN_EINVAL, "%s: name %zu of '/names/%s' is NULL", o->path, i, what);
    char where[300];
    snprintf(where, sizeof where, "name %zu of '/names/%.200s'", i, what);
    cpn_err_t bad = check_utf8(o, names[i], where);
    if (bad)
      return bad;
  }
  char path[256];
  if ((size_t)snprintf(path, sizeof path, "/names/%s", what) >= sizeof path)
    return cpn_error_set(CPN_EINVAL, "%s: name list '%s' has too long a name", o->path, what);
  return write_strings(o, path, names, n, 0);
}

cpn_err_t cpn_output_table(cpn_output_t *o, const cpn_table_t *t)
{
  if (!o || !t || !valid_object_path(t->path))
    return cpn_error_set(CPN_EINVAL, "cpn_output_table: no output, no table or no path");
  if (t->n_cols == 0 && !t->keys)
    return cpn_error_set(CPN_EINVAL, "%s: table '%s' has neither keys nor columns", o->path, t->path);
  if ((t->n_cols > 0 && !t->col_names) || (t->n_cols > 0 && t->n_rows > 0 && !t->values))
    return cpn_error_set(CPN_EINVAL, "%s: table '%s' has no column names or no values", o->path, t->path);
  for (size_t j = 0; j < t->n_cols; j++)
    if (!t->col_names[j] || !t->col_names[j][0])
      return cpn_error_set(CPN_EINVAL, "%s: table '%s' column %zu has no name", o->path, t->path, j);
  size_t key_width = 0;
  if (t->keys) {
    key_width = 1;
    for (size_t i = 0; i < t->n_rows; i++) {
      if (!t->keys[i])
        return cpn_error_set(CPN_EINVAL, "%s: table '%s' key %zu is NULL", o->path, t->path, i);
      char where[300];
      snprintf(where, sizeof where, "key %zu of table '%.200s'", i, t->path);
      cpn_err_t bad = check_utf8(o, t->keys[i], where);
      if (bad)
        return bad;
      size_t len = strlen(t->keys[i]);
      if (len > key_width)
        key_width = len;
    }
  }

  /* One packed row: key bytes, then the doubles. The memory and file types share this layout, so on a
   * little-endian host HDF5 copies the buffer as it is. */
  size_t row = key_width + t->n_cols * sizeof(double);
  size_t n_rows = t->n_rows;
  char *buf = calloc(n_rows > 0 ? n_rows : 1, row);
  if (!buf)
    return cpn_error_set(CPN_ENOMEM, "%s: out of memory writing table '%s'", o->path, t->path);
  for (size_t i = 0; i < n_rows; i++) {
    if (t->keys)
      memcpy(buf + i * row, t->keys[i], strlen(t->keys[i]));
    memcpy(buf + i * row + key_width, t->values + i * t->n_cols, t->n_cols * sizeof(double));
  }

  cpn_err_t err = CPN_OK;
  hid_t ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID, key = H5I_INVALID_HID;
  hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dset = H5I_INVALID_HID;
  hsize_t chunk = TABLE_CHUNK_BYTES / row;
  if (chunk > ROWS_PER_CHUNK)
    chunk = ROWS_PER_CHUNK;
  if (chunk > n_rows)
    chunk = n_rows;
  if (chunk == 0)
    chunk = 1;
  hsize_t dims[1] = {n_rows}, maxdims[1] = {H5S_UNLIMITED};

  if ((err = make_parents(o, t->path)) != CPN_OK)
    goto done;
  if ((ftype = H5Tcreate(H5T_COMPOUND, row)) < 0 || (mtype = H5Tcreate(H5T_COMPOUND, row)) < 0) {
    err = h5_fail(CPN_EIO, "%s: cannot build the type of table '%s'", o->path, t->path);
    goto done;
  }
  if (t->keys) {
    if ((key = fixed_string_type(key_width)) < 0 || H5Tinsert(ftype, "key", 0, key) < 0 ||
        H5Tinsert(mtype, "key", 0, key) < 0) {
      err = h5_fail(CPN_EIO, "%s: cannot add column 'key' to table '%s'", o->path, t->path);
      goto done;
    }
  }
  for (size_t j = 0; j < t->n_cols; j++) {
    size_t offset = key_width + j * sizeof(double);
    if (H5Tinsert(ftype, t->col_names[j], offset, H5T_IEEE_F64LE) < 0 ||
        H5Tinsert(mtype, t->col_names[j], offset, H5T_NATIVE_DOUBLE) < 0) {
      err = h5_fail(CPN_EINVAL, "%s: cannot add column '%s' to table '%s'", o->path, t->col_names[j], t->path);
      goto done;
    }
  }
  if ((space = H5Screate_simple(1, dims, maxdims)) < 0 || (dcpl = dataset_props(chunk)) < 0) {
    err = h5_fail(CPN_EIO, "%s: cannot prepare table '%s'", o->path, t->path);
    goto done;
  }
  if ((dset = H5Dcreate2(o->file, t->path, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0) {
    err = h5_fail(CPN_EIO, "%s: cannot create table '%s'", o->path, t->path);
    goto done;
  }
  if (n_rows > 0 && H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
    err = h5_fail(CPN_EIO, "%s: cannot write table '%s'", o->path, t->path);
done:
  close_id(&dset, H5Dclose);
  close_id(&dcpl, H5Pclose);
  close_id(&space, H5Sclose);
  close_id(&key, H5Tclose);
  close_id(&mtype, H5Tclose);
  close_id(&ftype, H5Tclose);
  free(buf);
  return err;
}

/* ---- close ------------------------------------------------------------------------------------- */

cpn_err_t cpn_output_close(cpn_output_t *o, int commit)
{
  if (!o)
    return CPN_OK;
  cpn_err_t err = CPN_OK;
  if (o->z)
    err = compressor_finish(o, commit && o->file >= 0 && o->requests >= 0);
  if (!err && commit && o->file >= 0 && o->requests >= 0)
    err = flush_rows(o);
  close_id(&o->requests, H5Dclose);
  close_id(&o->record_mem, H5Tclose);
  if (o->file >= 0) {
    /* Only the file id itself may remain: anything else is an id this module forgot to close, which
     * with the default (weak) close degree would keep the file open and unflushed after H5Fclose. */
    ssize_t open_ids = H5Fget_obj_count(o->file, H5F_OBJ_ALL | H5F_OBJ_LOCAL);
    if (open_ids != 1 && err == CPN_OK)
      err = cpn_error_set(CPN_EINVARIANT, "%s: %zd HDF5 object ids still open at close", o->path,
                          open_ids - 1);
    if (H5Fclose(o->file) < 0) {
      if (err == CPN_OK)
        err = h5_fail(CPN_EIO, "%s: cannot close result file '%s'", o->path, o->tmp_path);
    }
    o->file = H5I_INVALID_HID;
  } else {
    commit = 0; /* open failed: there is nothing to commit */
  }
  /* The rename or removal and the release of the lock happen as one step for a forced exit. */
  cpn_signal_hold();
  if (commit && err == CPN_OK) {
    /* On failure the whole file is kept under its temporary name, which no tool takes for a result. */
    if (rename(o->tmp_path, o->path) != 0)
      err = cpn_error_set(CPN_EIO, "cannot rename '%s' to '%s': %s (the results are left in '%s')",
                          o->tmp_path, o->path, strerror(errno), o->tmp_path);
  } else if (o->own_tmp) {
    /* Not committed, or committing failed: a file that is not whole must not stay behind. */
    unlink(o->tmp_path);
  }
  cpn_signal_untrack(o->track_tmp);
  o->track_tmp = -1;
  drop_lock(o);
  cpn_signal_release();
  free(o->buf);
  free(o->lock_path);
  free(o->tmp_path);
  free(o->path);
  free(o);
  return err;
}
