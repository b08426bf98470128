/* The firmware core: command handling, IMU batching, thermal fragmentation, heartbeat. */
#include "fb/fb_device.h"

#include <string.h>

#include "fb/fb_timesync.h"

#define FB_RX_CHUNK 64u
#define FB_THERMAL_FRAGMENTS_PER_POLL 2u

void fb_device_default_config(fb_device_config_t *cfg, uint8_t sensors)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->imu_batch = 10;
    cfg->imu_max_latency_us = 20000;
    cfg->heartbeat_ms = 500;
    cfg->thermal_rate_hz = 8.0f;
    cfg->streams = (uint8_t)(sensors | FB_STREAM_HEARTBEAT);
    cfg->imu.imu_rate_hz = 1000.0f;
    cfg->imu.accel_range_g = 16;
    cfg->imu.gyro_range_dps = 2000;
}

static int send_at(fb_device_t *dev, uint8_t type, const uint8_t *payload, size_t len, uint64_t ts)
{
    const fb_hal_t *hal = dev->hal;
    fb_header_t h;
    size_t n;
    h.version = FB_PROTOCOL_VERSION;
    h.type = type;
    h.seq = dev->seq++; /* consumed even if the frame is dropped: the host sees the gap */
    h.timestamp_us = ts;
    n = fb_frame_encode(&h, payload, len, dev->tx, sizeof dev->tx);
    if (n == 0) {
        return 0;
    }
    if (hal->serial_tx_free(hal->ctx) < n) {
        dev->counters.tx_overruns++;
        return 0;
    }
    hal->serial_write(hal->ctx, dev->tx, n);
    dev->counters.tx_frames++;
    return 1;
}

int fb_device_send(fb_device_t *dev, uint8_t type, const uint8_t *payload, size_t len)
{
    return send_at(dev, type, payload, len, dev->hal->now_us(dev->hal->ctx));
}

int fb_device_log(fb_device_t *dev, uint8_t level, uint16_t code, const char *text)
{
    fb_log_t m;
    size_t n;
    m.level = level;
    m.code = code;
    m.text = text;
    m.text_len = strlen(text);
    n = fb_encode_log(&m, dev->payload, sizeof dev->payload);
    return n ? fb_device_send(dev, FB_MSG_LOG, dev->payload, n) : 0;
}

static void refresh_info(fb_device_t *dev)
{
    dev->info.enabled = dev->cfg.streams;
    dev->info.imu_rate_hz = dev->cfg.imu.imu_rate_hz;
    dev->info.accel_range_g = dev->cfg.imu.accel_range_g;
    dev->info.gyro_range_dps = dev->cfg.imu.gyro_range_dps;
    dev->info.accel_scale = dev->cfg.imu.accel_scale;
    dev->info.gyro_scale = dev->cfg.imu.gyro_scale;
    dev->info.thermal_rate_hz = dev->cfg.thermal_rate_hz;
    dev->info.max_payload = FB_MAX_PAYLOAD;
}

void fb_device_init(fb_device_t *dev, const fb_hal_t *hal, const fb_device_info_t *info,
                    const fb_device_config_t *cfg, uint16_t *thermal_buf)
{
    static const uint8_t flush = 0;
    fb_device_info_t info_copy = *info; /* copies first: the caller may pass dev's own fields */
    fb_device_config_t cfg_copy = *cfg;
    memset(dev, 0, sizeof *dev);
    dev->hal = hal;
    dev->info = info_copy;
    dev->cfg = cfg_copy;
    dev->thermal_buf = thermal_buf;
    fb_rx_init(&dev->rx);
    if (!hal->imu_configure || !hal->imu_read) {
        dev->info.sensors &= (uint8_t)~FB_STREAM_IMU;
    }
    if (!hal->thermal_read || !thermal_buf) {
        dev->info.sensors &= (uint8_t)~FB_STREAM_THERMAL;
    }
    dev->cfg.streams &= (uint8_t)(dev->info.sensors | FB_STREAM_HEARTBEAT);
    if (dev->info.sensors & FB_STREAM_IMU) {
        hal->imu_configure(hal->ctx, &dev->cfg.imu);
    }
    if ((dev->info.sensors & FB_STREAM_THERMAL) && hal->thermal_configure) {
        hal->thermal_configure(hal->ctx, &dev->cfg.thermal_rate_hz);
    }
    refresh_info(dev);
    dev->last_heartbeat_us = hal->now_us(hal->ctx);
    dev->info_pending = 1;
    if (hal->serial_tx_free(hal->ctx) >= 1) {
        hal->serial_write(hal->ctx, &flush, 1); /* ends any partial frame at the host */
    }
}

