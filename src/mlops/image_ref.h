#ifndef MLOPS_IMAGE_REF_H
#define MLOPS_IMAGE_REF_H

/*
 * Docker image references, by the grammar Docker itself parses with
 * (github.com/distribution/reference):
 *   [host[:port]/]component(/component)*[:tag][@sha256:<64 hex>]
 * where a component is [a-z0-9]+ joined by '.', '_', '__' or runs of '-',
 * the repository name (host and components) is at most 255 characters and
 * a tag is 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'. The first
 * component is a host when more follow and it holds a '.' or a ':' or is
 * "localhost", as Docker decides.
 *
 * Returns NULL when `ref` is such a reference, or else why it is not, as a
 * static phrase for a message ("repository names must be lowercase").
 * Nothing is set in core/error: the caller knows the file and field.
 */
const char *image_ref_problem(const char *ref);

#endif
