/* The device core against the fake HAL: boot, IMU batching, time sync, configuration, overruns,
 * FIFO loss, and reconfiguring the IMU with samples still in the HAL. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "fake_hal.h"
#include "icm42688.h"

/* Samples the HAL took before a range change are sent with the scale they were measured at:
 * the core drains the HAL before reconfiguring it (the board also masks its sample interrupt). */
static void test_reconfigure_keeps_old_scale(void)
{
    static fake_t f;
    static fb_device_t dev;
    static captured_t cap;
    fb_hal_t hal;
    fb_device_info_t info;
    fb_device_config_t cfg;
    fb_config_set_t cs;
    fb_imu_batch_t before, after;
    const fb_frame_t *fr;
    uint8_t p[64];
    size_t n, i, batches = 0;
    float scale16 = icm42688_accel_scale(16), scale4 = icm42688_accel_scale(4);

    fake_init(&f, &hal, 0);
    memset(&info, 0, sizeof info);
    info.sensors = FB_STREAM_IMU;
    fb_device_default_config(&cfg, info.sensors);
    fb_device_init(&dev, &hal, &info, &cfg, NULL);
    fb_device_poll(&dev); /* DEVICE_INFO; the sample at t=now is pending in the core */
    fake_capture(&f, &cap);
    f.now += 5000;        /* five more samples wait in the HAL */
    memset(&cs, 0, sizeof cs);
    cs.config_id = 9;
    cs.fields = FB_CFG_ACCEL_RANGE;
    cs.accel_range_g = 4;
    n = fb_encode_config_set(&cs, p, sizeof p);
    fake_host_send(&f, FB_MSG_CONFIG_SET, p, n);
    fb_device_poll(&dev);
    fake_capture(&f, &cap);
    fr = fake_find(&cap, FB_MSG_IMU_BATCH);
    EXPECT(fr != NULL && fb_decode_imu_batch(fr->payload, fr->payload_len, &before) == FB_OK);
    if (fr == NULL) return;
    EXPECT(before.count == 6 && before.accel_scale == scale16 && before.first_index == 0);
    for (i = 0; i < cap.count; i++) { /* the batch precedes the ack */
        if (cap.frames[i].header.type == FB_MSG_IMU_BATCH) batches++;
        if (cap.frames[i].header.type == FB_MSG_CONFIG_ACK) EXPECT(batches == 1);
    }
    f.now += 10000;
    fb_device_poll(&dev);
    fake_capture(&f, &cap);
    fr = fake_find(&cap, FB_MSG_IMU_BATCH);
    EXPECT(fr != NULL && fb_decode_imu_batch(fr->payload, fr->payload_len, &after) == FB_OK);
    if (fr == NULL) return;
    EXPECT(after.accel_scale == scale4 && after.first_index == 6 && after.count == 10);
}

