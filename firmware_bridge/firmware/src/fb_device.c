/* The firmware core: command handling, IMU batching, thermal fragmentation, heartbeat. */
#include "fb/fb_device.h"

#include <string.h>

#include "fb/fb_timesync.h"

#define FB_THERMAL_FRAGMENTS_PER_POLL 2u

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
    fb_config_sanitize(&dev->cfg, dev->info.sensors);
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
    fb_imu_batch_t *b = &dev->batch;
    size_t n;
    if (b->count == 0) {
        return;
    }
    b->accel_scale = dev->cfg.imu.accel_scale;
    b->gyro_scale = dev->cfg.imu.gyro_scale;
    b->first_index = dev->imu_index;
    n = fb_encode_imu_batch(b, dev->payload, sizeof dev->payload);
    if (!fb_device_send(dev, FB_MSG_IMU_BATCH, dev->payload, n)) {
        dev->counters.imu_dropped_samples += b->count;
    }
    dev->imu_index += b->count;
    b->count = 0;
}

static void add_imu_sample(fb_device_t *dev, const fb_imu_reading_t *r)
{
    fb_imu_batch_t *b = &dev->batch;
    if (b->count == 0) {
        b->t0_us = r->t_us;
    }
    b->samples[b->count].dt_us = (uint32_t)(r->t_us - b->t0_us);
    memcpy(b->samples[b->count].v, r->v, sizeof r->v);
    b->count++;
    dev->counters.imu_samples++;
    if (b->count >= dev->cfg.imu_batch) {
        flush_imu(dev);
    }
}

/* Takes every sample the HAL holds (bounded, so a fast sensor cannot stall the loop). */
static void read_imu(fb_device_t *dev)
{
    const fb_hal_t *hal = dev->hal;
    size_t got, i;
    int guard = 64;
    do {
        uint32_t dropped = 0, overruns = 0;
        got = hal->imu_read(hal->ctx, dev->imu_chunk, FB_IMU_READ_CHUNK, &dropped, &overruns);
        if (dropped) {
            flush_imu(dev); /* keep sample indices contiguous within a batch */
            dev->imu_index += dropped;
            dev->counters.imu_dropped_samples += dropped;
        }
        dev->counters.imu_fifo_overruns += overruns;
        for (i = 0; i < got; i++) {
            add_imu_sample(dev, &dev->imu_chunk[i]);
        }
    } while (got > 0 && --guard > 0);
}

static void poll_imu(fb_device_t *dev, uint64_t now)
{
    if (!(dev->cfg.streams & FB_STREAM_IMU)) {
        return;
    }
    read_imu(dev);
    if (dev->batch.count && now - dev->batch.t0_us >= dev->cfg.imu_max_latency_us) {
        flush_imu(dev);
    }
}

/* Bytes a thermal fragment must leave free: IMU batches and replies never wait behind thermal. */
static size_t thermal_reserve(const fb_device_t *dev)
{
    size_t r = FB_TX_CONTROL_RESERVE;
    if (dev->cfg.streams & FB_STREAM_IMU) {
        r += FB_WIRE_SIZE(FB_IMU_BATCH_HEAD + 16u * (size_t)dev->cfg.imu_batch);
    }
    return r;
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
        if (hal->serial_tx_free(hal->ctx) < FB_WIRE_SIZE(n) + thermal_reserve(dev)) {
            /* No room: wait, but give up on a frame that is older than two frame periods. */
            float period_us = 1e6f / dev->cfg.thermal_rate_hz; /* the rate is validated */
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

/* CONFIG_SET is all-or-nothing: every field is checked before anything changes, and a hardware
 * failure part-way restores what was already changed. Adjusting a value to what the hardware
 * supports is not a rejection. */
static uint8_t apply_config(fb_device_t *dev, const fb_config_set_t *c)
{
    const fb_hal_t *hal = dev->hal;
    const uint8_t imu_fields = FB_CFG_IMU_RATE | FB_CFG_ACCEL_RANGE | FB_CFG_GYRO_RANGE;
    fb_device_config_t next;
    uint8_t status = fb_config_check(c, &dev->cfg, dev->info.sensors, hal->thermal_configure != NULL, &next);
    int rc;
    if (status == FB_CONFIG_REJECTED) {
        return status;
    }
    if (c->fields & imu_fields) {
        if (dev->cfg.streams & FB_STREAM_IMU) {
            read_imu(dev); /* samples taken so far keep the old scale */
        }
        flush_imu(dev);
        rc = hal->imu_configure(hal->ctx, &next.imu);
        if (rc < 0) {
            fb_imu_config_t old = dev->cfg.imu;
            hal->imu_configure(hal->ctx, &old);
            return FB_CONFIG_REJECTED;
        }
        if (rc > 0) status = FB_CONFIG_ADJUSTED;
    }
    if (c->fields & FB_CFG_THERMAL_RATE) {
        rc = hal->thermal_configure(hal->ctx, &next.thermal_rate_hz);
        if (rc < 0 || !fb_config_rate_ok(next.thermal_rate_hz, FB_THERMAL_RATE_MAX_HZ)) {
            float old_rate = dev->cfg.thermal_rate_hz;
            hal->thermal_configure(hal->ctx, &old_rate);
            if (c->fields & imu_fields) {
                fb_imu_config_t old = dev->cfg.imu;
                hal->imu_configure(hal->ctx, &old);
            }
            return FB_CONFIG_REJECTED;
        }
        if (rc > 0) status = FB_CONFIG_ADJUSTED;
    }
    if (next.imu_batch != dev->cfg.imu_batch || !(next.streams & FB_STREAM_IMU)) {
        flush_imu(dev);
    }
    dev->cfg = next;
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
            dev->rx_malformed++;
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
            dev->rx_malformed++;
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

static void send_heartbeat(fb_device_t *dev)
{
    const fb_rx_stats_t *s = &dev->rx.stats;
    size_t len;
    /* Recomputed from the receiver's counters plus our own: nothing counted earlier is lost. */
    dev->counters.rx_errors = s->crc_errors + s->framing_errors + s->oversize + s->runts +
                              s->bad_version + dev->rx_malformed;
    dev->counters.enabled = dev->cfg.streams;
    len = fb_encode_heartbeat(&dev->counters, dev->payload, sizeof dev->payload);
    fb_device_send(dev, FB_MSG_HEARTBEAT, dev->payload, len);
}

void fb_device_poll(fb_device_t *dev)
{
    const fb_hal_t *hal = dev->hal;
    size_t n, i;
    uint64_t now;
    int guard = 32;
    while (guard-- > 0 && (n = hal->serial_read(hal->ctx, dev->rx_chunk, sizeof dev->rx_chunk)) > 0) {
        uint64_t t_rx = hal->now_us(hal->ctx);
        for (i = 0; i < n; i++) {
            fb_frame_t fr;
            if (fb_rx_push(&dev->rx, dev->rx_chunk[i], &fr)) {
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
        dev->last_heartbeat_us = now;
        send_heartbeat(dev);
    }
}
