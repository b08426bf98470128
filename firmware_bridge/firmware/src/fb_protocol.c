/* Payload encoders and decoders for every message type (PROTOCOL.md §3). */
#include "fb/fb_protocol.h"

#include <string.h>

void fb_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
void fb_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
void fb_put_u64(uint8_t *p, uint64_t v)
{
    fb_put_u32(p, (uint32_t)v);
    fb_put_u32(p + 4, (uint32_t)(v >> 32));
}
void fb_put_f32(uint8_t *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    fb_put_u32(p, u);
}
uint16_t fb_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
uint32_t fb_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
uint64_t fb_get_u64(const uint8_t *p) { return (uint64_t)fb_get_u32(p) | ((uint64_t)fb_get_u32(p + 4) << 32); }
float fb_get_f32(const uint8_t *p)
{
    uint32_t u = fb_get_u32(p);
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static void put_str16(uint8_t *p, const char *s)
{
    size_t n = 0;
    memset(p, 0, 16);
    while (n < 16 && s[n] != '\0') {
        p[n] = (uint8_t)s[n];
        n++;
    }
}
static void get_str16(const uint8_t *p, char *s)
{
    memcpy(s, p, 16); /* NUL-padded; callers treat the field as char[16] */
}

size_t fb_encode_device_info(const fb_device_info_t *m, uint8_t *o, size_t cap)
{
    if (cap < FB_DEVICE_INFO_SIZE) {
        return 0;
    }
    fb_put_u64(o, m->device_id);
    o[8] = m->fw_major;
    o[9] = m->fw_minor;
    o[10] = m->fw_patch;
    o[11] = 0;
    put_str16(o + 12, m->board);
    o[28] = m->sensors;
    o[29] = m->enabled;
    fb_put_u16(o + 30, m->max_payload);
    put_str16(o + 32, m->imu_model);
    fb_put_f32(o + 48, m->imu_rate_hz);
    fb_put_u16(o + 52, m->accel_range_g);
    fb_put_u16(o + 54, m->gyro_range_dps);
    fb_put_f32(o + 56, m->accel_scale);
    fb_put_f32(o + 60, m->gyro_scale);
    put_str16(o + 64, m->thermal_model);
    fb_put_u16(o + 80, m->thermal_width);
    fb_put_u16(o + 82, m->thermal_height);
    fb_put_f32(o + 84, m->thermal_rate_hz);
    fb_put_f32(o + 88, m->thermal_scale);
    fb_put_f32(o + 92, m->thermal_offset);
    return FB_DEVICE_INFO_SIZE;
}

int fb_decode_device_info(const uint8_t *p, size_t len, fb_device_info_t *m)
{
    if (len < FB_DEVICE_INFO_SIZE) {
        return FB_ERR_SHORT;
    }
    m->device_id = fb_get_u64(p);
    m->fw_major = p[8];
    m->fw_minor = p[9];
    m->fw_patch = p[10];
    get_str16(p + 12, m->board);
    m->sensors = p[28];
    m->enabled = p[29];
    m->max_payload = fb_get_u16(p + 30);
    get_str16(p + 32, m->imu_model);
    m->imu_rate_hz = fb_get_f32(p + 48);
    m->accel_range_g = fb_get_u16(p + 52);
    m->gyro_range_dps = fb_get_u16(p + 54);
    m->accel_scale = fb_get_f32(p + 56);
    m->gyro_scale = fb_get_f32(p + 60);
    get_str16(p + 64, m->thermal_model);
    m->thermal_width = fb_get_u16(p + 80);
    m->thermal_height = fb_get_u16(p + 82);
    m->thermal_rate_hz = fb_get_f32(p + 84);
    m->thermal_scale = fb_get_f32(p + 88);
    m->thermal_offset = fb_get_f32(p + 92);
    return FB_OK;
}

size_t fb_encode_heartbeat(const fb_heartbeat_t *m, uint8_t *o, size_t cap)
{
    const uint32_t v[10] = {m->tx_frames, m->tx_overruns, m->imu_samples, m->imu_dropped_samples,
                            m->imu_fifo_overruns, m->rx_frames, m->rx_errors, m->rx_unknown,
                            m->thermal_frames, m->thermal_dropped};
    size_t i;
    if (cap < FB_HEARTBEAT_SIZE) {
        return 0;
    }
    for (i = 0; i < 10; i++) {
        fb_put_u32(o + 4 * i, v[i]);
    }
    o[40] = m->enabled;
    o[41] = o[42] = o[43] = 0;
    return FB_HEARTBEAT_SIZE;
}

int fb_decode_heartbeat(const uint8_t *p, size_t len, fb_heartbeat_t *m)
{
    uint32_t *v[10];
    size_t i;
    if (len < FB_HEARTBEAT_SIZE) {
        return FB_ERR_SHORT;
    }
    v[0] = &m->tx_frames;
    v[1] = &m->tx_overruns;
    v[2] = &m->imu_samples;
    v[3] = &m->imu_dropped_samples;
    v[4] = &m->imu_fifo_overruns;
    v[5] = &m->rx_frames;
    v[6] = &m->rx_errors;
    v[7] = &m->rx_unknown;
    v[8] = &m->thermal_frames;
    v[9] = &m->thermal_dropped;
    for (i = 0; i < 10; i++) {
        *v[i] = fb_get_u32(p + 4 * i);
    }
    m->enabled = p[40];
    return FB_OK;
}

size_t fb_encode_log(const fb_log_t *m, uint8_t *o, size_t cap)
{
    size_t n = m->text_len;
    if (n > FB_LOG_MAX_TEXT) {
        n = FB_LOG_MAX_TEXT;
    }
    if (cap < 4 + n) {
        return 0;
    }
    o[0] = m->level;
    o[1] = 0;
    fb_put_u16(o + 2, m->code);
    if (n) {
        memcpy(o + 4, m->text, n);
    }
    return 4 + n;
}

int fb_decode_log(const uint8_t *p, size_t len, fb_log_t *m)
{
    if (len < 4) {
        return FB_ERR_SHORT;
    }
    m->level = p[0];
    m->code = fb_get_u16(p + 2);
    m->text = (const char *)(p + 4);
    m->text_len = len - 4;
    return FB_OK;
}

size_t fb_encode_imu_batch(const fb_imu_batch_t *m, uint8_t *o, size_t cap)
{
    size_t i, k, n = m->count;
    if (n == 0 || n > FB_IMU_MAX_SAMPLES || cap < FB_IMU_BATCH_HEAD + 16 * n) {
        return 0;
    }
    fb_put_u64(o, m->t0_us);
    fb_put_f32(o + 8, m->accel_scale);
    fb_put_f32(o + 12, m->gyro_scale);
    fb_put_u32(o + 16, m->first_index);
    fb_put_u16(o + 20, m->count);
    fb_put_u16(o + 22, 0);
    for (i = 0; i < n; i++) {
        uint8_t *s = o + FB_IMU_BATCH_HEAD + 16 * i;
        fb_put_u32(s, m->samples[i].dt_us);
        for (k = 0; k < 6; k++) {
            fb_put_u16(s + 4 + 2 * k, (uint16_t)m->samples[i].v[k]);
        }
    }
    return FB_IMU_BATCH_HEAD + 16 * n;
}

int fb_decode_imu_batch(const uint8_t *p, size_t len, fb_imu_batch_t *m)
{
    size_t i, k, n;
    if (len < FB_IMU_BATCH_HEAD) {
        return FB_ERR_SHORT;
    }
    n = fb_get_u16(p + 20);
    if (n == 0 || n > FB_IMU_MAX_SAMPLES) {
        return FB_ERR_INVALID;
    }
    if (len < FB_IMU_BATCH_HEAD + 16 * n) {
        return FB_ERR_SHORT;
    }
    m->t0_us = fb_get_u64(p);
    m->accel_scale = fb_get_f32(p + 8);
    m->gyro_scale = fb_get_f32(p + 12);
    m->first_index = fb_get_u32(p + 16);
    m->count = (uint16_t)n;
    for (i = 0; i < n; i++) {
        const uint8_t *s = p + FB_IMU_BATCH_HEAD + 16 * i;
        m->samples[i].dt_us = fb_get_u32(s);
        for (k = 0; k < 6; k++) {
            m->samples[i].v[k] = (int16_t)fb_get_u16(s + 4 + 2 * k);
        }
    }
    return FB_OK;
}

size_t fb_encode_thermal_fragment(const fb_thermal_fragment_t *m, uint8_t *o, size_t cap)
{
    size_t i, n = m->npixels;
    if (n > FB_THERMAL_MAX_PIXELS || cap < FB_THERMAL_HEAD + 2 * n || (n && !m->pixels)) {
        return 0;
    }
    fb_put_u64(o, m->capture_us);
    fb_put_u32(o + 8, m->frame_id);
    fb_put_u16(o + 12, m->width);
    fb_put_u16(o + 14, m->height);
    fb_put_u16(o + 16, m->index);
    fb_put_u16(o + 18, m->count);
    fb_put_u32(o + 20, m->pixel_offset);
    fb_put_f32(o + 24, m->scale);
    fb_put_f32(o + 28, m->offset);
    for (i = 0; i < n; i++) {
        fb_put_u16(o + FB_THERMAL_HEAD + 2 * i, m->pixels[i]);
    }
    return FB_THERMAL_HEAD + 2 * n;
}

int fb_decode_thermal_fragment(const uint8_t *p, size_t len, fb_thermal_fragment_t *m)
{
    if (len < FB_THERMAL_HEAD) {
        return FB_ERR_SHORT;
    }
    m->capture_us = fb_get_u64(p);
    m->frame_id = fb_get_u32(p + 8);
    m->width = fb_get_u16(p + 12);
    m->height = fb_get_u16(p + 14);
    m->index = fb_get_u16(p + 16);
    m->count = fb_get_u16(p + 18);
    m->pixel_offset = fb_get_u32(p + 20);
    m->scale = fb_get_f32(p + 24);
    m->offset = fb_get_f32(p + 28);
    m->npixels = (uint16_t)((len - FB_THERMAL_HEAD) / 2);
    m->pixels = NULL;
    m->pixel_bytes_le = p + FB_THERMAL_HEAD;
    if (m->count == 0 || m->index >= m->count ||
        (uint64_t)m->pixel_offset + m->npixels > (uint64_t)m->width * m->height) {
        return FB_ERR_INVALID;
    }
    return FB_OK;
}

uint16_t fb_thermal_pixel(const fb_thermal_fragment_t *m, size_t i)
{
    return m->pixels ? m->pixels[i] : fb_get_u16(m->pixel_bytes_le + 2 * i);
}

size_t fb_encode_time_sync_request(const fb_time_sync_request_t *m, uint8_t *o, size_t cap)
{
    if (cap < FB_TIME_SYNC_REQUEST_SIZE) {
        return 0;
    }
    fb_put_u32(o, m->request_id);
    fb_put_u64(o + 4, m->t1);
    return FB_TIME_SYNC_REQUEST_SIZE;
}

int fb_decode_time_sync_request(const uint8_t *p, size_t len, fb_time_sync_request_t *m)
{
    if (len < FB_TIME_SYNC_REQUEST_SIZE) {
        return FB_ERR_SHORT;
    }
    m->request_id = fb_get_u32(p);
    m->t1 = fb_get_u64(p + 4);
    return FB_OK;
}

size_t fb_encode_time_sync_response(const fb_time_sync_response_t *m, uint8_t *o, size_t cap)
{
    if (cap < FB_TIME_SYNC_RESPONSE_SIZE) {
        return 0;
    }
    fb_put_u32(o, m->request_id);
    fb_put_u32(o + 4, 0);
    fb_put_u64(o + 8, m->t1);
    fb_put_u64(o + 16, m->t2_us);
    fb_put_u64(o + 24, m->t3_us);
    return FB_TIME_SYNC_RESPONSE_SIZE;
}

int fb_decode_time_sync_response(const uint8_t *p, size_t len, fb_time_sync_response_t *m)
{
    if (len < FB_TIME_SYNC_RESPONSE_SIZE) {
        return FB_ERR_SHORT;
    }
    m->request_id = fb_get_u32(p);
    m->t1 = fb_get_u64(p + 8);
    m->t2_us = fb_get_u64(p + 16);
    m->t3_us = fb_get_u64(p + 24);
    return FB_OK;
}

size_t fb_encode_config_set(const fb_config_set_t *m, uint8_t *o, size_t cap)
{
    if (cap < FB_CONFIG_SET_SIZE) {
        return 0;
    }
    fb_put_u32(o, m->config_id);
    o[4] = m->streams;
    o[5] = m->fields;
    fb_put_u16(o + 6, m->accel_range_g);
    fb_put_u16(o + 8, m->gyro_range_dps);
    fb_put_u16(o + 10, m->imu_batch);
    fb_put_f32(o + 12, m->imu_rate_hz);
    fb_put_f32(o + 16, m->thermal_rate_hz);
    fb_put_u16(o + 20, m->heartbeat_ms);
    fb_put_u16(o + 22, 0);
    return FB_CONFIG_SET_SIZE;
}

int fb_decode_config_set(const uint8_t *p, size_t len, fb_config_set_t *m)
{
    if (len < FB_CONFIG_SET_SIZE) {
        return FB_ERR_SHORT;
    }
    m->config_id = fb_get_u32(p);
    m->streams = p[4];
    m->fields = p[5];
    m->accel_range_g = fb_get_u16(p + 6);
    m->gyro_range_dps = fb_get_u16(p + 8);
    m->imu_batch = fb_get_u16(p + 10);
    m->imu_rate_hz = fb_get_f32(p + 12);
    m->thermal_rate_hz = fb_get_f32(p + 16);
    m->heartbeat_ms = fb_get_u16(p + 20);
    return FB_OK;
}

size_t fb_encode_config_ack(const fb_config_ack_t *m, uint8_t *o, size_t cap)
{
    if (cap < FB_CONFIG_ACK_SIZE) {
        return 0;
    }
    fb_put_u32(o, m->config_id);
    o[4] = m->status;
    o[5] = m->streams;
    fb_put_u16(o + 6, m->accel_range_g);
    fb_put_u16(o + 8, m->gyro_range_dps);
    fb_put_u16(o + 10, m->imu_batch);
    fb_put_u16(o + 12, m->heartbeat_ms);
    fb_put_f32(o + 14, m->imu_rate_hz);
    fb_put_f32(o + 18, m->thermal_rate_hz);
    fb_put_u16(o + 22, 0);
    return FB_CONFIG_ACK_SIZE;
}

int fb_decode_config_ack(const uint8_t *p, size_t len, fb_config_ack_t *m)
{
    if (len < FB_CONFIG_ACK_SIZE) {
        return FB_ERR_SHORT;
    }
    m->config_id = fb_get_u32(p);
    m->status = p[4];
    m->streams = p[5];
    m->accel_range_g = fb_get_u16(p + 6);
    m->gyro_range_dps = fb_get_u16(p + 8);
    m->imu_batch = fb_get_u16(p + 10);
    m->heartbeat_ms = fb_get_u16(p + 12);
    m->imu_rate_hz = fb_get_f32(p + 14);
    m->thermal_rate_hz = fb_get_f32(p + 18);
    return FB_OK;
}
