/* Configuration rules without hardware: defaults, init clamps, CONFIG_SET checks. */
#include "fb/fb_config.h"

#include <string.h>

#define FB_IMU_FIELDS (FB_CFG_IMU_RATE | FB_CFG_ACCEL_RANGE | FB_CFG_GYRO_RANGE)

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

/* False for NaN too: every comparison with NaN is false. */
int fb_config_rate_ok(float hz, float max_hz) { return hz >= FB_RATE_MIN_HZ && hz <= max_hz; }

static uint16_t clamp_batch(uint16_t b)
{
    return b < 1 ? 1 : b > FB_IMU_MAX_SAMPLES ? (uint16_t)FB_IMU_MAX_SAMPLES : b;
}

static uint16_t clamp_heartbeat(uint16_t ms)
{
    return ms < FB_HEARTBEAT_MIN_MS ? (uint16_t)FB_HEARTBEAT_MIN_MS : ms;
}

void fb_config_sanitize(fb_device_config_t *cfg, uint8_t sensors)
{
    fb_device_config_t def;
    fb_device_default_config(&def, sensors);
    cfg->imu_batch = clamp_batch(cfg->imu_batch);
    cfg->heartbeat_ms = clamp_heartbeat(cfg->heartbeat_ms);
    if (!fb_config_rate_ok(cfg->thermal_rate_hz, FB_THERMAL_RATE_MAX_HZ)) {
        cfg->thermal_rate_hz = def.thermal_rate_hz;
    }
    if (!fb_config_rate_ok(cfg->imu.imu_rate_hz, FB_IMU_RATE_MAX_HZ)) {
        cfg->imu.imu_rate_hz = def.imu.imu_rate_hz;
    }
}

uint8_t fb_config_check(const fb_config_set_t *c, const fb_device_config_t *cur, uint8_t sensors,
                        int can_thermal, fb_device_config_t *next)
{
    uint8_t status = FB_CONFIG_OK;
    *next = *cur;
    if ((c->fields & FB_IMU_FIELDS) &&
        (!(sensors & FB_STREAM_IMU) ||
         ((c->fields & FB_CFG_IMU_RATE) && !fb_config_rate_ok(c->imu_rate_hz, FB_IMU_RATE_MAX_HZ)))) {
        return FB_CONFIG_REJECTED;
    }
    if ((c->fields & FB_CFG_THERMAL_RATE) &&
        (!(sensors & FB_STREAM_THERMAL) || !can_thermal ||
         !fb_config_rate_ok(c->thermal_rate_hz, FB_THERMAL_RATE_MAX_HZ))) {
        return FB_CONFIG_REJECTED;
    }
    if (c->fields & FB_CFG_IMU_RATE) next->imu.imu_rate_hz = c->imu_rate_hz;
    if (c->fields & FB_CFG_ACCEL_RANGE) next->imu.accel_range_g = c->accel_range_g;
    if (c->fields & FB_CFG_GYRO_RANGE) next->imu.gyro_range_dps = c->gyro_range_dps;
    if (c->fields & FB_CFG_THERMAL_RATE) next->thermal_rate_hz = c->thermal_rate_hz;
    if (c->fields & FB_CFG_IMU_BATCH) {
        next->imu_batch = clamp_batch(c->imu_batch);
        if (next->imu_batch != c->imu_batch) status = FB_CONFIG_ADJUSTED;
    }
    if (c->fields & FB_CFG_HEARTBEAT) {
        next->heartbeat_ms = clamp_heartbeat(c->heartbeat_ms);
        if (next->heartbeat_ms != c->heartbeat_ms) status = FB_CONFIG_ADJUSTED;
    }
    if (c->fields & FB_CFG_STREAMS) {
        next->streams = (uint8_t)(c->streams & (sensors | FB_STREAM_HEARTBEAT));
        if (next->streams != c->streams) status = FB_CONFIG_ADJUSTED;
    }
    return status;
}
