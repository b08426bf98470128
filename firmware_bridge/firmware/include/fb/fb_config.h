/* Configuration rules of the firmware core, without hardware: defaults, the clamps applied at
 * init, and the checks of a CONFIG_SET before anything is changed (PROTOCOL.md §3, 0x30). */
#ifndef FB_CONFIG_H
#define FB_CONFIG_H
#include "fb_hal.h"
#include "fb_protocol.h"

/* Rates outside these ranges (and NaN or infinity) are rejected by CONFIG_SET and replaced by
 * the default at init: they would overflow the period arithmetic of any HAL. */
#define FB_RATE_MIN_HZ 0.01f
#define FB_IMU_RATE_MAX_HZ 100000.0f
#define FB_THERMAL_RATE_MAX_HZ 1000.0f
#define FB_HEARTBEAT_MIN_MS 50u

typedef struct {
    uint16_t imu_batch;      /* samples per IMU_BATCH, 1..62 */
    uint32_t imu_max_latency_us; /* send a partial batch once its first sample is this old */
    uint16_t heartbeat_ms;
    float thermal_rate_hz;
    uint8_t streams;         /* FB_STREAM_* bits enabled */
    fb_imu_config_t imu;
} fb_device_config_t;

/* Fills *cfg with defaults (1 kHz IMU, +-16 g, +-2000 dps, batch 10, 8 Hz thermal, 500 ms
 * heartbeat, all present streams on). */
void fb_device_default_config(fb_device_config_t *cfg, uint8_t sensors);
/* Init has no way to report a bad value: clamps batch and heartbeat, and replaces rates that are
 * not finite or out of range by the defaults. */
void fb_config_sanitize(fb_device_config_t *cfg, uint8_t sensors);
/* 1 if hz is finite and within FB_RATE_MIN_HZ..max_hz. */
int fb_config_rate_ok(float hz, float max_hz);
/* Checks every field of c against the device's sensors (can_thermal: a thermal rate can be set)
 * and writes the resulting configuration, before any hardware is touched, to *next (starting from
 * *cur; IMU fields are copied as requested, for the HAL to snap). Returns FB_CONFIG_REJECTED if any
 * field is unusable (then *next is *cur), FB_CONFIG_ADJUSTED if a value was clamped, else
 * FB_CONFIG_OK. */
uint8_t fb_config_check(const fb_config_set_t *c, const fb_device_config_t *cur, uint8_t sensors,
                        int can_thermal, fb_device_config_t *next);
#endif