static void send_info(fb_device_t *dev)
{
    size_t n = fb_encode_device_info(&dev->info, dev->payload, sizeof dev->payload);
    if (fb_device_send(dev, FB_MSG_DEVICE_INFO, dev->payload, n)) {
        dev->info_pending = 0;
    }
}

static void flush_imu(fb_device_t *dev)
{
    fb_imu_batch_t b;
    size_t i, n;
    if (dev->nreadings == 0) {
        return;
    }
    b.t0_us = dev->readings[0].t_us;
    b.accel_scale = dev->cfg.imu.accel_scale;
    b.gyro_scale = dev->cfg.imu.gyro_scale;
    b.first_index = dev->imu_index;
    b.count = dev->nreadings;
    for (i = 0; i < dev->nreadings; i++) {
        b.samples[i].dt_us = (uint32_t)(dev->readings[i].t_us - b.t0_us);
        memcpy(b.samples[i].v, dev->readings[i].v, sizeof b.samples[i].v);
    }
    n = fb_encode_imu_batch(&b, dev->payload, sizeof dev->payload);
    if (!fb_device_send(dev, FB_MSG_IMU_BATCH, dev->payload, n)) {
        dev->counters.imu_dropped_samples += dev->nreadings;
    }
    dev->imu_index += dev->nreadings;
    dev->nreadings = 0;
}

static void poll_imu(fb_device_t *dev, uint64_t now)
{
    const fb_hal_t *hal = dev->hal;
    fb_imu_reading_t tmp[16];
    size_t got, i;
    int guard = 64;
    if (!(dev->cfg.streams & FB_STREAM_IMU)) {
        return;
    }
    do {
        uint32_t dropped = 0, overruns = 0;
        got = hal->imu_read(hal->ctx, tmp, sizeof tmp / sizeof tmp[0], &dropped, &overruns);
        if (dropped) {
            flush_imu(dev); /* keep sample indices contiguous within a batch */
            dev->imu_index += dropped;
            dev->counters.imu_dropped_samples += dropped;
        }
        dev->counters.imu_fifo_overruns += overruns;
        for (i = 0; i < got; i++) {
            dev->readings[dev->nreadings++] = tmp[i];
            dev->counters.imu_samples++;
            if (dev->nreadings >= dev->cfg.imu_batch) {
                flush_imu(dev);
            }
        }
    } while (got > 0 && --guard > 0);
    if (dev->nreadings && now - dev->readings[0].t_us >= dev->cfg.imu_max_latency_us) {
        flush_imu(dev);
    }
}

