/* Consistent Overhead Byte Stuffing, canonical form (PROTOCOL.md §2). */
#ifndef FB_COBS_H
#define FB_COBS_H
#include <stddef.h>
#include <stdint.h>

/* Streaming encoder: feed bytes one by one, no intermediate buffer needed. */
typedef struct {
    uint8_t *out;
    size_t cap, pos, code_idx;
    uint8_t code;
    int overflow;
} fb_cobs_writer_t;

void fb_cobs_writer_init(fb_cobs_writer_t *w, uint8_t *out, size_t cap);
void fb_cobs_writer_put(fb_cobs_writer_t *w, uint8_t byte);
/* Closes the last block; returns the encoded length, 0 on overflow. */
size_t fb_cobs_writer_finish(fb_cobs_writer_t *w);

/* One-shot encode; returns encoded length or 0 if cap is too small. */
size_t fb_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* Decode one block (no delimiter). in == out is allowed (in-place). Returns the decoded length
 * or -1 on invalid input. */
long fb_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
#endif
