#include "fake_hal.h"

#include <string.h>

#include "icm42688.h"

size_t fake_make_frame(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len, uint8_t *out)
{
    fb_header_t h = {FB_PROTOCOL_VERSION, 0, 0, 0};
    h.type = type;
    h.seq = seq;
    h.timestamp_us = 0x1122334455667788ull;
    return fb_frame_encode(&h, payload, len, out, FB_MAX_WIRE);
}

static uint64_t f_now(void *c) { return ((fake_t *)c)->now; }

static size_t f_read(void *c, uint8_t *b, size_t max)
{
    fake_t *f = c;
    size_t n = f->rx_len - f->rx_pos;
    if (n > max) n = max;
    memcpy(b, f->rx + f->rx_pos, n);
    f->rx_pos += n;
    return n;
}

static size_t f_tx_free(void *c)
{
    fake_t *f = c;
    return f->tx_cap - f->tx_len;
}

static size_t f_write(void *c, const uint8_t *b, size_t n)
{
    fake_t *f = c;
    memcpy(f->tx + f->tx_len, b, n);
    f->tx_len += n;
    return n;
}

static int f_imu_cfg(void *c, fb_imu_config_t *cfg)
{
    fake_t *f = c;
    int rc;
    f->imu_configure_calls++;
    if (f->imu_fail) return -1;
    rc = icm42688_resolve_config(cfg, NULL, NULL);
    f->imu_applied = *cfg;
    return rc;
}

static size_t f_imu_read(void *c, fb_imu_reading_t *out, size_t max, uint32_t *dropped, uint32_t *overruns)
{
    fake_t *f = c;
    size_t n = 0;
    *dropped += f->pending_drop;
    if (f->pending_drop) *overruns += 1;
    f->pending_drop = 0;
    while (n < max && f->next_sample_us <= f->now) {
        memset(&out[n], 0, sizeof out[n]);
        out[n].t_us = f->next_sample_us;
        out[n].v[2] = 2048;
        f->next_sample_us += 1000;
        n++;
    }
    return n;
}

static int f_th_cfg(void *c, float *rate_hz)
{
    fake_t *f = c;
    f->thermal_configure_calls++;
    f->thermal_last_request = *rate_hz;
    if (f->thermal_fail) return -1;
    f->thermal_applied = *rate_hz;
    return 0;
}

static int f_th_read(void *c, uint16_t *pixels, uint64_t *capture_us)
{
    fake_t *f = c;
    size_t i;
    if (!f->thermal_ready) return 0;
    f->thermal_ready = 0;
    for (i = 0; i < FAKE_TH_W * FAKE_TH_H; i++) pixels[i] = (uint16_t)(30000 + i);
    *capture_us = f->now;
    return 1;
}

void fake_init(fake_t *f, fb_hal_t *hal, int with_thermal)
{
    memset(f, 0, sizeof *f);
    f->tx_cap = sizeof f->tx;
    f->now = 1000000;
    f->next_sample_us = 1000000;
    memset(hal, 0, sizeof *hal);
    hal->ctx = f;
    hal->now_us = f_now;
    hal->serial_read = f_read;
    hal->serial_tx_free = f_tx_free;
    hal->serial_write = f_write;
    hal->imu_configure = f_imu_cfg;
    hal->imu_read = f_imu_read;
    if (with_thermal) {
        hal->thermal_configure = f_th_cfg;
        hal->thermal_read = f_th_read;
    }
}

void fake_capture(fake_t *f, captured_t *cap)
{
    static fb_rx_t rx;
    size_t i;
    fb_rx_init(&rx);
    cap->count = 0;
    for (i = 0; i < f->tx_len && cap->count < 256; i++) {
        fb_frame_t fr;
        if (fb_rx_push(&rx, f->tx[i], &fr)) {
            memcpy(cap->store[cap->count], fr.payload, fr.payload_len);
            fr.payload = cap->store[cap->count];
            cap->frames[cap->count++] = fr;
        }
    }
    f->tx_len = 0;
}

void fake_host_send(fake_t *f, uint8_t type, const uint8_t *payload, size_t len)
{
    f->rx_len += fake_make_frame(type, 0, payload, len, f->rx + f->rx_len);
}

const fb_frame_t *fake_find(const captured_t *cap, uint8_t type)
{
    size_t i = cap->count;
    while (i-- > 0) {
        if (cap->frames[i].header.type == type) return &cap->frames[i];
    }
    return NULL;
}