static void poll_thermal(fb_device_t *dev, uint64_t now)
{
    const fb_hal_t *hal = dev->hal;
    uint32_t total = (uint32_t)dev->info.thermal_width * dev->info.thermal_height;
    unsigned sent = 0;
    if (!(dev->cfg.streams & FB_STREAM_THERMAL) || !(dev->info.sensors & FB_STREAM_THERMAL)) {
        return;
    }
    if (dev->thermal_fragments == 0) {
        if (!hal->thermal_read(hal->ctx, dev->thermal_buf, &dev->thermal_capture_us)) {
            return;
        }
        dev->thermal_frame_id++;
        dev->thermal_fragments = (uint16_t)((total + FB_THERMAL_MAX_PIXELS - 1) / FB_THERMAL_MAX_PIXELS);
        dev->thermal_next_fragment = 0;
    }
    while (dev->thermal_next_fragment < dev->thermal_fragments && sent < FB_THERMAL_FRAGMENTS_PER_POLL) {
        fb_thermal_fragment_t f;
        uint32_t off = (uint32_t)dev->thermal_next_fragment * FB_THERMAL_MAX_PIXELS;
        size_t n;
        f.capture_us = dev->thermal_capture_us;
        f.frame_id = dev->thermal_frame_id;
        f.width = dev->info.thermal_width;
        f.height = dev->info.thermal_height;
        f.index = dev->thermal_next_fragment;
        f.count = dev->thermal_fragments;
        f.pixel_offset = off;
        f.scale = dev->info.thermal_scale;
        f.offset = dev->info.thermal_offset;
        f.npixels = (uint16_t)(total - off < FB_THERMAL_MAX_PIXELS ? total - off : FB_THERMAL_MAX_PIXELS);
        f.pixels = dev->thermal_buf + off;
        f.pixel_bytes_le = NULL;
        n = fb_encode_thermal_fragment(&f, dev->payload, sizeof dev->payload);
        if (hal->serial_tx_free(hal->ctx) < FB_COBS_MAX_ENCODED(n + FB_HEADER_SIZE + FB_CRC_SIZE) + 1u) {
            /* No room: wait, but give up on a frame that is older than two frame periods. */
            float period_us = dev->cfg.thermal_rate_hz > 0.0f ? 1e6f / dev->cfg.thermal_rate_hz : 1e6f;
            if ((float)(now - dev->thermal_capture_us) > 2.0f * period_us) {
                dev->counters.thermal_dropped++;
                dev->thermal_fragments = 0;
            }
            return;
        }
        fb_device_send(dev, FB_MSG_THERMAL_FRAGMENT, dev->payload, n);
        dev->thermal_next_fragment++;
        sent++;
    }
    if (dev->thermal_next_fragment >= dev->thermal_fragments) {
        dev->counters.thermal_frames++;
        dev->thermal_fragments = 0;
    }
}

static uint8_t apply_config(fb_device_t *dev, const fb_config_set_t *c)
{
    const fb_hal_t *hal = dev->hal;
    uint8_t status = FB_CONFIG_OK;
    if (c->fields & (FB_CFG_IMU_RATE | FB_CFG_ACCEL_RANGE | FB_CFG_GYRO_RANGE)) {
        fb_imu_config_t want = dev->cfg.imu;
        if (!(dev->info.sensors & FB_STREAM_IMU)) {
            status = FB_CONFIG_REJECTED;
        } else {
            int rc;
            if (c->fields & FB_CFG_IMU_RATE) want.imu_rate_hz = c->imu_rate_hz;
            if (c->fields & FB_CFG_ACCEL_RANGE) want.accel_range_g = c->accel_range_g;
            if (c->fields & FB_CFG_GYRO_RANGE) want.gyro_range_dps = c->gyro_range_dps;
            flush_imu(dev); /* pending samples keep their old scale */
            rc = hal->imu_configure(hal->ctx, &want);
            if (rc < 0) {
                status = FB_CONFIG_REJECTED;
                hal->imu_configure(hal->ctx, &dev->cfg.imu);
            } else {
                if (rc > 0) status = FB_CONFIG_ADJUSTED;
                dev->cfg.imu = want;
            }
        }
    }
    if (c->fields & FB_CFG_IMU_BATCH) {
        uint16_t b = c->imu_batch;
        if (b < 1) b = 1;
        if (b > FB_IMU_MAX_SAMPLES) b = FB_IMU_MAX_SAMPLES;
        if (b != c->imu_batch && status == FB_CONFIG_OK) status = FB_CONFIG_ADJUSTED;
        flush_imu(dev);
        dev->cfg.imu_batch = b;
    }
    if (c->fields & FB_CFG_THERMAL_RATE) {
        float r = c->thermal_rate_hz;
        if (!(dev->info.sensors & FB_STREAM_THERMAL) || !hal->thermal_configure || r <= 0.0f) {
            status = FB_CONFIG_REJECTED;
        } else {
            int rc = hal->thermal_configure(hal->ctx, &r);
            if (rc < 0) {
                status = FB_CONFIG_REJECTED;
            } else {
                if (rc > 0 && status == FB_CONFIG_OK) status = FB_CONFIG_ADJUSTED;
                dev->cfg.thermal_rate_hz = r;
            }
        }
    }
    if (c->fields & FB_CFG_HEARTBEAT) {
        uint16_t hb = c->heartbeat_ms < 50 ? 50 : c->heartbeat_ms;
        if (hb != c->heartbeat_ms && status == FB_CONFIG_OK) status = FB_CONFIG_ADJUSTED;
        dev->cfg.heartbeat_ms = hb;
    }
    if (c->fields & FB_CFG_STREAMS) {
        uint8_t s = (uint8_t)(c->streams & (dev->info.sensors | FB_STREAM_HEARTBEAT));
        if (s != c->streams && status == FB_CONFIG_OK) status = FB_CONFIG_ADJUSTED;
        if (!(s & FB_STREAM_IMU)) flush_imu(dev);
        dev->cfg.streams = s;
    }
    refresh_info(dev);
    return status;
}

