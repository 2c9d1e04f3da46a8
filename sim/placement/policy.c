/* policy: the registry of policy types. Owns the dlopen handles of loaded plug-ins; the types
 * themselves are const structs owned by their code (built-in or plug-in), so the registry must outlive
 * every run that uses one of its types. */
#include "placement/policy.h"

#include <assert.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define MAX_TYPES 128
#define MAX_HANDLES 16

struct cpn_policy_registry {
  const cpn_policy_type_t *types[MAX_TYPES];
  size_t n_types;
  void *handles[MAX_HANDLES];
  size_t n_handles;
  unsigned rejected_abi; /* ABI of the last type refused for its version, for the error message */
};

int cpn_policy_registry_add(cpn_policy_registry_t *reg, const cpn_policy_type_t *type)
{
  if (type && type->abi != CPN_POLICY_ABI) {
    reg->rejected_abi = type->abi;
    return -1;
  }
  if (!type || !type->name || !type->decide || reg->n_types == MAX_TYPES)
    return -1;
  if (cpn_policy_registry_find(reg, type->name))
    return -1;
  reg->types[reg->n_types++] = type;
  return 0;
}

cpn_err_t cpn_policy_registry_new(cpn_policy_registry_t **out)
{
  cpn_policy_registry_t *reg = calloc(1, sizeof *reg);
  if (!reg)
    return cpn_error_set(CPN_ENOMEM, "policy registry: out of memory");
  for (size_t i = 0; i < cpn_policy_builtin_count; i++) {
    int rc = cpn_policy_registry_add(reg, cpn_policy_builtins[i]);
    assert(rc == 0); /* built-in names are unique */
    (void)rc;
  }
  *out = reg;
  return CPN_OK;
}

void cpn_policy_registry_free(cpn_policy_registry_t *reg)
{
  if (!reg)
    return;
  for (size_t i = 0; i < reg->n_handles; i++)
    dlclose(reg->handles[i]);
  free(reg);
}

const cpn_policy_type_t *cpn_policy_registry_find(const cpn_policy_registry_t *reg, const char *name)
{
  for (size_t i = 0; i < reg->n_types; i++)
    if (strcmp(reg->types[i]->name, name) == 0)
      return reg->types[i];
  return NULL;
}

size_t cpn_policy_registry_count(const cpn_policy_registry_t *reg) { return reg->n_types; }

const cpn_policy_type_t *cpn_policy_registry_at(const cpn_policy_registry_t *reg, size_t i)
{
  return i < reg->n_types ? reg->types[i] : NULL;
}

cpn_err_t cpn_policy_registry_load(cpn_policy_registry_t *reg, const char *path, const char **first)
{
  if (reg->n_handles == MAX_HANDLES)
    return cpn_error_set(CPN_EINVAL, "%s: too many policy plug-ins loaded (max %d)", path, MAX_HANDLES);
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h)
    return cpn_error_set(CPN_ENOTFOUND, "%s: cannot load policy plug-in: %s", path, dlerror());
  cpn_policy_register_fn fn;
  *(void **)&fn = dlsym(h, CPN_POLICY_ENTRY);
  if (!fn) {
    dlclose(h);
    return cpn_error_set(CPN_EINVAL, "%s: not a cpnsim policy plug-in (no symbol '%s')", path, CPN_POLICY_ENTRY);
  }
  size_t before = reg->n_types;
  reg->rejected_abi = 0;
  int rc = fn(reg);
  if (reg->rejected_abi) {
    unsigned abi = reg->rejected_abi;
    reg->n_types = before;
    dlclose(h);
    return cpn_error_set(CPN_EABI, "%s: policy plug-in built for policy ABI %u, this cpnsim requires ABI %u: rebuild it against this cpnsim's cpnsim/policy.h",
                         path, abi, CPN_POLICY_ABI);
  }
  if (rc != 0 || reg->n_types == before) {
    reg->n_types = before;
    dlclose(h);
    return cpn_error_set(CPN_EINVAL, "%s: the plug-in registered no policy (entry returned %d; names may clash with registered policies)", path, rc);
  }
  reg->handles[reg->n_handles++] = h;
  if (first)
    *first = reg->types[before]->name;
  return CPN_OK;
}

cpn_err_t cpn_policy_resolve(cpn_policy_registry_t *reg, const char *spec, const cpn_policy_type_t **type)
{
  const cpn_policy_type_t *t = cpn_policy_registry_find(reg, spec);
  if (t) {
    *type = t;
    return CPN_OK;
  }
  size_t len = strlen(spec);
  if (strchr(spec, '/') || (len > 3 && strcmp(spec + len - 3, ".so") == 0)) {
    const char *first = NULL;
    cpn_err_t err = cpn_policy_registry_load(reg, spec, &first);
    if (err)
      return err;
    *type = cpn_policy_registry_find(reg, first);
    return CPN_OK;
  }
  char names[1024] = "";
  for (size_t i = 0; i < reg->n_types; i++) {
    if (i)
      strncat(names, ", ", sizeof names - strlen(names) - 1);
    strncat(names, reg->types[i]->name, sizeof names - strlen(names) - 1);
  }
  return cpn_error_set(CPN_ENOTFOUND, "unknown policy '%s' (known: %s; or a path to a plug-in .so)", spec, names);
}

cpn_err_t cpn_policy_check_spec(const cpn_policy_registry_t *reg, const char *spec)
{
  if (cpn_policy_registry_find(reg, spec))
    return CPN_OK;
  size_t len = strlen(spec);
  if (strchr(spec, '/') || (len > 3 && strcmp(spec + len - 3, ".so") == 0)) {
    if (access(spec, R_OK) != 0)
      return cpn_error_set(CPN_ENOTFOUND, "plug-in '%s' cannot be read: %s", spec, strerror(errno));
    return CPN_OK;
  }
  return cpn_error_set(CPN_ENOTFOUND, "unknown policy '%s' (a built-in name or a path to a plug-in .so)", spec);
}
