#include "fb/fb_frame.h"

#include "fb/fb_cobs.h"
#include "fb/fb_crc32c.h"

static void put_crc_bytes(fb_cobs_writer_t *w, uint32_t *reg, const uint8_t *p, size_t n)
{
    size_t i;
    *reg = fb_crc32c_update(*reg, p, n);
    for (i = 0; i < n; i++) {
        fb_cobs_writer_put(w, p[i]);
    }
}

size_t fb_frame_encode(const fb_header_t *h, const uint8_t *payload, size_t payload_len,
                       uint8_t *out, size_t cap)
{
    uint8_t head[FB_HEADER_SIZE], crc[FB_CRC_SIZE];
    uint32_t reg = FB_CRC32C_INIT;
    fb_cobs_writer_t w;
    size_t n;
    if (payload_len > FB_MAX_PAYLOAD || cap < 2) {
        return 0;
    }
    head[0] = h->version;
    head[1] = h->type;
    fb_put_u16(head + 2, h->seq);
    fb_put_u64(head + 4, h->timestamp_us);
    fb_cobs_writer_init(&w, out, cap - 1); /* keep room for the delimiter */
    put_crc_bytes(&w, &reg, head, sizeof head);
    put_crc_bytes(&w, &reg, payload, payload_len);
    fb_put_u32(crc, reg ^ 0xFFFFFFFFu);
    put_crc_bytes(&w, &reg, crc, sizeof crc);
    n = fb_cobs_writer_finish(&w);
    if (n == 0) {
        return 0;
    }
    out[n] = 0;
    return n + 1;
}

int fb_frame_decode(uint8_t *buf, size_t len, fb_frame_t *out)
{
    long n;
    uint32_t crc;
    if (len > FB_MAX_ENCODED) {
        return FB_ERR_OVERSIZE;
    }
    n = fb_cobs_decode(buf, len, buf, len);
    if (n < 0) {
        return FB_ERR_COBS;
    }
    if ((size_t)n < FB_HEADER_SIZE + FB_CRC_SIZE) {
        return FB_ERR_SHORT;
    }
    if ((size_t)n > FB_MAX_BODY) { /* fits the COBS limit but decodes too long: merged frames */
        return FB_ERR_OVERSIZE;
    }
    crc = fb_crc32c(buf, (size_t)n - FB_CRC_SIZE);
    if (crc != fb_get_u32(buf + n - FB_CRC_SIZE)) {
        return FB_ERR_CRC;
    }
    out->header.version = buf[0];
    out->header.type = buf[1];
    out->header.seq = fb_get_u16(buf + 2);
    out->header.timestamp_us = fb_get_u64(buf + 4);
    if (out->header.version != FB_PROTOCOL_VERSION) {
        return FB_ERR_VERSION;
    }
    out->payload = buf + FB_HEADER_SIZE;
    out->payload_len = (size_t)n - FB_HEADER_SIZE - FB_CRC_SIZE;
    return FB_OK;
}

void fb_rx_init(fb_rx_t *rx)
{
    rx->len = 0;
    rx->discarding = 0;
    rx->stats.frames = rx->stats.crc_errors = rx->stats.framing_errors = 0;
    rx->stats.oversize = rx->stats.runts = rx->stats.bad_version = 0;
}

int fb_rx_push(fb_rx_t *rx, uint8_t byte, fb_frame_t *out)
{
    int rc;
    size_t len;
    if (byte != 0) {
        if (rx->discarding) {
            return 0;
        }
        if (rx->len >= sizeof rx->buf) {
            rx->stats.oversize++;
            rx->discarding = 1;
            rx->len = 0;
            return 0;
        }
        rx->buf[rx->len++] = byte;
        return 0;
    }
    len = rx->len;
    rx->len = 0;
    if (rx->discarding) {
        rx->discarding = 0;
        return 0;
    }
    if (len == 0) {
        return 0; /* empty frame between delimiters: ignored */
    }
    rc = fb_frame_decode(rx->buf, len, out);
    switch (rc) {
    case FB_OK:
        rx->stats.frames++;
        return 1;
    case FB_ERR_COBS: rx->stats.framing_errors++; break;
    case FB_ERR_SHORT: rx->stats.runts++; break;
    case FB_ERR_CRC: rx->stats.crc_errors++; break;
    case FB_ERR_VERSION: rx->stats.bad_version++; break;
    default: rx->stats.oversize++; break;
    }
    return 0;
}