static void handle_frame(fb_device_t *dev, const fb_frame_t *fr, uint64_t t_rx)
{
    dev->counters.rx_frames++;
    switch (fr->header.type) {
    case FB_MSG_TIME_SYNC_REQUEST: {
        fb_time_sync_request_t req;
        fb_time_sync_response_t resp;
        uint64_t t3;
        size_t n;
        if (fb_decode_time_sync_request(fr->payload, fr->payload_len, &req) != FB_OK) {
            dev->counters.rx_errors++;
            return;
        }
        t3 = dev->hal->now_us(dev->hal->ctx);
        fb_timesync_respond(&req, t_rx, t3, &resp);
        n = fb_encode_time_sync_response(&resp, dev->payload, sizeof dev->payload);
        send_at(dev, FB_MSG_TIME_SYNC_RESPONSE, dev->payload, n, t3);
        break;
    }
    case FB_MSG_CONFIG_SET: {
        fb_config_set_t c;
        fb_config_ack_t a;
        size_t n;
        if (fb_decode_config_set(fr->payload, fr->payload_len, &c) != FB_OK) {
            dev->counters.rx_errors++;
            return;
        }
        a.status = apply_config(dev, &c);
        a.config_id = c.config_id;
        a.streams = dev->cfg.streams;
        a.accel_range_g = dev->cfg.imu.accel_range_g;
        a.gyro_range_dps = dev->cfg.imu.gyro_range_dps;
        a.imu_batch = dev->cfg.imu_batch;
        a.heartbeat_ms = dev->cfg.heartbeat_ms;
        a.imu_rate_hz = dev->cfg.imu.imu_rate_hz;
        a.thermal_rate_hz = dev->cfg.thermal_rate_hz;
        n = fb_encode_config_ack(&a, dev->payload, sizeof dev->payload);
        fb_device_send(dev, FB_MSG_CONFIG_ACK, dev->payload, n);
        dev->info_pending = 1;
        break;
    }
    case FB_MSG_INFO_REQUEST:
        dev->info_pending = 1;
        break;
    default:
        dev->counters.rx_unknown++; /* skipped and counted, never fatal */
        break;
    }
}

void fb_device_poll(fb_device_t *dev)
{
    const fb_hal_t *hal = dev->hal;
    uint8_t chunk[FB_RX_CHUNK];
    size_t n, i;
    uint64_t now;
    int guard = 32;
    while (guard-- > 0 && (n = hal->serial_read(hal->ctx, chunk, sizeof chunk)) > 0) {
        uint64_t t_rx = hal->now_us(hal->ctx);
        for (i = 0; i < n; i++) {
            fb_frame_t fr;
            if (fb_rx_push(&dev->rx, chunk[i], &fr)) {
                handle_frame(dev, &fr, t_rx);
            }
        }
    }
    if (dev->info_pending) {
        send_info(dev);
    }
    now = hal->now_us(hal->ctx);
    poll_imu(dev, now);
    poll_thermal(dev, now);
    if ((dev->cfg.streams & FB_STREAM_HEARTBEAT) &&
        now - dev->last_heartbeat_us >= (uint64_t)dev->cfg.heartbeat_ms * 1000u) {
        size_t len;
        const fb_rx_stats_t *s = &dev->rx.stats;
        dev->last_heartbeat_us = now;
        dev->counters.rx_errors = s->crc_errors + s->framing_errors + s->oversize + s->runts + s->bad_version;
        dev->counters.enabled = dev->cfg.streams;
        len = fb_encode_heartbeat(&dev->counters, dev->payload, sizeof dev->payload);
        fb_device_send(dev, FB_MSG_HEARTBEAT, dev->payload, len);
    }
}
