/* Configuration edge cases of the device core (issue 15, items 7-10): rates that are not finite
 * or out of range, error counters that survive heartbeats, the batch-size clamp at init, and
 * CONFIG_SET applied all-or-nothing. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "fake_hal.h"

static fake_t f;
static fb_device_t dev;
static captured_t cap;
static fb_hal_t hal;

static void boot_with(const fb_device_config_t *override, int with_imu)
{
    fb_device_info_t info;
    fb_device_config_t cfg;
    static uint16_t thermal_buf[FAKE_TH_W * FAKE_TH_H];
    fake_init(&f, &hal, 1);
    if (!with_imu) hal.imu_read = NULL;
    memset(&info, 0, sizeof info);
    info.sensors = FB_STREAM_IMU | FB_STREAM_THERMAL;
    info.thermal_width = FAKE_TH_W;
    info.thermal_height = FAKE_TH_H;
    info.thermal_scale = 0.01f;
    fb_device_default_config(&cfg, info.sensors);
    fb_device_init(&dev, &hal, &info, override ? override : &cfg, thermal_buf);
    fb_device_poll(&dev);
    fake_capture(&f, &cap);
}

static void boot(const fb_device_config_t *override) { boot_with(override, 1); }

/* Sends one CONFIG_SET, polls, returns the ack (status 0xFF when none came back). */
static fb_config_ack_t configure(const fb_config_set_t *cs)
{
    uint8_t p[64];
    fb_config_ack_t ack;
    const fb_frame_t *fr;
    memset(&ack, 0, sizeof ack);
    ack.status = 0xFF;
    fake_host_send(&f, FB_MSG_CONFIG_SET, p, fb_encode_config_set(cs, p, sizeof p));
    fb_device_poll(&dev);
    fake_capture(&f, &cap);
    fr = fake_find(&cap, FB_MSG_CONFIG_ACK);
    if (fr) fb_decode_config_ack(fr->payload, fr->payload_len, &ack);
    return ack;
}

static size_t thermal_fragments_after_frame(void)
{
    size_t i, n = 0;
    f.thermal_ready = 1;
    f.now += 1000;
    fb_device_poll(&dev);
    fake_capture(&f, &cap);
    for (i = 0; i < cap.count; i++) n += cap.frames[i].header.type == FB_MSG_THERMAL_FRAGMENT;
    return n;
}

/* Item 7: NaN, infinities, tiny and huge rates never reach the HAL; the stream keeps going. */
static void test_bad_rates_rejected(void)
{
    const float bad[] = {NAN, INFINITY, -INFINITY, 1e-30f, 0.0f, -1.0f, 1e36f, 2000.0f};
    size_t i;
    boot(NULL);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fb_config_set_t cs;
        fb_config_ack_t ack;
        int calls = f.thermal_configure_calls;
        memset(&cs, 0, sizeof cs);
        cs.config_id = (uint32_t)i + 1;
        cs.fields = FB_CFG_THERMAL_RATE;
        cs.thermal_rate_hz = bad[i];
        ack = configure(&cs);
        EXPECT(ack.config_id == i + 1 && ack.status == FB_CONFIG_REJECTED);
        EXPECT(ack.thermal_rate_hz == 8.0f && dev.cfg.thermal_rate_hz == 8.0f);
        EXPECT(f.thermal_configure_calls == calls);
        cs.fields = FB_CFG_IMU_RATE;
        cs.imu_rate_hz = bad[i] == 2000.0f ? 1e6f : bad[i];
        ack = configure(&cs);
        EXPECT(ack.status == FB_CONFIG_REJECTED && ack.imu_rate_hz == 1000.0f);
    }
    EXPECT(thermal_fragments_after_frame() == 1);
    {
        fb_config_set_t cs;
        memset(&cs, 0, sizeof cs);
        cs.fields = FB_CFG_THERMAL_RATE;
        cs.thermal_rate_hz = 2.0f;
        EXPECT(configure(&cs).status == FB_CONFIG_OK && f.thermal_applied == 2.0f);
    }
}

/* Item 8: errors counted for malformed commands are still in every later heartbeat. */
static void test_rx_errors_accumulate(void)
{
    uint8_t wire[FB_MAX_WIRE], p[8] = {1, 2, 3};
    size_t n;
    fb_heartbeat_t hb[2];
    int k;
    boot(NULL);
    fake_host_send(&f, FB_MSG_TIME_SYNC_REQUEST, p, 3); /* needs 12 bytes */
    fake_host_send(&f, FB_MSG_CONFIG_SET, p, 5);        /* needs 24 bytes */
    n = fake_make_frame(FB_MSG_INFO_REQUEST, 0, NULL, 0, wire);
    wire[n - 4] ^= (uint8_t)(wire[n - 4] == 0x40 ? 0x20 : 0x40); /* one receive error */
    memcpy(f.rx + f.rx_len, wire, n);
    f.rx_len += n;
    for (k = 0; k < 2; k++) {
        const fb_frame_t *fr;
        f.now += 600000;
        fb_device_poll(&dev);
        fake_capture(&f, &cap);
        fr = fake_find(&cap, FB_MSG_HEARTBEAT);
        EXPECT(fr && fb_decode_heartbeat(fr->payload, fr->payload_len, &hb[k]) == FB_OK);
        if (!fr) return;
    }
    EXPECT(hb[0].rx_errors == 3 && hb[1].rx_errors == 3);
    EXPECT(hb[0].rx_frames == 2); /* the two CRC-valid ones */
}

