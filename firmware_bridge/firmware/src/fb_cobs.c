#include "fb/fb_cobs.h"

void fb_cobs_writer_init(fb_cobs_writer_t *w, uint8_t *out, size_t cap)
{
    w->out = out;
    w->cap = cap;
    w->pos = 1; /* out[0] is reserved for the first code byte */
    w->code_idx = 0;
    w->code = 1;
    w->overflow = cap < 1;
}

static void fb_cobs_close_block(fb_cobs_writer_t *w)
{
    if (w->code_idx < w->cap) {
        w->out[w->code_idx] = w->code;
    }
    w->code_idx = w->pos;
    if (w->pos >= w->cap) {
        w->overflow = 1;
    } else {
        w->pos++;
    }
    w->code = 1;
}

void fb_cobs_writer_put(fb_cobs_writer_t *w, uint8_t byte)
{
    if (w->overflow) {
        return;
    }
    if (byte == 0) {
        fb_cobs_close_block(w);
        return;
    }
    if (w->pos >= w->cap) {
        w->overflow = 1;
        return;
    }
    w->out[w->pos++] = byte;
    w->code++;
    if (w->code == 0xFF) {
        fb_cobs_close_block(w);
    }
}

size_t fb_cobs_writer_finish(fb_cobs_writer_t *w)
{
    if (w->overflow || w->code_idx >= w->cap) {
        return 0;
    }
    w->out[w->code_idx] = w->code;
    return w->pos;
}

size_t fb_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    fb_cobs_writer_t w;
    size_t i;
    fb_cobs_writer_init(&w, out, cap);
    for (i = 0; i < len; i++) {
        fb_cobs_writer_put(&w, in[i]);
    }
    return fb_cobs_writer_finish(&w);
}

long fb_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0;
    if (len == 0) {
        return -1;
    }
    while (i < len) {
        uint8_t code = in[i];
        size_t end, k;
        if (code == 0 || (size_t)code > len - i) {
            return -1;
        }
        end = i + code;
        for (k = i + 1; k < end; k++) {
            if (in[k] == 0 || o >= cap) {
                return -1;
            }
            out[o++] = in[k]; /* o <= k always, so in-place decoding is safe */
        }
        i = end;
        if (code != 0xFF && i < len) {
            if (o >= cap) {
                return -1;
            }
            out[o++] = 0;
        }
    }
    return (long)o;
}
