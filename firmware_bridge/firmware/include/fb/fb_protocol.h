/* EdgeBind firmware link, protocol version 1: constants, message records, payload codecs.
 * PROTOCOL.md is the normative description. Portable C99, no dynamic allocation. */
#ifndef FB_PROTOCOL_H
#define FB_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FB_PROTOCOL_VERSION 1u
#define FB_HEADER_SIZE 12u
#define FB_CRC_SIZE 4u
#define FB_MAX_PAYLOAD 1024u
#define FB_MAX_BODY (FB_HEADER_SIZE + FB_MAX_PAYLOAD + FB_CRC_SIZE) /* 1040 */
#define FB_COBS_MAX_ENCODED(n) ((n) + (n) / 254u + 1u)
#define FB_MAX_ENCODED FB_COBS_MAX_ENCODED(FB_MAX_BODY) /* 1045 */
#define FB_MAX_WIRE (FB_MAX_ENCODED + 1u)                 /* 1046, with the 0x00 delimiter */

#define FB_IMU_MAX_SAMPLES 62u
#define FB_THERMAL_MAX_PIXELS 496u
#define FB_LOG_MAX_TEXT (FB_MAX_PAYLOAD - 4u)

enum fb_msg_type {
    FB_MSG_DEVICE_INFO = 0x01,
    FB_MSG_HEARTBEAT = 0x02,
    FB_MSG_LOG = 0x03,
    FB_MSG_INFO_REQUEST = 0x04,
    FB_MSG_IMU_BATCH = 0x10,
    FB_MSG_THERMAL_FRAGMENT = 0x11,
    FB_MSG_TIME_SYNC_REQUEST = 0x20,
    FB_MSG_TIME_SYNC_RESPONSE = 0x21,
    FB_MSG_CONFIG_SET = 0x30,
    FB_MSG_CONFIG_ACK = 0x31
};

enum fb_stream_bits { FB_STREAM_IMU = 1u << 0, FB_STREAM_THERMAL = 1u << 1, FB_STREAM_HEARTBEAT = 1u << 2 };

enum fb_config_field_bits {
    FB_CFG_IMU_RATE = 1u << 0,
    FB_CFG_ACCEL_RANGE = 1u << 1,
    FB_CFG_GYRO_RANGE = 1u << 2,
    FB_CFG_IMU_BATCH = 1u << 3,
    FB_CFG_THERMAL_RATE = 1u << 4,
    FB_CFG_HEARTBEAT = 1u << 5,
    FB_CFG_STREAMS = 1u << 6
};

enum fb_config_status { FB_CONFIG_OK = 0, FB_CONFIG_ADJUSTED = 1, FB_CONFIG_REJECTED = 2 };

/* Return codes of decoders. */
enum fb_status {
    FB_OK = 0,
    FB_ERR_SHORT = -1,     /* payload shorter than its type needs */
    FB_ERR_INVALID = -2,   /* inconsistent contents */
    FB_ERR_COBS = -3,      /* invalid COBS block */
    FB_ERR_CRC = -4,       /* CRC mismatch */
    FB_ERR_VERSION = -5,   /* unsupported protocol version */
    FB_ERR_OVERSIZE = -6   /* longer than the largest legal frame */
};

typedef struct {
    uint8_t version;
    uint8_t type;
    uint16_t seq;
    uint64_t timestamp_us;
} fb_header_t;

typedef struct {
    uint64_t device_id;
    uint8_t fw_major, fw_minor, fw_patch;
    char board[16];
    uint8_t sensors;
    uint8_t enabled;
    uint16_t max_payload;
    char imu_model[16];
    float imu_rate_hz;
    uint16_t accel_range_g;
    uint16_t gyro_range_dps;
    float accel_scale; /* m/s^2 per LSB */
    float gyro_scale;  /* rad/s per LSB */
    char thermal_model[16];
    uint16_t thermal_width, thermal_height;
    float thermal_rate_hz;
    float thermal_scale;  /* K per LSB */
    float thermal_offset; /* K */
} fb_device_info_t;
#define FB_DEVICE_INFO_SIZE 96u

typedef struct {
    uint32_t tx_frames, tx_overruns, imu_samples, imu_dropped_samples, imu_fifo_overruns;
    uint32_t rx_frames, rx_errors, rx_unknown, thermal_frames, thermal_dropped;
    uint8_t enabled;
} fb_heartbeat_t;
#define FB_HEARTBEAT_SIZE 44u

typedef struct {
    uint8_t level;
    uint16_t code;
    const char *text; /* not NUL-terminated on decode: use text_len */
    size_t text_len;
} fb_log_t;

typedef struct {
    uint32_t dt_us;
    int16_t v[6]; /* ax ay az gx gy gz, raw */
} fb_imu_sample_t;