/* Item 9: an init configuration out of range is clamped, and 100 samples never overflow. */
static void test_init_clamps(void)
{
    fb_device_config_t cfg;
    fb_imu_batch_t b;
    fb_device_default_config(&cfg, FB_STREAM_IMU | FB_STREAM_THERMAL);
    cfg.imu_batch = 100;
    cfg.heartbeat_ms = 0;
    cfg.thermal_rate_hz = NAN;
    cfg.imu.imu_rate_hz = 1e-30f;
    boot(&cfg);
    EXPECT(dev.cfg.imu_batch == FB_IMU_MAX_SAMPLES && dev.cfg.heartbeat_ms == FB_HEARTBEAT_MIN_MS);
    EXPECT(dev.cfg.thermal_rate_hz == 8.0f && f.thermal_applied == 8.0f);
    EXPECT(dev.cfg.imu.imu_rate_hz == 1000.0f);
    f.now += 100000; /* 100 more samples: one full batch of 62, the rest sent when stale */
    fb_device_poll(&dev);
    fake_capture(&f, &cap);
    {
        size_t i, counts[4], nb = 0;
        for (i = 0; i < cap.count && nb < 4; i++) {
            if (cap.frames[i].header.type != FB_MSG_IMU_BATCH) continue;
            counts[nb] = fb_decode_imu_batch(cap.frames[i].payload, cap.frames[i].payload_len, &b) == FB_OK ? b.count : 0;
            nb++;
        }
        EXPECT(nb == 2 && counts[0] == 62 && counts[1] == 101 - 62);
    }
    cfg.imu_batch = 0;
    boot(&cfg);
    EXPECT(dev.cfg.imu_batch == 1);
}

/* Item 10: one rejected field rejects the whole CONFIG_SET; a HAL failure part-way restores. */
static void test_config_all_or_nothing(void)
{
    fb_config_set_t cs;
    fb_config_ack_t ack;
    boot(NULL);
    memset(&cs, 0, sizeof cs);
    cs.config_id = 77;
    cs.fields = FB_CFG_IMU_BATCH | FB_CFG_HEARTBEAT | FB_CFG_ACCEL_RANGE | FB_CFG_THERMAL_RATE;
    cs.imu_batch = 20;
    cs.heartbeat_ms = 100;
    cs.accel_range_g = 4;
    cs.thermal_rate_hz = NAN;
    ack = configure(&cs);
    EXPECT(ack.config_id == 77 && ack.status == FB_CONFIG_REJECTED);
    EXPECT(ack.imu_batch == 10 && ack.heartbeat_ms == 500 && ack.accel_range_g == 16);
    EXPECT(dev.cfg.imu_batch == 10 && dev.cfg.heartbeat_ms == 500 && f.imu_applied.accel_range_g == 16);

    /* valid values, but the thermal sensor fails: the IMU change already made is undone */
    cs.thermal_rate_hz = 4.0f;
    f.thermal_fail = 1;
    ack = configure(&cs);
    EXPECT(ack.status == FB_CONFIG_REJECTED && ack.accel_range_g == 16 && ack.imu_batch == 10);
    EXPECT(f.imu_applied.accel_range_g == 16 && dev.cfg.imu.accel_range_g == 16);
    EXPECT(dev.info.accel_scale == f.imu_applied.accel_scale);

    /* the IMU fails: nothing changes */
    f.thermal_fail = 0;
    f.imu_fail = 1;
    ack = configure(&cs);
    EXPECT(ack.status == FB_CONFIG_REJECTED && dev.cfg.thermal_rate_hz == 8.0f && ack.heartbeat_ms == 500);

    /* all valid: everything applied; adjusting a value is not a rejection */
    f.imu_fail = 0;
    cs.imu_batch = 500;
    ack = configure(&cs);
    EXPECT(ack.status == FB_CONFIG_ADJUSTED && ack.imu_batch == FB_IMU_MAX_SAMPLES);
    EXPECT(ack.heartbeat_ms == 100 && ack.accel_range_g == 4 && ack.thermal_rate_hz == 4.0f);
    EXPECT(f.imu_applied.accel_range_g == 4 && f.thermal_applied == 4.0f);

    /* an IMU field on a device without that sensor rejects the lot */
    boot_with(NULL, 0);
    cs.fields = FB_CFG_HEARTBEAT | FB_CFG_GYRO_RANGE;
    cs.heartbeat_ms = 300;
    cs.gyro_range_dps = 250;
    ack = configure(&cs);
    EXPECT(ack.status == FB_CONFIG_REJECTED && ack.heartbeat_ms == 500 && dev.cfg.heartbeat_ms == 500);
}

void test_device_config(void)
{
    test_bad_rates_rejected();
    test_rx_errors_accumulate();
    test_init_clamps();
    test_config_all_or_nothing();
}
