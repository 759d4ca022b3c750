#include "common/curl_lib.h"

#include <stdbool.h>

#include "common/dynlib.h"

#define CURL_SONAME "libcurl.so.4"

static CurlLib lib;
static CURLcode (*global_init)(long flags);
static bool loaded;

static const DynSymbol symbols[] = {
    {(void **)&lib.easy_init, "curl_easy_init"},
    {(void **)&lib.easy_setopt, "curl_easy_setopt"},
    {(void **)&lib.easy_perform, "curl_easy_perform"},
    {(void **)&lib.easy_getinfo, "curl_easy_getinfo"},
    {(void **)&lib.easy_strerror, "curl_easy_strerror"},
    {(void **)&lib.easy_cleanup, "curl_easy_cleanup"},
    {(void **)&lib.easy_reset, "curl_easy_reset"},
    {(void **)&lib.slist_append, "curl_slist_append"},
    {(void **)&lib.slist_free_all, "curl_slist_free_all"},
    {(void **)&lib.url, "curl_url"},
    {(void **)&lib.url_set, "curl_url_set"},
    {(void **)&lib.url_get, "curl_url_get"},
    {(void **)&lib.url_cleanup, "curl_url_cleanup"},
    {(void **)&lib.free, "curl_free"},
    {(void **)&global_init, "curl_global_init"},
};

const CurlLib *curl_lib(const char *why, UkError *err)
{
    if (loaded)
        return &lib;
    if (dynlib_load(CURL_SONAME, symbols, sizeof symbols / sizeof symbols[0], why, err) != 0)
        return NULL;
    if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        uk_error_set(err, UK_E_IO, 0, "unable to initialise %s", CURL_SONAME);
        return NULL;
    }
    loaded = true;
    return &lib;
}
