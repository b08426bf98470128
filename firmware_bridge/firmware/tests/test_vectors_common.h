/* The shared test vectors, built independently in C (see ../../vectors/generate_vectors.py). */
#ifndef TEST_VECTORS_COMMON_H
#define TEST_VECTORS_COMMON_H
#include <stddef.h>
#include <stdint.h>

#include "fb/fb_frame.h"

extern const char *const fbv_names[];
extern const size_t fbv_count;

/* Encodes vector `name` as a wire frame; returns its length, 0 if unknown. */
size_t fbv_encode(const char *name, uint8_t *out, size_t cap);
/* Checks that a decoded frame carries exactly the vector's header and fields; 0 if it does,
 * otherwise a negative value (and a message on stderr). */
int fbv_check(const char *name, const fb_frame_t *fr);
#endif
