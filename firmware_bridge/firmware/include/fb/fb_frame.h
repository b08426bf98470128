/* Frames: header | payload | CRC-32C, COBS-encoded, 0x00-delimited (PROTOCOL.md §2). */
#ifndef FB_FRAME_H
#define FB_FRAME_H
#include "fb_protocol.h"

/* Encodes a whole wire frame (including the trailing 0x00) into out; returns its length or 0 if
 * cap is too small or the payload too long. cap >= FB_MAX_WIRE always suffices. */
size_t fb_frame_encode(const fb_header_t *h, const uint8_t *payload, size_t payload_len,
                       uint8_t *out, size_t cap);

typedef struct {
    fb_header_t header;
    const uint8_t *payload; /* points into the decoder's buffer; valid until the next push */
    size_t payload_len;
} fb_frame_t;

/* Decodes one COBS block (without delimiter) in place. Returns FB_OK or a negative fb_status. */
int fb_frame_decode(uint8_t *buf, size_t len, fb_frame_t *out);

typedef struct {
    uint32_t frames, crc_errors, framing_errors, oversize, runts, bad_version;
} fb_rx_stats_t;

/* Stream receiver: push bytes; a complete, CRC-valid frame is reported through *out. */
typedef struct {
    uint8_t buf[FB_MAX_ENCODED];
    size_t len;
    int discarding;
    fb_rx_stats_t stats;
} fb_rx_t;

void fb_rx_init(fb_rx_t *rx);
/* Returns 1 when byte completes a valid frame (then *out is set), 0 otherwise. */
int fb_rx_push(fb_rx_t *rx, uint8_t byte, fb_frame_t *out);
#endif
