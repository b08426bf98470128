/* The hardware abstraction: everything board-specific the firmware core needs.
 * Porting to a new board means filling one fb_hal_t (one .c file). All functions must be
 * non-blocking; ctx is passed back unchanged. */
#ifndef FB_HAL_H
#define FB_HAL_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    float imu_rate_hz;        /* requested; the HAL writes back what it set */
    uint16_t accel_range_g;   /* ditto */
    uint16_t gyro_range_dps;  /* ditto */
    float accel_scale;        /* out: m/s^2 per LSB */
    float gyro_scale;         /* out: rad/s per LSB */
} fb_imu_config_t;

typedef struct {
    uint64_t t_us;  /* device time of the sample */
    int16_t v[6];   /* ax ay az gx gy gz in body frame (REP-103), raw LSB */
} fb_imu_reading_t;

typedef struct {
    void *ctx;
    /* Free-running device clock, microseconds. */
    uint64_t (*now_us)(void *ctx);
    /* Serial link. read: up to max bytes already received, 0 if none. tx_free: bytes the transmit
     * path can take now without blocking. write: queue len bytes (len <= tx_free). */
    size_t (*serial_read)(void *ctx, uint8_t *buf, size_t max);
    size_t (*serial_tx_free)(void *ctx);
    size_t (*serial_write)(void *ctx, const uint8_t *buf, size_t len);
    /* IMU (may be NULL when absent). configure returns 0 if applied exactly, 1 if adjusted,
     * negative on failure. read drains up to max samples in time order and adds samples lost
     * since the last call (FIFO overflow) to *dropped and overflow events to *overruns. */
    int (*imu_configure)(void *ctx, fb_imu_config_t *cfg);
    size_t (*imu_read)(void *ctx, fb_imu_reading_t *out, size_t max, uint32_t *dropped,
                       uint32_t *overruns);
    /* Thermal (may be NULL when absent). configure: as above for *rate_hz. read: if a new frame
     * is ready, copy width*height raw pixels (kelvin = raw*scale + offset, see device info) into
     * pixels, set *capture_us and return 1; else return 0. */
    int (*thermal_configure)(void *ctx, float *rate_hz);
    int (*thermal_read)(void *ctx, uint16_t *pixels, uint64_t *capture_us);
} fb_hal_t;
#endif
