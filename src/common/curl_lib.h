/* libcurl, loaded when an alert is first delivered or an S3 repository first opened rather
 * than when upkeep starts (see common/dynlib.h: libcurl brings a dozen libraries, TLS,
 * Kerberos, LDAP, SSH, RTMP …, that cost the daemon about 6 MiB): the few functions below,
 * taken by name. */
#ifndef UK_CURL_LIB_H
#define UK_CURL_LIB_H

#include <curl/curl.h>

#include "core/error.h"

typedef struct CurlLib {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    void (*easy_cleanup)(CURL *curl);
    void (*easy_reset)(CURL *curl);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
    void (*slist_free_all)(struct curl_slist *list);
    CURLU *(*url)(void);
    CURLUcode (*url_set)(CURLU *url, CURLUPart part, const char *content, unsigned int flags);
    CURLUcode (*url_get)(const CURLU *url, CURLUPart part, char **content, unsigned int flags);
    void (*url_cleanup)(CURLU *url);
    void (*free)(void *p);
} CurlLib;

/* The library, loaded and initialised on the first call (the table lives as long as the
 * process); WHY says what needs it, for the message when it cannot be loaded. NULL with err
 * set when libcurl cannot be loaded. The first call must not race another (deliveries and
 * storage calls come from one thread). */
const CurlLib *curl_lib(const char *why, UkError *err);

#endif
