#include "test_vectors_common.h"

#include <stdio.h>
#include <string.h>

const char *const fbv_names[] = {"device_info", "heartbeat", "log", "info_request", "imu_batch",
                                 "imu_batch_long", "thermal_fragment", "time_sync_request",
                                 "time_sync_response", "config_set", "config_ack", "unknown_type"};
const size_t fbv_count = sizeof fbv_names / sizeof fbv_names[0];

typedef union {
    fb_device_info_t info;
    fb_heartbeat_t hb;
    fb_log_t log;
    fb_imu_batch_t imu;
    fb_thermal_fragment_t th;
    fb_time_sync_request_t tsq;
    fb_time_sync_response_t tsr;
    fb_config_set_t cs;
    fb_config_ack_t ca;
} fbv_msg_t;

static const uint16_t k_pixels[6] = {29315, 0, 65535, 256, 1, 30000};
static const char k_log_text[] = "IMU FIFO overflow";

/* Builds the record, header and payload for a vector. Returns payload length or -1. */
static long build(const char *name, fb_header_t *h, fbv_msg_t *m, uint8_t *payload, size_t cap)
{
    size_t n = 0, i, k;
    memset(m, 0, sizeof *m);
    h->version = FB_PROTOCOL_VERSION;
    if (strcmp(name, "device_info") == 0) {
        h->type = FB_MSG_DEVICE_INFO; h->seq = 1; h->timestamp_us = 1000000;
        m->info.device_id = 0x0123456789ABCDEFull;
        m->info.fw_major = 1; m->info.fw_minor = 2; m->info.fw_patch = 3;
        strcpy(m->info.board, "rp2040-ref");
        m->info.sensors = 3; m->info.enabled = 7; m->info.max_payload = 1024;
        strcpy(m->info.imu_model, "ICM-42688-P");
        m->info.imu_rate_hz = 1000.0f; m->info.accel_range_g = 16; m->info.gyro_range_dps = 2000;
        m->info.accel_scale = 0.0048828125f; m->info.gyro_scale = 0.0009765625f;
        strcpy(m->info.thermal_model, "MLX90640");
        m->info.thermal_width = 32; m->info.thermal_height = 24; m->info.thermal_rate_hz = 8.0f;
        m->info.thermal_scale = 0.01f; m->info.thermal_offset = 0.0f;
        n = fb_encode_device_info(&m->info, payload, cap);
    } else if (strcmp(name, "heartbeat") == 0) {
        h->type = FB_MSG_HEARTBEAT; h->seq = 2; h->timestamp_us = 1500000;
        m->hb.tx_frames = 1; m->hb.tx_overruns = 2; m->hb.imu_samples = 3; m->hb.imu_dropped_samples = 4;
        m->hb.imu_fifo_overruns = 5; m->hb.rx_frames = 6; m->hb.rx_errors = 7; m->hb.rx_unknown = 8;
        m->hb.thermal_frames = 9; m->hb.thermal_dropped = 10; m->hb.enabled = 7;
        n = fb_encode_heartbeat(&m->hb, payload, cap);
    } else if (strcmp(name, "log") == 0) {
        h->type = FB_MSG_LOG; h->seq = 3; h->timestamp_us = 1600000;
        m->log.level = 2; m->log.code = 42; m->log.text = k_log_text; m->log.text_len = strlen(k_log_text);
        n = fb_encode_log(&m->log, payload, cap);
    } else if (strcmp(name, "info_request") == 0) {
        h->type = FB_MSG_INFO_REQUEST; h->seq = 0; h->timestamp_us = 5;
        n = 0;
    } else if (strcmp(name, "imu_batch") == 0) {
        static const int16_t raw[3][6] = {{1, -2, 2048, 0, -1, 32767}, {-32768, 0, 2049, 5, 6, 7}, {0, 0, 0, 0, 0, 0}};
        h->type = FB_MSG_IMU_BATCH; h->seq = 4; h->timestamp_us = 123460000;
        m->imu.t0_us = 123456789; m->imu.accel_scale = 0.0048828125f; m->imu.gyro_scale = 0.0009765625f;
        m->imu.first_index = 1000; m->imu.count = 3;
        for (i = 0; i < 3; i++) {
            m->imu.samples[i].dt_us = (uint32_t)(1000 * i);
            for (k = 0; k < 6; k++) m->imu.samples[i].v[k] = raw[i][k];
        }
        n = fb_encode_imu_batch(&m->imu, payload, cap);
    } else if (strcmp(name, "imu_batch_long") == 0) {
        h->type = FB_MSG_IMU_BATCH; h->seq = 0x0A0B; h->timestamp_us = 0x0102030405060708ull;
        m->imu.t0_us = 0x0807060504030201ull; m->imu.accel_scale = 1.5f; m->imu.gyro_scale = 0.25f;
        m->imu.first_index = 0x01020304; m->imu.count = 62;
        for (i = 0; i < 62; i++) {
            m->imu.samples[i].dt_us = (uint32_t)(0x01010101u + i);
            for (k = 0; k < 6; k++) m->imu.samples[i].v[k] = (int16_t)(0x0101 + (i * 6 + k) % 200);
        }
        n = fb_encode_imu_batch(&m->imu, payload, cap);
    } else if (strcmp(name, "thermal_fragment") == 0) {
        h->type = FB_MSG_THERMAL_FRAGMENT; h->seq = 5; h->timestamp_us = 5000100;
        m->th.capture_us = 5000000; m->th.frame_id = 7; m->th.width = 4; m->th.height = 3;
        m->th.index = 1; m->th.count = 2; m->th.pixel_offset = 6; m->th.scale = 0.01f; m->th.offset = 0.0f;
        m->th.npixels = 6; m->th.pixels = k_pixels;
        n = fb_encode_thermal_fragment(&m->th, payload, cap);
    } else if (strcmp(name, "time_sync_request") == 0) {
        h->type = FB_MSG_TIME_SYNC_REQUEST; h->seq = 6; h->timestamp_us = 123456789012ull;
        m->tsq.request_id = 9; m->tsq.t1 = 123456789012345ull;
        n = fb_encode_time_sync_request(&m->tsq, payload, cap);
    } else if (strcmp(name, "time_sync_response") == 0) {
        h->type = FB_MSG_TIME_SYNC_RESPONSE; h->seq = 7; h->timestamp_us = 1050;
        m->tsr.request_id = 9; m->tsr.t1 = 123456789012345ull; m->tsr.t2_us = 1000; m->tsr.t3_us = 1050;
        n = fb_encode_time_sync_response(&m->tsr, payload, cap);
    } else if (strcmp(name, "config_set") == 0) {
        h->type = FB_MSG_CONFIG_SET; h->seq = 8; h->timestamp_us = 77;
        m->cs.config_id = 3; m->cs.streams = 1;
        m->cs.fields = FB_CFG_IMU_RATE | FB_CFG_ACCEL_RANGE | FB_CFG_IMU_BATCH | FB_CFG_STREAMS;
        m->cs.imu_rate_hz = 500.0f; m->cs.accel_range_g = 8; m->cs.imu_batch = 20;
        n = fb_encode_config_set(&m->cs, payload, cap);
    } else if (strcmp(name, "config_ack") == 0) {
        h->type = FB_MSG_CONFIG_ACK; h->seq = 9; h->timestamp_us = 2000000;
        m->ca.config_id = 3; m->ca.status = 1; m->ca.streams = 1; m->ca.accel_range_g = 8;
        m->ca.gyro_range_dps = 2000; m->ca.imu_batch = 20; m->ca.heartbeat_ms = 500;
        m->ca.imu_rate_hz = 500.0f; m->ca.thermal_rate_hz = 4.0f;
        n = fb_encode_config_ack(&m->ca, payload, cap);
    } else if (strcmp(name, "unknown_type") == 0) {
        h->type = 0x7F; h->seq = 10; h->timestamp_us = 99;
        memcpy(payload, "future", 6);
        n = 6;
    } else {
        return -1;
    }
    return (long)n;
}

