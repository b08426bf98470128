/* The firmware core: one fb_device_t, polled from the main loop. No dynamic allocation; the
 * caller provides the thermal frame buffer (width*height uint16). */
#ifndef FB_DEVICE_H
#define FB_DEVICE_H
#include "fb_frame.h"
#include "fb_hal.h"
#include "fb_protocol.h"

typedef struct {
    uint16_t imu_batch;      /* samples per IMU_BATCH, 1..62 */
    uint32_t imu_max_latency_us; /* send a partial batch once its first sample is this old */
    uint16_t heartbeat_ms;
    float thermal_rate_hz;
    uint8_t streams;         /* FB_STREAM_* bits enabled */
    fb_imu_config_t imu;
} fb_device_config_t;

typedef struct {
    const fb_hal_t *hal;
    fb_device_info_t info;
    fb_device_config_t cfg;
    fb_rx_t rx;
    uint8_t tx[FB_MAX_WIRE];
    uint8_t payload[FB_MAX_PAYLOAD];
    uint16_t seq;
    fb_heartbeat_t counters;
    /* IMU batching */
    fb_imu_reading_t readings[FB_IMU_MAX_SAMPLES];
    uint16_t nreadings;
    uint32_t imu_index; /* index of readings[0] */
    /* thermal fragmentation */
    uint16_t *thermal_buf;
    uint32_t thermal_frame_id;
    uint64_t thermal_capture_us;
    uint16_t thermal_next_fragment; /* 0 = no frame in flight */
    uint16_t thermal_fragments;
    uint64_t last_heartbeat_us;
    int info_pending;
} fb_device_t;

/* Fills *cfg with defaults (1 kHz IMU, +-16 g, +-2000 dps, batch 10, 8 Hz thermal, 500 ms
 * heartbeat, all present streams on). */
void fb_device_default_config(fb_device_config_t *cfg, uint8_t sensors);
/* info: identity and sensor description (scales are filled in from the HAL). thermal_buf: at
 * least thermal_width*thermal_height elements, or NULL without a thermal sensor. */
void fb_device_init(fb_device_t *dev, const fb_hal_t *hal, const fb_device_info_t *info,
                    const fb_device_config_t *cfg, uint16_t *thermal_buf);
/* One main-loop iteration: receive and handle commands, batch and send IMU samples, send thermal
 * fragments, heartbeat. Never blocks. */
void fb_device_poll(fb_device_t *dev);
/* Sends one frame now (or drops and counts it when the transmit path is full). Returns 1 if
 * queued. */
int fb_device_send(fb_device_t *dev, uint8_t type, const uint8_t *payload, size_t len);
int fb_device_log(fb_device_t *dev, uint8_t level, uint16_t code, const char *text);
#endif
