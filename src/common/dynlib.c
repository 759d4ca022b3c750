#include "common/dynlib.h"

#include <dlfcn.h>

int dynlib_load(const char *soname, const DynSymbol *symbols, size_t n, const char *why,
                UkError *err)
{
    void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        return uk_error_set(err, UK_E_IO, 0, "unable to load %s (%s): %s", soname, why, dlerror());
    for (size_t i = 0; i < n; i++)
        if (!dlsym(handle, symbols[i].name)) {
            dlclose(handle);
            return uk_error_set(err, UK_E_IO, 0, "%s lacks %s", soname, symbols[i].name);
        }
    /* POSIX guarantees a function pointer fits in (and survives) a void pointer. */
    for (size_t i = 0; i < n; i++)
        *symbols[i].slot = dlsym(handle, symbols[i].name);
    return 0;
}