size_t fbv_encode(const char *name, uint8_t *out, size_t cap)
{
    fb_header_t h;
    fbv_msg_t m;
    uint8_t payload[FB_MAX_PAYLOAD];
    long n = build(name, &h, &m, payload, sizeof payload);
    if (n < 0) return 0;
    return fb_frame_encode(&h, payload, (size_t)n, out, cap);
}

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "vector %s: check failed: %s\n", name, #cond);       \
            return -1;                                                           \
        }                                                                        \
    } while (0)

int fbv_check(const char *name, const fb_frame_t *fr)
{
    fb_header_t h;
    fbv_msg_t want, got;
    uint8_t payload[FB_MAX_PAYLOAD];
    size_t i;
    long n = build(name, &h, &want, payload, sizeof payload);
    CHECK(n >= 0);
    CHECK(fr->header.version == h.version && fr->header.type == h.type);
    CHECK(fr->header.seq == h.seq && fr->header.timestamp_us == h.timestamp_us);
    CHECK(fr->payload_len == (size_t)n);
    memset(&got, 0, sizeof got);
    switch (h.type) {
    case FB_MSG_DEVICE_INFO:
        CHECK(fb_decode_device_info(fr->payload, fr->payload_len, &got.info) == FB_OK);
        CHECK(got.info.device_id == want.info.device_id && got.info.fw_patch == 3);
        CHECK(memcmp(got.info.board, want.info.board, 16) == 0);
        CHECK(memcmp(got.info.imu_model, want.info.imu_model, 16) == 0);
        CHECK(memcmp(got.info.thermal_model, want.info.thermal_model, 16) == 0);
        CHECK(got.info.accel_scale == want.info.accel_scale && got.info.thermal_scale == want.info.thermal_scale);
        CHECK(got.info.thermal_width == 32 && got.info.thermal_height == 24 && got.info.sensors == 3);
        break;
    case FB_MSG_HEARTBEAT:
        CHECK(fb_decode_heartbeat(fr->payload, fr->payload_len, &got.hb) == FB_OK);
        CHECK(got.hb.tx_frames == 1 && got.hb.rx_unknown == 8 && got.hb.thermal_dropped == 10 && got.hb.enabled == 7);
        break;
    case FB_MSG_LOG:
        CHECK(fb_decode_log(fr->payload, fr->payload_len, &got.log) == FB_OK);
        CHECK(got.log.level == 2 && got.log.code == 42 && got.log.text_len == strlen(k_log_text));
        CHECK(memcmp(got.log.text, k_log_text, got.log.text_len) == 0);
        break;
    case FB_MSG_INFO_REQUEST:
        break;
    case FB_MSG_IMU_BATCH:
        CHECK(fb_decode_imu_batch(fr->payload, fr->payload_len, &got.imu) == FB_OK);
        CHECK(got.imu.t0_us == want.imu.t0_us && got.imu.first_index == want.imu.first_index);
        CHECK(got.imu.count == want.imu.count && got.imu.accel_scale == want.imu.accel_scale);
        CHECK(memcmp(got.imu.samples, want.imu.samples, sizeof(fb_imu_sample_t) * want.imu.count) == 0);
        break;
    case FB_MSG_THERMAL_FRAGMENT:
        CHECK(fb_decode_thermal_fragment(fr->payload, fr->payload_len, &got.th) == FB_OK);
        CHECK(got.th.frame_id == 7 && got.th.index == 1 && got.th.count == 2 && got.th.pixel_offset == 6);
        CHECK(got.th.npixels == 6 && got.th.scale == 0.01f && got.th.capture_us == 5000000);
        for (i = 0; i < 6; i++) CHECK(fb_thermal_pixel(&got.th, i) == k_pixels[i]);
        break;
    case FB_MSG_TIME_SYNC_REQUEST:
        CHECK(fb_decode_time_sync_request(fr->payload, fr->payload_len, &got.tsq) == FB_OK);
        CHECK(got.tsq.request_id == 9 && got.tsq.t1 == want.tsq.t1);
        break;
    case FB_MSG_TIME_SYNC_RESPONSE:
        CHECK(fb_decode_time_sync_response(fr->payload, fr->payload_len, &got.tsr) == FB_OK);
        CHECK(got.tsr.request_id == 9 && got.tsr.t1 == want.tsr.t1 && got.tsr.t2_us == 1000 && got.tsr.t3_us == 1050);
        break;
    case FB_MSG_CONFIG_SET:
        CHECK(fb_decode_config_set(fr->payload, fr->payload_len, &got.cs) == FB_OK);
        CHECK(got.cs.config_id == 3 && got.cs.fields == want.cs.fields && got.cs.imu_batch == 20);
        CHECK(got.cs.imu_rate_hz == 500.0f && got.cs.accel_range_g == 8 && got.cs.streams == 1);
        break;
    case FB_MSG_CONFIG_ACK:
        CHECK(fb_decode_config_ack(fr->payload, fr->payload_len, &got.ca) == FB_OK);
        CHECK(got.ca.status == 1 && got.ca.heartbeat_ms == 500 && got.ca.thermal_rate_hz == 4.0f);
        break;
    default:
        CHECK(fr->payload_len == 6 && memcmp(fr->payload, "future", 6) == 0);
        break;
    }
    return 0;
}