void test_device_core(void)
{
    static fake_t f;
    static fb_device_t dev;
    static captured_t cap;
    fb_hal_t hal;
    fb_device_info_t info;
    fb_device_config_t cfg;
    uint8_t p[64];
    size_t i, n, imu_frames = 0;
    uint16_t last_seq = 0;

    fake_init(&f, &hal, 0);
    memset(&info, 0, sizeof info);
    info.sensors = FB_STREAM_IMU | FB_STREAM_THERMAL; /* no thermal HAL: the core must clear it */
    fb_device_default_config(&cfg, info.sensors);
    fb_device_init(&dev, &hal, &info, &cfg, NULL);
    EXPECT(f.tx_len == 1 && f.tx[0] == 0); /* boot delimiter */
    EXPECT(dev.info.sensors == FB_STREAM_IMU);
    EXPECT(fabsf(dev.info.accel_scale - 16.0f * 9.80665f / 32768.0f) < 1e-9f);

    fb_device_poll(&dev); /* sends DEVICE_INFO and the first IMU sample stays pending */
    fake_capture(&f, &cap);
    EXPECT(cap.count >= 1 && cap.frames[0].header.type == FB_MSG_DEVICE_INFO);

    /* 25 ms of IMU at 1 kHz with batch 10 -> two full batches */
    f.now += 25000;
    fb_device_poll(&dev);
    fake_capture(&f, &cap);
    for (i = 0; i < cap.count; i++) {
        if (cap.frames[i].header.type == FB_MSG_IMU_BATCH) {
            fb_imu_batch_t b;
            EXPECT(fb_decode_imu_batch(cap.frames[i].payload, cap.frames[i].payload_len, &b) == FB_OK);
            EXPECT(b.count == 10 && b.first_index == 10 * imu_frames && b.samples[9].dt_us == 9000);
            imu_frames++;
        }
        last_seq = cap.frames[i].header.seq;
    }
    EXPECT(imu_frames == 2);

    /* time sync: t2 is the receive time, t3 the reply time (both from the HAL clock) */
    {
        fb_time_sync_request_t rq = {42, 987654321ull};
        fb_time_sync_response_t rs;
        n = fb_encode_time_sync_request(&rq, p, sizeof p);
        fake_host_send(&f, FB_MSG_TIME_SYNC_REQUEST, p, n);
        f.now += 100;
        fb_device_poll(&dev);
        fake_capture(&f, &cap);
        for (i = 0; i < cap.count; i++) {
            if (cap.frames[i].header.type == FB_MSG_TIME_SYNC_RESPONSE) break;
        }
        EXPECT(i < cap.count);
        if (i < cap.count) {
            EXPECT(fb_decode_time_sync_response(cap.frames[i].payload, cap.frames[i].payload_len, &rs) == FB_OK);
            EXPECT(rs.request_id == 42 && rs.t1 == 987654321ull && rs.t2_us == f.now && rs.t3_us == f.now);
            EXPECT(cap.frames[i].header.timestamp_us == rs.t3_us);
            EXPECT(cap.frames[i].header.seq == (uint16_t)(last_seq + 1));
        }
    }

    /* config: IMU at 300 Hz is snapped to 200 Hz -> ADJUSTED; batch 20; DEVICE_INFO follows */
    {
        fb_config_set_t cs;
        fb_config_ack_t ack;
        int saw_info = 0;
        memset(&cs, 0, sizeof cs);
        cs.config_id = 5;
        cs.fields = FB_CFG_IMU_RATE | FB_CFG_IMU_BATCH | FB_CFG_ACCEL_RANGE;
        cs.imu_rate_hz = 300.0f;
        cs.imu_batch = 20;
        cs.accel_range_g = 4;
        n = fb_encode_config_set(&cs, p, sizeof p);
        fake_host_send(&f, FB_MSG_CONFIG_SET, p, n);
        fake_host_send(&f, 0x7E, p, 3); /* an unknown type: skipped and counted */
        fb_device_poll(&dev);
        fake_capture(&f, &cap);
        memset(&ack, 0, sizeof ack);
        for (i = 0; i < cap.count; i++) {
            if (cap.frames[i].header.type == FB_MSG_CONFIG_ACK) {
                EXPECT(fb_decode_config_ack(cap.frames[i].payload, cap.frames[i].payload_len, &ack) == FB_OK);
            }
            if (cap.frames[i].header.type == FB_MSG_DEVICE_INFO) {
                fb_device_info_t di;
                fb_decode_device_info(cap.frames[i].payload, cap.frames[i].payload_len, &di);
                saw_info = di.accel_range_g == 4 && di.imu_rate_hz == 200.0f;
            }
        }
        EXPECT(ack.config_id == 5 && ack.status == FB_CONFIG_ADJUSTED);
        EXPECT(ack.imu_rate_hz == 200.0f && ack.imu_batch == 20 && ack.accel_range_g == 4);
        EXPECT(saw_info);
        EXPECT(dev.counters.rx_unknown == 1);
    }

    /* TX full: frames are dropped (never blocked on), counted, and still consume a sequence number */
    {
        uint16_t seq_before = dev.seq;
        f.tx_cap = f.tx_len; /* no space */
        f.now += 100000;
        fb_device_poll(&dev);
        EXPECT(dev.counters.tx_overruns > 0);
        EXPECT(dev.seq != seq_before);
        f.tx_cap = sizeof f.tx;
    }

    /* FIFO loss: the next batch's first index jumps by the samples lost */
    {
        uint32_t idx_before;
        f.tx_len = 0;
        f.now += 50000;
        fb_device_poll(&dev); /* drain */
        fake_capture(&f, &cap);
        idx_before = dev.imu_index + dev.batch.count;
        f.pending_drop = 7;
        f.now += 1000;
        fb_device_poll(&dev);
        EXPECT(dev.imu_index + dev.batch.count == idx_before + 7 + 1);
        EXPECT(dev.counters.imu_fifo_overruns == 1);
    }
    test_reconfigure_keeps_old_scale();
}