typedef struct {
    uint64_t t0_us;
    float accel_scale, gyro_scale;
    uint32_t first_index;
    uint16_t count;
    fb_imu_sample_t samples[FB_IMU_MAX_SAMPLES];
} fb_imu_batch_t;
#define FB_IMU_BATCH_HEAD 24u

typedef struct {
    uint64_t capture_us;
    uint32_t frame_id;
    uint16_t width, height, index, count;
    uint32_t pixel_offset;
    float scale, offset;
    uint16_t npixels;
    const uint16_t *pixels;        /* encode: host-order pixels */
    const uint8_t *pixel_bytes_le; /* decode: points into the payload, 2*npixels bytes */
} fb_thermal_fragment_t;
#define FB_THERMAL_HEAD 32u

typedef struct {
    uint32_t request_id;
    uint64_t t1;
} fb_time_sync_request_t;
#define FB_TIME_SYNC_REQUEST_SIZE 12u

typedef struct {
    uint32_t request_id;
    uint64_t t1, t2_us, t3_us;
} fb_time_sync_response_t;
#define FB_TIME_SYNC_RESPONSE_SIZE 32u

typedef struct {
    uint32_t config_id;
    uint8_t streams;
    uint8_t fields; /* fb_config_field_bits */
    uint16_t accel_range_g, gyro_range_dps, imu_batch;
    float imu_rate_hz, thermal_rate_hz;
    uint16_t heartbeat_ms;
} fb_config_set_t;
#define FB_CONFIG_SET_SIZE 24u

typedef struct {
    uint32_t config_id;
    uint8_t status, streams;
    uint16_t accel_range_g, gyro_range_dps, imu_batch, heartbeat_ms;
    float imu_rate_hz, thermal_rate_hz;
} fb_config_ack_t;
#define FB_CONFIG_ACK_SIZE 24u

/* Little-endian helpers (byte-wise, so they work on any host). */
void fb_put_u16(uint8_t *p, uint16_t v);
void fb_put_u32(uint8_t *p, uint32_t v);
void fb_put_u64(uint8_t *p, uint64_t v);
void fb_put_f32(uint8_t *p, float v);
uint16_t fb_get_u16(const uint8_t *p);
uint32_t fb_get_u32(const uint8_t *p);
uint64_t fb_get_u64(const uint8_t *p);
float fb_get_f32(const uint8_t *p);

/* Payload encoders: write into out (capacity cap), return the payload length, 0 if it does not fit
 * or the record is invalid. Decoders: return FB_OK or a negative fb_status. Decoders accept
 * payloads longer than they know (PROTOCOL.md §4). */
size_t fb_encode_device_info(const fb_device_info_t *m, uint8_t *out, size_t cap);
int fb_decode_device_info(const uint8_t *p, size_t len, fb_device_info_t *m);
size_t fb_encode_heartbeat(const fb_heartbeat_t *m, uint8_t *out, size_t cap);
int fb_decode_heartbeat(const uint8_t *p, size_t len, fb_heartbeat_t *m);
size_t fb_encode_log(const fb_log_t *m, uint8_t *out, size_t cap);
int fb_decode_log(const uint8_t *p, size_t len, fb_log_t *m);
size_t fb_encode_imu_batch(const fb_imu_batch_t *m, uint8_t *out, size_t cap);
int fb_decode_imu_batch(const uint8_t *p, size_t len, fb_imu_batch_t *m);
size_t fb_encode_thermal_fragment(const fb_thermal_fragment_t *m, uint8_t *out, size_t cap);
int fb_decode_thermal_fragment(const uint8_t *p, size_t len, fb_thermal_fragment_t *m);
uint16_t fb_thermal_pixel(const fb_thermal_fragment_t *m, size_t i);
size_t fb_encode_time_sync_request(const fb_time_sync_request_t *m, uint8_t *out, size_t cap);
int fb_decode_time_sync_request(const uint8_t *p, size_t len, fb_time_sync_request_t *m);
size_t fb_encode_time_sync_response(const fb_time_sync_response_t *m, uint8_t *out, size_t cap);
int fb_decode_time_sync_response(const uint8_t *p, size_t len, fb_time_sync_response_t *m);
size_t fb_encode_config_set(const fb_config_set_t *m, uint8_t *out, size_t cap);
int fb_decode_config_set(const uint8_t *p, size_t len, fb_config_set_t *m);
size_t fb_encode_config_ack(const fb_config_ack_t *m, uint8_t *out, size_t cap);
int fb_decode_config_ack(const uint8_t *p, size_t len, fb_config_ack_t *m);

#ifdef __cplusplus
}
#endif
#endif
