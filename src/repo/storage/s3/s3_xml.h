/* The XML that S3 answers with, read with expat: each element's text, with the path of
 * element names that leads to it ("ListBucketResult/Contents/Key"). Enough for listings,
 * multipart uploads and error bodies, which is all the S3 driver reads. */
#ifndef UK_S3_XML_H
#define UK_S3_XML_H

#include <stddef.h>

/* Calls visit(ctx, path, text) for every element that holds text, in document order.
 * Returns 0, or -1 when the body is not well-formed XML. */
int s3_xml_walk(const char *xml, size_t len,
                void (*visit)(void *ctx, const char *path, const char *text), void *ctx);

/* The text of the first element at PATH (malloc'd), or NULL. */
char *s3_xml_first(const char *xml, size_t len, const char *path);

#endif
