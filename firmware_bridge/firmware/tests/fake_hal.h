/* A scripted HAL for the device-core tests: a clock the test sets, byte buffers for both serial
 * directions, a 1 kHz IMU and an optional thermal sensor, each of which can be told to fail. */
#ifndef FAKE_HAL_H
#define FAKE_HAL_H
#include <stddef.h>
#include <stdint.h>

#include "fb/fb_device.h"

typedef struct {
    uint64_t now;
    uint8_t rx[4096];
    size_t rx_len, rx_pos;
    uint8_t tx[65536];
    size_t tx_len, tx_cap;
    /* IMU: one sample per ms; v[2] = 2048 */
    uint64_t next_sample_us;
    uint32_t pending_drop;
    fb_imu_config_t imu_applied; /* what the "chip" runs with now */
    int imu_configure_calls, imu_fail;
    /* thermal: a 4x3 frame whenever thermal_ready is set */
    float thermal_applied;
    int thermal_configure_calls, thermal_fail, thermal_ready;
    float thermal_last_request;
} fake_t;

typedef struct {
    fb_frame_t frames[256];
    uint8_t store[256][FB_MAX_ENCODED];
    size_t count;
} captured_t;

#define FAKE_TH_W 4u
#define FAKE_TH_H 3u

/* Fills hal; with_thermal adds the thermal callbacks. */
void fake_init(fake_t *f, fb_hal_t *hal, int with_thermal);
/* Decodes everything the device wrote since the last call (then forgets it). */
void fake_capture(fake_t *f, captured_t *cap);
/* Queues one frame for the device to read. */
void fake_host_send(fake_t *f, uint8_t type, const uint8_t *payload, size_t len);
size_t fake_make_frame(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len, uint8_t *out);
/* The last captured frame of a type, or NULL. */
const fb_frame_t *fake_find(const captured_t *cap, uint8_t type);
#endif
