#include "alert/curl_lib.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>

#define CURL_SONAME "libcurl.so.4"

static CurlLib lib;
static bool loaded;

/* Each entry: the table field and the library's name for it. */
static const struct {
    size_t offset;
    const char *name;
} symbols[] = {
    {offsetof(CurlLib, easy_init), "curl_easy_init"},
    {offsetof(CurlLib, easy_setopt), "curl_easy_setopt"},
    {offsetof(CurlLib, easy_perform), "curl_easy_perform"},
    {offsetof(CurlLib, easy_getinfo), "curl_easy_getinfo"},
    {offsetof(CurlLib, easy_strerror), "curl_easy_strerror"},
    {offsetof(CurlLib, easy_cleanup), "curl_easy_cleanup"},
    {offsetof(CurlLib, slist_append), "curl_slist_append"},
    {offsetof(CurlLib, slist_free_all), "curl_slist_free_all"},
    {offsetof(CurlLib, url), "curl_url"},
    {offsetof(CurlLib, url_set), "curl_url_set"},
    {offsetof(CurlLib, url_get), "curl_url_get"},
    {offsetof(CurlLib, url_cleanup), "curl_url_cleanup"},
    {offsetof(CurlLib, free), "curl_free"},
};

const CurlLib *curl_lib(UkError *err)
{
    if (loaded)
        return &lib;
    void *handle = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        uk_error_set(err, UK_E_IO, 0, "unable to load %s (alerts need libcurl): %s", CURL_SONAME,
                     dlerror());
        return NULL;
    }
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *fn = dlsym(handle, symbols[i].name);
        if (!fn) {
            uk_error_set(err, UK_E_IO, 0, "%s lacks %s", CURL_SONAME, symbols[i].name);
            dlclose(handle);
            return NULL;
        }
        /* POSIX guarantees a function pointer fits in (and survives) a void pointer. */
        *(void **)((char *)&lib + symbols[i].offset) = fn;
    }
    CURLcode (*global_init)(long) = (CURLcode(*)(long))dlsym(handle, "curl_global_init");
    if (!global_init || global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        uk_error_set(err, UK_E_IO, 0, "unable to initialise %s", CURL_SONAME);
        dlclose(handle);
        return NULL;
    }
    loaded = true; /* kept open for the life of the process */
    return &lib;
}
