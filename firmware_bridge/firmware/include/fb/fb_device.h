/* The firmware core: one fb_device_t, polled from the main loop. No dynamic allocation; the
 * caller provides the thermal frame buffer (width*height uint16). Everything large lives in
 * fb_device_t (static storage), so fb_device_poll needs only a few hundred bytes of stack. */
#ifndef FB_DEVICE_H
#define FB_DEVICE_H
#include "fb_config.h"
#include "fb_frame.h"
#include "fb_hal.h"
#include "fb_protocol.h"

/* Wire size of a frame with a payload of n bytes (worst-case COBS plus the delimiter). */
#define FB_WIRE_SIZE(n) (FB_COBS_MAX_ENCODED(FB_HEADER_SIZE + (n) + FB_CRC_SIZE) + 1u)
/* Transmit space a thermal fragment leaves free for the frames that must not wait behind it:
 * one IMU batch (of the configured size) plus one of each small control reply. */
#define FB_TX_CONTROL_RESERVE                                                                   \
    (FB_WIRE_SIZE(FB_DEVICE_INFO_SIZE) + FB_WIRE_SIZE(FB_CONFIG_ACK_SIZE) +                    \
     FB_WIRE_SIZE(FB_TIME_SYNC_RESPONSE_SIZE) + FB_WIRE_SIZE(FB_HEARTBEAT_SIZE))
/* Smallest transmit path (bytes the HAL can hold) on which no stream starves: a largest frame
 * plus the reserve for the largest IMU batch. Boards size their USB/UART buffer from this. */
#define FB_TX_MIN_BUFFER                                                                        \
    (FB_MAX_WIRE + FB_WIRE_SIZE(FB_IMU_BATCH_HEAD + 16u * FB_IMU_MAX_SAMPLES) + FB_TX_CONTROL_RESERVE)

#define FB_IMU_READ_CHUNK 16u /* samples taken from the HAL per imu_read call */

typedef struct {
    const fb_hal_t *hal;
    fb_device_info_t info;
    fb_device_config_t cfg;
    fb_rx_t rx;
    uint8_t rx_chunk[64];
    uint8_t tx[FB_MAX_WIRE];
    uint8_t payload[FB_MAX_PAYLOAD];
    uint16_t seq;
    fb_heartbeat_t counters;
    uint32_t rx_malformed; /* CRC-valid commands whose payload did not decode */
    /* IMU batching: samples go straight into the batch being built */
    fb_imu_batch_t batch;  /* batch.count samples pending; t0_us is the first one's time */
    uint32_t imu_index;    /* index of the first pending sample (of the next one when none) */
    fb_imu_reading_t imu_chunk[FB_IMU_READ_CHUNK];
    /* thermal fragmentation */
    uint16_t *thermal_buf;
    uint32_t thermal_frame_id;
    uint64_t thermal_capture_us;
    uint16_t thermal_next_fragment;
    uint16_t thermal_fragments; /* 0 = no frame in flight */
    uint64_t last_heartbeat_us;
    int info_pending;
} fb_device_t;

/* info: identity and sensor description (scales are filled in from the HAL). thermal_buf: at
 * least thermal_width*thermal_height elements, or NULL without a thermal sensor. Out-of-range
 * configuration values are clamped (batch 1..62, heartbeat >= 50 ms) or, for rates that are not
 * finite or outside the ranges above, replaced by the defaults. */
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
